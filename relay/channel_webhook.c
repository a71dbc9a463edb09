/* channel_webhook.c: Standard Webhooks deliveries over HTTPS (libcurl multi): verified TLS,
 * keep-alive across calls, no redirects, a cap on transfers in flight per origin. */
#include "channel_impl.h"

#include "util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WEBHOOK_MAX_URL       2048
#define WEBHOOK_MAX_ID        128
#define WEBHOOK_MAX_SIGNATURE 2048
#define WEBHOOK_MAX_BODY      (1u * 1024 * 1024)
#define NONE                  SIZE_MAX

struct webhook_channel {
	char *ca_file;
	int timeout_s;
	int per_endpoint;
	int max_total;
	CURLM *multi;  /* owns the connection cache: connections outlive webhook_send calls */
	CURLSH *share; /* TLS sessions and DNS shared by the easy handles */
	CURL **idle;   /* easy handles ready for reuse */
	size_t nidle, capidle;
};

struct transfer {
	const struct delivery *d;
	struct delivery_result *res;
	CURL *easy;
	struct curl_slist *headers;
	size_t origin;
	size_t next; /* next transfer queued on the same origin */
	struct channel_http_reply reply;
	char errbuf[CURL_ERROR_SIZE];
	bool active; /* added to the multi handle, not finished */
	bool queued; /* waiting for a slot */
};

struct origin {
	char *key; /* "https://host:port" */
	size_t head, tail;
	int in_flight;
};

