/* channel_sms.c: SMS through Kannel's sendsms HTTP interface or a generic HTTP gateway (libcurl).
 */
#include "channel_impl.h"

#include "util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SMS_MAX_TEXT 4000 /* bytes of UTF-8; the gateway's max-messages decides the rest */
#define SMS_MAX_URL  2048
#define SMS_MAX_ID   128

enum sms_profile { SMS_KANNEL, SMS_HTTP };

struct sms_channel {
	enum sms_profile profile;
	char *url, *username, *password, *from, *body_template;
	bool post;
	int dlr_mask;
	int timeout_s;
	struct curl_slist *headers; /* generic profile: configured headers (+ Content-Type) */
	CURL *curl;                 /* kept across calls: its connection cache gives keep-alive */
};

static char *dup_opt(const char *s)
{
	s = channel_opt(s);
	return s ? xstrdup(s) : NULL;
}

static void free_secret(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

static bool http_url_valid(const char *u)
{
	if (u == NULL || strlen(u) > SMS_MAX_URL)
		return false;
	if (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0)
		return false;
	for (const unsigned char *p = (const unsigned char *)u; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

/* "+" then 3-20 digits, or 3-20 digits (national numbers for test gateways). */
static bool phone_valid(const char *a)
{
	if (a == NULL)
		return false;
	if (*a == '+')
		a++;
	size_t n = strlen(a);
	if (n < 3 || n > 20)
		return false;
	for (; *a; a++)
		if (!isdigit((unsigned char)*a))
			return false;
	return true;
}

/* Parses "Name: value" lines separated by \n into a curl list; -1 with a reason. */
static int parse_headers(struct sms_channel *ch, const char *spec, char *err, size_t errlen)
{
	bool content_type = false;
	const char *p = spec;
	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len > 0) {
			char *line = xmalloc(len + 1);
			memcpy(line, p, len);
			line[len] = '\0';
			char *colon = strchr(line, ':');
			bool ok =
			    colon != NULL && colon != line && channel_header_value_valid(line);
			for (char *q = line; ok && q < colon; q++)
				if (!(isalnum((unsigned char)*q) || *q == '-' || *q == '_'))
					ok = false;
			if (!ok) {
				free(line);
				return seterr(err, errlen,
				              "sms: bad header line (want \"Name: value\")");
			}
			if ((size_t)(colon - line) == 12 &&
			    strncasecmp(line, "Content-Type", 12) == 0)
				content_type = true;
			struct curl_slist *h = curl_slist_append(ch->headers, line);
			free(line);
			if (h == NULL)
				fatal("out of memory (curl header list)");
			ch->headers = h;
		}
		p = e ? e + 1 : NULL;
	}
	if (!content_type && ch->post) {
		struct curl_slist *h =
		    curl_slist_append(ch->headers, "Content-Type: application/json; charset=utf-8");
		if (h == NULL)
			fatal("out of memory (curl header list)");
		ch->headers = h;
	}
	struct curl_slist *h = curl_slist_append(ch->headers, "Expect:");
	if (h == NULL)
		fatal("out of memory (curl header list)");
	ch->headers = h;
	return 0;
}

struct sms_channel *sms_channel_new(const struct sms_config *cfg, char *err, size_t errlen)
{
	if (cfg == NULL || channel_opt(cfg->profile) == NULL) {
		seterr(err, errlen, "sms: no profile configured");
		return NULL;
	}
	enum sms_profile profile;
	if (strcmp(cfg->profile, "kannel") == 0) {
		profile = SMS_KANNEL;
	} else if (strcmp(cfg->profile, "http") == 0) {
		profile = SMS_HTTP;
	} else {
		seterr(err, errlen, "sms: unknown profile \"%s\" (want kannel or http)",
		       cfg->profile);
		return NULL;
	}
	if (!http_url_valid(cfg->url)) {
		seterr(err, errlen, "sms: gateway URL must be http:// or https:// without spaces");
		return NULL;
	}
	if (profile == SMS_KANNEL &&
	    (channel_opt(cfg->username) == NULL || channel_opt(cfg->password) == NULL)) {
		seterr(err, errlen, "sms: kannel needs the sendsms-user username and password");
		return NULL;
	}
	if (cfg->dlr_mask < 0 || cfg->dlr_mask > 63) {
		seterr(err, errlen, "sms: dlr_mask %d out of range 0-63", cfg->dlr_mask);
		return NULL;
	}
	bool post = false;
	if (profile == SMS_HTTP) {
		const char *m = channel_opt(cfg->method) ? cfg->method : "POST";
		if (strcasecmp(m, "POST") == 0) {
			post = true;
		} else if (strcasecmp(m, "GET") != 0) {
			seterr(err, errlen, "sms: method must be GET or POST (got \"%s\")", m);
			return NULL;
		}
		if (post && channel_opt(cfg->body_template) == NULL) {
			seterr(err, errlen, "sms: POST needs a body_template");
			return NULL;
		}
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		seterr(err, errlen, "sms: curl_global_init failed");
		return NULL;
	}
	struct sms_channel *ch = xcalloc(1, sizeof *ch);
	ch->profile = profile;
	ch->post = post;
	ch->url = xstrdup(cfg->url);
	ch->username = dup_opt(cfg->username);
	ch->password = dup_opt(cfg->password);
	ch->from = dup_opt(cfg->from);
	ch->body_template = dup_opt(cfg->body_template);
	ch->dlr_mask = cfg->dlr_mask;
	ch->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 15;
	if (profile == SMS_HTTP && parse_headers(ch, channel_opt(cfg->headers), err, errlen) < 0)
		goto fail;
	ch->curl = curl_easy_init();
	if (ch->curl == NULL) {
		seterr(err, errlen, "sms: curl_easy_init failed");
		goto fail;
	}
	return ch;
fail:
	sms_channel_free(ch);
	return NULL;
}

void sms_channel_free(struct sms_channel *ch)
{
	if (ch == NULL)
		return;
	if (ch->curl)
		curl_easy_cleanup(ch->curl);
	curl_slist_free_all(ch->headers);
	free(ch->url);
	free(ch->username);
	free_secret(ch->password);
	free(ch->from);
	free(ch->body_template);
	free(ch);
	curl_global_cleanup();
}

/* ---- request building ------------------------------------------------------------------- */

static void add_param(CURL *c, struct channel_buf *b, const char *name, const char *value)
{
	char *enc = curl_easy_escape(c, value, 0);
	if (enc == NULL)
		fatal("out of memory (curl_easy_escape)");
	channel_buf_printf(b, "%c%s=%s", strchr(b->data, '?') ? '&' : '?', name, enc);
	curl_free(enc);
}

static void json_escape(struct channel_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			channel_buf_adds(b, "\\\"");
			break;
		case '\\':
			channel_buf_adds(b, "\\\\");
			break;
		case '\n':
			channel_buf_adds(b, "\\n");
			break;
		case '\r':
			channel_buf_adds(b, "\\r");
			break;
		case '\t':
			channel_buf_adds(b, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				channel_buf_printf(b, "\\u%04x", *p);
			else
				channel_buf_add(b, p, 1);
		}
	}
}