struct webhook_channel *webhook_channel_new(const struct webhook_config *cfg, char *err,
                                            size_t errlen)
{
	if (cfg == NULL) {
		seterr(err, errlen, "webhook: no configuration");
		return NULL;
	}
	if (cfg->per_endpoint_concurrency < 1 || cfg->per_endpoint_concurrency > 1024) {
		seterr(err, errlen, "webhook: per_endpoint_concurrency %d out of range 1-1024",
		       cfg->per_endpoint_concurrency);
		return NULL;
	}
	if (cfg->max_total_connections < 1 || cfg->max_total_connections > 65536) {
		seterr(err, errlen, "webhook: max_total_connections %d out of range 1-65536",
		       cfg->max_total_connections);
		return NULL;
	}
	const char *ca = channel_opt(cfg->ca_file);
	if (ca) {
		FILE *f = fopen(ca, "r");
		if (f == NULL) {
			seterr(err, errlen, "webhook: cannot read CA file %s", ca);
			return NULL;
		}
		fclose(f);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		seterr(err, errlen, "webhook: curl_global_init failed");
		return NULL;
	}
	struct webhook_channel *ch = xcalloc(1, sizeof *ch);
	ch->ca_file = ca ? xstrdup(ca) : NULL;
	ch->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 15;
	ch->per_endpoint = cfg->per_endpoint_concurrency;
	ch->max_total = cfg->max_total_connections;
	ch->multi = curl_multi_init();
	ch->share = curl_share_init();
	if (ch->multi == NULL || ch->share == NULL) {
		seterr(err, errlen, "webhook: cannot create curl multi/share handles");
		webhook_channel_free(ch);
		return NULL;
	}
	curl_share_setopt(ch->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(ch->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	/* One transfer per connection (no HTTP/2 multiplexing), so connections = transfers; the
	 * per-origin cap is enforced by webhook_send itself, before curl sees a transfer. */
	curl_multi_setopt(ch->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	curl_multi_setopt(ch->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)ch->max_total);
	curl_multi_setopt(ch->multi, CURLMOPT_MAXCONNECTS, (long)ch->max_total);
	return ch;
}

void webhook_channel_free(struct webhook_channel *ch)
{
	if (ch == NULL)
		return;
	for (size_t i = 0; i < ch->nidle; i++)
		curl_easy_cleanup(ch->idle[i]);
	free(ch->idle);
	if (ch->multi)
		curl_multi_cleanup(ch->multi);
	if (ch->share)
		curl_share_cleanup(ch->share);
	free(ch->ca_file);
	free(ch);
	curl_global_cleanup();
}

static CURL *easy_get(struct webhook_channel *ch)
{
	CURL *e;
	if (ch->nidle > 0) {
		e = ch->idle[--ch->nidle];
		curl_easy_reset(e);
	} else {
		e = curl_easy_init();
		if (e == NULL)
			fatal("out of memory (curl_easy_init)");
	}
	return e;
}

static void easy_put(struct webhook_channel *ch, CURL *e)
{
	if (ch->nidle == ch->capidle) {
		ch->capidle = ch->capidle ? ch->capidle * 2 : 16;
		ch->idle = xrealloc(ch->idle, ch->capidle * sizeof *ch->idle);
	}
	ch->idle[ch->nidle++] = e;
}

/* "https://host:port" of url in key (cap bytes); -1 when url is not a usable https URL. */
static int origin_key(const char *url, char *key, size_t cap)
{
	CURLU *u = curl_url();
	if (u == NULL)
		fatal("out of memory (curl_url)");
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto cleanup;
	if (strcasecmp(scheme, "https") != 0)
		goto cleanup;
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	int n = snprintf(key, cap, "https://%s:%s", host, port);
	if (n > 0 && (size_t)n < cap)
		rc = 0;
cleanup:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

static int webhook_check(const struct delivery *d, char *err, size_t errlen)
{
	if (d->kind != CHANNEL_WEBHOOK)
		return seterr(err, errlen, "not a webhook delivery");
	if (!channel_token_valid(d->notification_id, WEBHOOK_MAX_ID) ||
	    strchr(d->notification_id, '.') != NULL)
		return seterr(err, errlen, "invalid notification id (webhook-id: [A-Za-z0-9_-])");
	if (d->address == NULL || strlen(d->address) > WEBHOOK_MAX_URL ||
	    strncasecmp(d->address, "https://", 8) != 0)
		return seterr(err, errlen, "webhook URL must be https://");
	for (const unsigned char *p = (const unsigned char *)d->address; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return seterr(err, errlen,
			              "webhook URL contains spaces or non-ASCII bytes");
	if (d->signature == NULL || *d->signature == '\0' ||
	    strlen(d->signature) > WEBHOOK_MAX_SIGNATURE ||
	    !channel_header_value_valid(d->signature))
		return seterr(err, errlen, "missing or malformed webhook-signature");
	if (d->timestamp <= 0)
		return seterr(err, errlen, "missing webhook-timestamp");
	if (d->body == NULL || d->body_len > WEBHOOK_MAX_BODY)
		return seterr(err, errlen, "body missing or larger than %u bytes",
		              WEBHOOK_MAX_BODY);
	return 0;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static struct curl_slist *add_header(struct curl_slist *l, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("out of memory");
	struct curl_slist *r = curl_slist_append(l, s);
	free(s);
	if (r == NULL)
		fatal("out of memory (curl header list)");
	return r;
}

static int transfer_start(struct webhook_channel *ch, struct transfer *t)
{
	const struct delivery *d = t->d;
	CURL *e = easy_get(ch);
	t->easy = e;
	t->headers = add_header(NULL, "Content-Type: application/json");
	t->headers = add_header(t->headers, "webhook-id: %s", d->notification_id);
	t->headers = add_header(t->headers, "webhook-timestamp: %lld", (long long)d->timestamp);
	t->headers = add_header(t->headers, "webhook-signature: %s", d->signature);
	t->headers = add_header(t->headers, "Expect:");

	curl_easy_setopt(e, CURLOPT_URL, d->address);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->body_len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "tbsc-relay");
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ch->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, ch->ca_file);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)ch->timeout_s * 1000);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(ch->timeout_s < 10 ? ch->timeout_s : 10) * 1000);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SHARE, ch->share);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, channel_http_on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &t->reply);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, channel_http_on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &t->reply);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	CURLMcode mc = curl_multi_add_handle(ch->multi, e);
	if (mc != CURLM_OK) {
		channel_result(t->res, DELIVERY_TEMPORARY, 0, 0, "curl_multi_add_handle: %s",
		               curl_multi_strerror(mc));
		return -1;
	}
	return 0;
}

static bool tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
		return true;
	default:
		return false;
	}
}

static void transfer_done(struct webhook_channel *ch, struct transfer *t, CURLcode rc)
{
	struct delivery_result *r = t->res;
	const char *why = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
	if (rc == CURLE_OK) {
		long status = 0;
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
		enum delivery_outcome o = channel_http_outcome(status);
		int retry = o == DELIVERY_TEMPORARY
		                ? channel_parse_retry_after(t->reply.retry_after, now_s())
		                : 0;
		if (status >= 300 && status <= 399)
			channel_result(r, o, (int)status, 0,
			               "HTTP %ld: redirect not followed (Location: %s)", status,
			               t->reply.location);
		else
			channel_result(r, o, (int)status, retry, "HTTP %ld %s", status,
			               t->reply.body);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		channel_result(r, DELIVERY_TEMPORARY, 0, 0, "timeout (%d s): %s", ch->timeout_s,
		               why);
	} else if (tls_error(rc)) {
		channel_result(r, DELIVERY_TEMPORARY, 0, 0, "TLS: %s", why);
	} else if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT) {
		channel_result(r, DELIVERY_PERMANENT, 0, 0, "%s", why);
	} else {
		channel_result(r, DELIVERY_TEMPORARY, 0, 0, "%s", why);
	}
}