/* Expands {to} {text} {id} {dlr_url} in tmpl, JSON-escaped (json) or URL-encoded. */
static void expand(CURL *c, struct channel_buf *out, const char *tmpl, const struct delivery *d,
                   bool json)
{
	static const char *const names[] = {"{to}", "{text}", "{id}", "{dlr_url}"};
	const char *values[] = {d->address, d->sms_text, d->notification_id,
	                        channel_opt(d->dlr_url) ? d->dlr_url : ""};
	const char *p = tmpl;
	while (*p) {
		size_t k = 0;
		for (; k < 4; k++)
			if (strncmp(p, names[k], strlen(names[k])) == 0)
				break;
		if (k == 4) {
			channel_buf_add(out, p, 1);
			p++;
			continue;
		}
		if (json) {
			json_escape(out, values[k]);
		} else {
			char *enc = curl_easy_escape(c, values[k], 0);
			if (enc == NULL)
				fatal("out of memory (curl_easy_escape)");
			channel_buf_adds(out, enc);
			curl_free(enc);
		}
		p += strlen(names[k]);
	}
	channel_buf_nul(out);
}

static int sms_check(const struct delivery *d, char *err, size_t errlen)
{
	if (d->kind != CHANNEL_SMS)
		return seterr(err, errlen, "not an SMS delivery");
	if (!channel_token_valid(d->notification_id, SMS_MAX_ID))
		return seterr(err, errlen, "invalid notification id");
	if (!phone_valid(d->address))
		return seterr(err, errlen, "invalid phone number (want +digits)");
	if (d->sms_text == NULL || *d->sms_text == '\0' || strlen(d->sms_text) > SMS_MAX_TEXT ||
	    !channel_utf8_valid(d->sms_text, strlen(d->sms_text)))
		return seterr(err, errlen, "SMS text missing, longer than %d bytes or not UTF-8",
		              SMS_MAX_TEXT);
	if (channel_opt(d->dlr_url) && !http_url_valid(d->dlr_url))
		return seterr(err, errlen, "invalid DLR URL");
	return 0;
}

int sms_send(struct sms_channel *ch, const struct delivery *d, struct delivery_result *res)
{
	char err[200];
	if (d == NULL || sms_check(d, err, sizeof err) < 0) {
		channel_result(res, DELIVERY_PERMANENT, 0, 0, "%s", d ? err : "no delivery");
		return 0;
	}
	CURL *c = ch->curl;
	struct channel_buf url = {0}, body = {0};
	struct channel_http_reply reply = {0};
	char errbuf[CURL_ERROR_SIZE] = "";

	curl_easy_reset(c);
	if (ch->profile == SMS_KANNEL) {
		channel_buf_adds(&url, ch->url);
		add_param(c, &url, "username", ch->username);
		add_param(c, &url, "password", ch->password);
		add_param(c, &url, "to", d->address);
		if (ch->from)
			add_param(c, &url, "from", ch->from);
		add_param(c, &url, "text", d->sms_text);
		add_param(c, &url, "charset", "UTF-8");
		add_param(c, &url, "coding", d->sms_ucs2 ? "2" : "0");
		/* Kannel wants a dlr-url with a dlr-mask, and only our URL carries the
		 * reference that ties a report to its job. */
		if (ch->dlr_mask > 0 && channel_opt(d->dlr_url)) {
			char mask[16];
			snprintf(mask, sizeof mask, "%d", ch->dlr_mask);
			add_param(c, &url, "dlr-mask", mask);
			add_param(c, &url, "dlr-url", d->dlr_url);
		}
	} else {
		expand(c, &url, ch->url, d, false);
		if (ch->post)
			expand(c, &body, ch->body_template, d, true);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, ch->headers);
	}
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	if (ch->post) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ch->timeout_s * 1000);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(ch->timeout_s < 10 ? ch->timeout_s : 10) * 1000);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tbsc-relay");
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, channel_http_on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &reply);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, channel_http_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		enum delivery_outcome o =
		    (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
		        ? DELIVERY_PERMANENT
		        : DELIVERY_TEMPORARY;
		channel_result(res, o, 0, 0, "SMS gateway: %s",
		               errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else {
		long status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		enum delivery_outcome o = channel_http_outcome(status);
		if (o == DELIVERY_GONE) /* a gateway URL is not a recipient's endpoint */
			o = DELIVERY_PERMANENT;
		int retry = o == DELIVERY_TEMPORARY
		                ? channel_parse_retry_after(reply.retry_after, now_s())
		                : 0;
		channel_result(res, o, (int)status, retry, "HTTP %ld %s", status, reply.body);
	}
	/* The URL holds the Kannel password: wipe it. */
	if (url.data)
		sodium_memzero(url.data, url.len);
	channel_buf_free(&url);
	channel_buf_free(&body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	return 0;
}