static void transfer_release(struct webhook_channel *ch, struct transfer *t)
{
	if (t->easy) {
		curl_multi_remove_handle(ch->multi, t->easy);
		curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, NULL);
		curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, NULL);
		easy_put(ch, t->easy);
		t->easy = NULL;
	}
	curl_slist_free_all(t->headers);
	t->headers = NULL;
}

/* The multi handle failed (out of memory, a bug): every transfer not yet finished is a
 * temporary failure, so that the caller retries it later. */
static void abandon(struct webhook_channel *ch, struct transfer *t, size_t n, const char *why)
{
	log_error("webhook: curl multi interface failed: %s", why);
	for (size_t i = 0; i < n; i++) {
		if (t[i].active) {
			transfer_release(ch, &t[i]);
			t[i].active = false;
			channel_result(t[i].res, DELIVERY_TEMPORARY, 0, 0, "curl multi: %s", why);
		} else if (t[i].queued) {
			channel_result(t[i].res, DELIVERY_TEMPORARY, 0, 0, "curl multi: %s", why);
		}
		t[i].queued = false;
	}
}

int webhook_send(struct webhook_channel *ch, const struct delivery *const *d, size_t n,
                 struct delivery_result *res)
{
	if (n == 0)
		return 0;
	struct transfer *t = xcalloc(n, sizeof *t);
	struct origin *origins = NULL;
	size_t norigins = 0, waiting = 0, in_flight = 0;
	char err[200], key[WEBHOOK_MAX_URL + 32];

	for (size_t i = 0; i < n; i++) {
		t[i].d = d[i];
		t[i].res = &res[i];
		t[i].next = NONE;
		if (d[i] == NULL || webhook_check(d[i], err, sizeof err) < 0) {
			channel_result(&res[i], DELIVERY_PERMANENT, 0, 0, "%s",
			               d[i] ? err : "no delivery");
			continue;
		}
		if (origin_key(d[i]->address, key, sizeof key) < 0) {
			channel_result(&res[i], DELIVERY_PERMANENT, 0, 0,
			               "webhook URL is not a valid https URL");
			continue;
		}
		size_t o = 0;
		while (o < norigins && strcmp(origins[o].key, key) != 0)
			o++;
		if (o == norigins) {
			origins = xrealloc(origins, (norigins + 1) * sizeof *origins);
			origins[o] =
			    (struct origin){.key = xstrdup(key), .head = NONE, .tail = NONE};
			norigins++;
		}
		t[i].origin = o;
		if (origins[o].tail == NONE)
			origins[o].head = i;
		else
			t[origins[o].tail].next = i;
		origins[o].tail = i;
		t[i].queued = true;
		waiting++;
	}

	size_t rr = 0; /* round-robin start, so that one busy origin does not starve the others */
	while (waiting > 0 || in_flight > 0) {
		for (size_t k = 0; k < norigins && waiting > 0 && in_flight < (size_t)ch->max_total;
		     k++) {
			struct origin *o = &origins[(rr + k) % norigins];
			while (o->head != NONE && o->in_flight < ch->per_endpoint &&
			       in_flight < (size_t)ch->max_total) {
				struct transfer *x = &t[o->head];
				x->queued = false;
				o->head = x->next;
				if (o->head == NONE)
					o->tail = NONE;
				waiting--;
				if (transfer_start(ch, x) < 0) {
					transfer_release(ch, x);
					continue;
				}
				x->active = true;
				o->in_flight++;
				in_flight++;
			}
		}
		rr++;
		int running = 0;
		CURLMcode mc = curl_multi_perform(ch->multi, &running);
		if (mc != CURLM_OK) {
			abandon(ch, t, n, curl_multi_strerror(mc));
			break;
		}
		CURLMsg *msg;
		int left;
		bool freed = false;
		while ((msg = curl_multi_info_read(ch->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct transfer *x = NULL;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			if (x == NULL)
				continue;
			transfer_done(ch, x, msg->data.result);
			transfer_release(ch, x);
			x->active = false;
			origins[x->origin].in_flight--;
			in_flight--;
			freed = true;
		}
		/* A freed slot may start a waiting transfer at once; otherwise wait for sockets
		 * or curl's own timers. */
		if (in_flight > 0 && !(freed && waiting > 0)) {
			mc = curl_multi_poll(ch->multi, NULL, 0, 1000, NULL);
			if (mc != CURLM_OK) {
				abandon(ch, t, n, curl_multi_strerror(mc));
				break;
			}
		}
	}

	for (size_t o = 0; o < norigins; o++)
		free(origins[o].key);
	free(origins);
	free(t);
	return 0;
}
