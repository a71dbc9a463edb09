/* delivery.c: per-channel workers: claim due jobs, build notifications, send, record every outcome.
 */
#include "delivery.h"

#include "logsync.h"
#include "notify.h"
#include "relay.h"
#include "render.h"
#include "report.h"
#include "util.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Recipients' Ed25519 keys converted to X25519 once, not once per notification. */
#define XKEY_CACHE 32
struct xkey {
	uint8_t pk[KEY_PK_BYTES];
	uint8_t xpk[crypto_box_PUBLICKEYBYTES];
};

struct worker {
	struct xkey xkeys[XKEY_CACHE];
	size_t nxkeys, next_xkey;
	pthread_mutex_t xkey_lock;
	struct delivery_engine *de;
	enum channel_kind kind;
	pthread_t thread;
	bool running;
	struct email_channel *email;
	struct sms_channel *sms;
	struct webhook_channel *webhook;
};

struct delivery_engine {
	struct relay *relay;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	unsigned kicks;
	struct worker workers[CHANNEL_KIND_COUNT];
};

/* Everything one attempt needs, and owns. */
struct prepared {
	struct job *job;
	struct delivery d;
	struct delivery_result res;
	bool ready; /* false: preparing failed permanently, res says why */
	char nid[NOTIFY_ID_CHARS + 1];
	char thread[NOTIFY_ID_CHARS + 1];
	char *subject, *text, *sms_text, *json, *signature, *dlr_url, *attachment_name;
	uint8_t *notification;
	size_t notification_len;
};

/* A stored report opened once for all the jobs of a batch that name it. */
struct opened_report {
	char report_id[REPORT_ID_CHARS + 1]; /* "" when empty */
	int status; /* 0 opened, -1 missing from the store, -2 cannot reopen */
	char err[ERRBUF_MAX];
	struct stored_report sr;
	struct envelope env;
	struct signed_report signed_rep;
	struct report rep;
	uint8_t *plain;
	size_t plain_len;
};

static void opened_clear(struct opened_report *o)
{
	report_clear(&o->rep);
	envelope_clear(&o->env);
	if (o->plain != NULL)
		sodium_memzero(o->plain, o->plain_len);
	free(o->plain);
	stored_report_clear(&o->sr);
	memset(o, 0, sizeof *o);
	report_init(&o->rep);
}

/* The report of job, opened from the store unless o holds it already. */
static struct opened_report *opened_get(struct relay *relay, struct opened_report *o,
                                        const char *report_id)
{
	if (o->report_id[0] != '\0' && strcmp(o->report_id, report_id) == 0)
		return o;
	opened_clear(o);
	snprintf(o->report_id, sizeof o->report_id, "%s", report_id);
	if (store_report_get(relay->store, report_id, true, &o->sr, o->err, sizeof o->err) != 1) {
		o->status = -1;
		return o;
	}
	if (envelope_decode(o->sr.envelope, o->sr.envelope_len, &o->env, o->err, sizeof o->err) !=
	        0 ||
	    envelope_open(&o->env, relay->key, &o->plain, &o->plain_len, o->err, sizeof o->err) !=
	        0 ||
	    signed_report_decode(o->plain, o->plain_len, &o->signed_rep, o->err, sizeof o->err) !=
	        0 ||
	    report_decode(o->signed_rep.report, o->signed_rep.report_len, &o->rep, o->err,
	                  sizeof o->err) != 0)
		o->status = -2;
	return o;
}

uint64_t delivery_backoff_ms(unsigned attempt, uint64_t floor_ms, uint64_t ceiling_ms,
                             uint32_t random)
{
	uint64_t base = floor_ms;
	for (unsigned i = 1; i < attempt && base < ceiling_ms; i++)
		base *= 2;
	if (base > ceiling_ms)
		base = ceiling_ms;
	uint64_t delay = base / 2 + (base / 2 ? random % (base / 2 + 1) : 0);
	return delay < floor_ms ? floor_ms : delay;
}

static void prepared_clear(struct prepared *p)
{
	free(p->subject);
	free(p->text);
	free(p->sms_text);
	free(p->json);
	free(p->signature);
	free(p->dlr_url);
	free(p->attachment_name);
	free(p->notification);
	memset(p, 0, sizeof *p);
}

static void fail_prepare(struct prepared *p, const char *fmt, const char *why)
    __attribute__((format(printf, 2, 0)));
static void fail_prepare(struct prepared *p, const char *fmt, const char *why)
{
	p->ready = false;
	p->res.outcome = DELIVERY_PERMANENT;
	p->res.code = 0;
	char full[1024];
	snprintf(full, sizeof full, fmt, why);
	/* Cut on a UTF-8 character boundary. */
	size_t n = strlen(full);
	if (n >= sizeof p->res.detail) {
		n = sizeof p->res.detail - 1;
		while (n > 0 && ((unsigned char)full[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(p->res.detail, full, n);
	p->res.detail[n] = '\0';
}

/* The X25519 key of pk into xpk, converted once per worker; false when pk is not a valid key. */
static bool worker_xkey(struct worker *w, const uint8_t pk[KEY_PK_BYTES],
                        uint8_t xpk[crypto_box_PUBLICKEYBYTES])
{
	bool ok = true;
	pthread_mutex_lock(&w->xkey_lock);
	size_t i = 0;
	while (i < w->nxkeys && memcmp(w->xkeys[i].pk, pk, KEY_PK_BYTES) != 0)
		i++;
	if (i == w->nxkeys) {
		struct xkey *k =
		    &w->xkeys[w->nxkeys < XKEY_CACHE ? w->nxkeys++ : w->next_xkey++ % XKEY_CACHE];
		memset(k, 0, sizeof *k);
		if (crypto_sign_ed25519_pk_to_curve25519(k->xpk, pk) == 0)
			memcpy(k->pk, pk, KEY_PK_BYTES);
		else
			ok = false;
		i = (size_t)(k - w->xkeys);
	}
	memcpy(xpk, w->xkeys[i].xpk, crypto_box_PUBLICKEYBYTES);
	pthread_mutex_unlock(&w->xkey_lock);
	return ok;
}

/* Builds the notification and the channel's rendering for one job. */
static void prepare(struct worker *w, struct job *job, struct prepared *p,
                    struct opened_report *cache)
{
	struct delivery_engine *de = w->de;
	struct relay *relay = de->relay;
	char err[ERRBUF_MAX];
	p->job = job;
	p->ready = false;
	struct opened_report *o = opened_get(relay, cache, job->report_id);
	if (o->status == -1) {
		fail_prepare(p, "báo cáo không còn trong kho / report missing from the store%s",
		             "");
		return;
	}
	if (o->status != 0) {
		fail_prepare(
		    p, "không mở lại được báo cáo đã lưu / cannot reopen the stored report: %s",
		    o->err);
		return;
	}
	const struct stored_report sr = o->sr; /* shallow: o keeps ownership */
	const struct report *repp = &o->rep;
	const uint8_t *plain = o->plain;
	size_t plain_len = o->plain_len;

	uint8_t pk[KEY_PK_BYTES];
	struct render_options ro;
	memset(&ro, 0, sizeof ro);
	char recipient_name[256] = "", agency_name[256] = "";
	pthread_rwlock_rdlock(&relay->registry_lock);
	const struct recipient *rc =
	    relay->routing ? routing_find(relay->routing, job->recipient) : NULL;
	const struct registry_key *key =
	    rc ? registry_current_key(relay->registry, rc->agency, now_s()) : NULL;
	const struct agency *reporter = registry_find(relay->registry, sr.agency);
	if (rc != NULL) {
		if (key != NULL)
			memcpy(pk, key->pk, sizeof pk);
		snprintf(recipient_name, sizeof recipient_name, "%s", rc->name);
	}
	snprintf(agency_name, sizeof agency_name, "%s", reporter ? reporter->name : sr.agency);
	char **clear = NULL, *ack_url = NULL;
	size_t clear_count = 0;
	char language[8] = "vi";
	bool sms_ucs2 = true;
	if (rc != NULL) {
		clear_count = rc->clear_count;
		clear = xcalloc(clear_count ? clear_count : 1, sizeof *clear);
		for (size_t i = 0; i < clear_count; i++)
			clear[i] = xstrdup(rc->clear[i]);
		snprintf(language, sizeof language, "%s", rc->language);
		sms_ucs2 = rc->sms_ucs2;
	}
	bool have_key = key != NULL;
	pthread_rwlock_unlock(&relay->registry_lock);
	if (rc == NULL) {
		fail_prepare(
		    p, "người nhận %s không còn trong cấu hình / recipient no longer configured",
		    job->recipient);
		goto out_clear;
	}
	if (!have_key) {
		fail_prepare(
		    p, "người nhận %s không có khóa còn hiệu lực / recipient has no valid key",
		    job->recipient);
		goto out_clear;
	}
	ro.language = language;
	ro.sms_ucs2 = sms_ucs2;
	ro.clear_fields = (const char *const *)clear;
	ro.clear_count = clear_count;
	ro.agency_name = agency_name;
	ro.recipient_name = recipient_name;
	ro.verify_url = relay->cfg->public_url;
	char ack_token[33], ack_code[ACK_CODE_CHARS + 1];
	relay_token(relay->key, "ack", job->report_id, job->recipient, ack_token);
	memcpy(ack_code, ack_token, ACK_CODE_CHARS);
	ack_code[ACK_CODE_CHARS] = '\0';
	ack_url = xasprintf("%s/v1/ack?r=%s&to=%s&k=%s", relay->cfg->public_url, job->report_id,
	                    job->recipient, ack_token);
	ro.ack_url = ack_url;
	ro.ack_code = ack_code;

	struct notification n;
	memset(&n, 0, sizeof n);
	notify_id(job->report_id, job->recipient, job->channel, n.nid);
	memcpy(p->nid, n.nid, sizeof p->nid);
	memcpy(n.report_id, sr.report_id, sizeof n.report_id);
	memcpy(n.incident_id, sr.incident_id, sizeof n.incident_id);
	memcpy(n.agency, sr.agency, sizeof n.agency);
	snprintf(n.recipient, sizeof n.recipient, "%s", job->recipient);
	snprintf(n.channel, sizeof n.channel, "%s", job->channel);
	snprintf(n.kind, sizeof n.kind, "%s", sr.kind);
	n.drill = sr.drill;
	n.received_ms = sr.received_ms;
	n.log_index = sr.log_index;
	memcpy(n.report_hash, sr.hash, WIRE_HASH_BYTES);
	uint8_t xpk[crypto_box_PUBLICKEYBYTES];
	if (!worker_xkey(w, pk, xpk)) {
		fail_prepare(
		    p, "khóa công khai người nhận không hợp lệ / invalid recipient public key%s",
		    "");
		goto out_clear;
	}
	if (notify_seal_x25519(&n, xpk, plain, plain_len, err, sizeof err) != 0 ||
	    notify_encode(&n, relay->key, &p->notification, &p->notification_len) != 0) {
		fail_prepare(p, "không lập được thông báo / cannot build the notification: %s",
		             err);
		notify_clear(&n);
		goto out_clear;
	}

	struct delivery *d = &p->d;
	d->notification_id = p->nid;
	d->address = job->address;
	int rr = 0;
	if (strcmp(job->channel, "email") == 0) {
		d->kind = CHANNEL_EMAIL;
		rr = render_email(relay->renderer, repp, &n, &ro, &p->subject, &p->text, err,
		                  sizeof err);
		d->subject = p->subject;
		d->text = p->text;
		d->attachment = p->notification;
		d->attachment_len = p->notification_len;
		p->attachment_name = xasprintf("thong-bao-%s.tbsc", p->nid);
		d->attachment_name = p->attachment_name;
		char first[REPORT_ID_CHARS + 1];
		if (store_incident_first(relay->store, sr.incident_id, job->recipient, job->channel,
		                         first) == 1 &&
		    strcmp(first, job->report_id) != 0) {
			notify_id(first, job->recipient, job->channel, p->thread);
			d->thread_id = p->thread;
		}
	} else if (strcmp(job->channel, "sms") == 0) {
		unsigned segments = 0;
		d->kind = CHANNEL_SMS;
		rr = render_sms(relay->renderer, repp, &n, &ro, p->notification,
		                p->notification_len, &p->sms_text, &segments, err, sizeof err);
		d->sms_text = p->sms_text;
		d->sms_ucs2 = sms_ucs2;
		char token[33];
		intake_dlr_token(relay->key, job->report_id, job->recipient, token);
		p->dlr_url =
		    xasprintf("%s/v1/dlr?r=%s&to=%s&k=%s&type=%%d&reply=%%A",
		              relay->cfg->public_url, job->report_id, job->recipient, token);
		d->dlr_url = p->dlr_url;
	} else {
		d->kind = CHANNEL_WEBHOOK;
		rr = render_webhook(relay->renderer, repp, &n, &ro, p->notification,
		                    p->notification_len, &p->json, err, sizeof err);
		if (rr == 0) {
			d->body = p->json;
			d->body_len = strlen(p->json);
			d->timestamp = now_s();
			p->signature = webhook_signature(relay->key, p->nid, d->timestamp, d->body,
			                                 d->body_len);
			d->signature = p->signature;
		}
	}
	notify_clear(&n);
	if (rr != 0) {
		fail_prepare(p, "không dựng được nội dung / cannot render: %s", err);
		goto out_clear;
	}
	p->ready = true;
out_clear:
	free(ack_url);
	for (size_t i = 0; i < clear_count; i++)
		free(clear[i]);
	free(clear);
}

static void send_prepared(struct worker *w, struct prepared *ps, size_t n)
{
	const struct delivery **ds = xcalloc(n ? n : 1, sizeof *ds);
	struct delivery_result *res = xcalloc(n ? n : 1, sizeof *res);
	size_t *map = xcalloc(n ? n : 1, sizeof *map), m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ps[i].ready)
			continue;
		if (w->kind == CHANNEL_WEBHOOK &&
		    store_endpoint_disabled(w->de->relay->store, ps[i].d.address)) {
			ps[i].res.outcome = DELIVERY_PERMANENT;
			snprintf(
			    ps[i].res.detail, sizeof ps[i].res.detail,
			    "địa chỉ đã bị vô hiệu hóa (410) / endpoint disabled after 410 Gone");
			continue;
		}
		ds[m] = &ps[i].d;
		map[m++] = i;
	}
	if (m > 0) {
		switch (w->kind) {
		case CHANNEL_EMAIL:
			email_send(w->email, ds, m, res);
			break;
		case CHANNEL_WEBHOOK:
			webhook_send(w->webhook, ds, m, res);
			break;
		case CHANNEL_SMS:
			for (size_t i = 0; i < m; i++)
				sms_send(w->sms, ds[i], &res[i]);
			break;
		case CHANNEL_KIND_COUNT:
			break;
		}
	}
	for (size_t i = 0; i < m; i++)
		ps[map[i]].res = res[i];
	free(ds);
	free(res);
	free(map);
}

int delivery_notice(struct relay *relay, char *const *to, size_t n, const char *tag,
                    const char *subject, const char *text, char *const *results)
{
	const struct relay_config *c = relay->cfg;
	char err[ERRBUF_MAX];
	if (c->smtp_host[0] == '\0' || n == 0) {
		for (size_t i = 0; i < n; i++)
			snprintf(results[i], ERRBUF_MAX, "%s",
			         "chưa cấu hình email / email not configured");
		return -1;
	}
	struct email_config ec = {c->smtp_host,
	                          (unsigned)c->smtp_port,
	                          c->smtp_helo,
	                          c->smtp_from,
	                          (int)c->smtp_starttls,
	                          c->smtp_ca_file[0] ? c->smtp_ca_file : NULL,
	                          c->smtp_username[0] ? c->smtp_username : NULL,
	                          c->smtp_password[0] ? c->smtp_password : NULL,
	                          (int)c->smtp_timeout};
	struct email_channel *ch = email_channel_new(&ec, err, sizeof err);
	int sent = 0;
	for (size_t i = 0; i < n; i++) {
		char nid[NOTIFY_ID_CHARS + 1];
		notify_id(tag, to[i], "notice", nid);
		struct delivery d;
		memset(&d, 0, sizeof d);
		d.kind = CHANNEL_EMAIL;
		d.notification_id = nid;
		d.address = to[i];
		d.subject = subject;
		d.text = text;
		struct delivery_result res;
		const struct delivery *dp = &d;
		memset(&res, 0, sizeof res);
		if (ch != NULL)
			email_send(ch, &dp, 1, &res);
		bool ok = ch != NULL && res.outcome == DELIVERY_OK;
		sent += ok;
		snprintf(results[i], ERRBUF_MAX, "%s", ok ? "ok" : ch ? res.detail : err);
	}
	email_channel_free(ch);
	return sent;
}

/*
 * A job ran out of lifetime: the commune office of the reporter's commune and the reporting unit
 * (when it is also a configured recipient) are told by email, without any report content.
 */
static void tell_undeliverable(struct delivery_engine *de, const struct job *j, const char *why)
{
	struct relay *relay = de->relay;
	char err[ERRBUF_MAX];
	struct stored_report sr;
	if (store_report_get(relay->store, j->report_id, false, &sr, err, sizeof err) != 1)
		return;
	char *to[16];
	size_t nto = 0;
	pthread_rwlock_rdlock(&relay->registry_lock);
	const struct agency *reporter = registry_find(relay->registry, sr.agency);
	const char *group = reporter ? reporter->group : "";
	for (size_t i = 0; relay->routing && i < relay->routing->recipient_count && nto < 16; i++) {
		const struct recipient *rc = &relay->routing->recipients[i];
		bool office =
		    strcmp(rc->role, "commune_office") == 0 && strcmp(rc->group, group) == 0;
		bool unit = strcmp(rc->agency, sr.agency) == 0;
		if ((office || unit) && rc->address[CHANNEL_EMAIL] != NULL)
			to[nto++] = xstrdup(rc->address[CHANNEL_EMAIL]);
	}
	pthread_rwlock_unlock(&relay->registry_lock);
	char *subject = xasprintf(
	    "[TBSC] Không chuyển được thông báo / undeliverable notification: %s", sr.incident_id);
	char *text = xasprintf(
	    "Relay không chuyển được báo cáo tới một người nhận sau %u lần thử.\n"
	    "The relay could not deliver a report to one recipient after %u attempts.\n\n"
	    "Mã báo cáo / report id: %s\nMã sự cố / incident id: %s\nĐơn vị báo cáo / reporting "
	    "agency: %s\n"
	    "Người nhận / recipient: %s\nKênh / channel: %s\nLỗi cuối / last error: %s\n\n"
	    "Hãy liên lạc người nhận bằng kênh khác. / Reach the recipient another way.\n",
	    j->attempts + 1, j->attempts + 1, sr.report_id, sr.incident_id, sr.agency, j->recipient,
	    j->channel, why);
	char results[16][ERRBUF_MAX], *rp[16];
	for (size_t i = 0; i < 16; i++)
		rp[i] = results[i];
	char tag[64];
	snprintf(tag, sizeof tag, "undeliverable/%lld", (long long)j->id);
	delivery_notice(relay, to, nto, tag, subject, text, rp);
	for (size_t i = 0; i < nto; i++) {
		char *note = xasprintf("%s: %s", to[i], results[i]);
		store_job_note(relay->store, j->id, "undeliverable-notice", note,
		               (uint64_t)now_ms());
		free(note);
		free(to[i]);
	}
	free(subject);
	free(text);
}

static void record(struct worker *w, struct prepared *ps, size_t n)
{
	struct delivery_engine *de = w->de;
	const struct relay_config *cfg = de->relay->cfg;
	struct job_outcome *o = xcalloc(n ? n : 1, sizeof *o);
	uint64_t now = (uint64_t)now_ms();
	for (size_t i = 0; i < n; i++) {
		struct job *j = ps[i].job;
		struct delivery_result *r = &ps[i].res;
		o[i].job_id = j->id;
		o[i].report_id = j->report_id;
		o[i].recipient = j->recipient;
		o[i].channel = j->channel;
		o[i].attempt = j->attempts + 1;
		o[i].code = r->code;
		o[i].detail = r->detail;
		if (ps[i].ready) {
			o[i].notification = ps[i].notification;
			o[i].notification_len = ps[i].notification_len;
		}
		switch (r->outcome) {
		case DELIVERY_OK:
			o[i].state = JOB_DELIVERED;
			o[i].outcome = "delivered";
			break;
		case DELIVERY_GONE:
			store_endpoint_disable(de->relay->store, j->address, now);
			/* fall through */
		case DELIVERY_PERMANENT:
			o[i].state = JOB_FAILED;
			o[i].outcome = "failed";
			break;
		case DELIVERY_TEMPORARY:
		default: {
			uint64_t delay = delivery_backoff_ms(
			    o[i].attempt, (uint64_t)cfg->retry_floor * 1000,
			    (uint64_t)cfg->retry_ceiling * 1000, randombytes_random());
			if (r->retry_after > 0 && (uint64_t)r->retry_after * 1000 > delay)
				delay = (uint64_t)r->retry_after * 1000;
			if (now + delay > j->expires_ms) {
				o[i].state = JOB_UNDELIVERABLE;
				o[i].outcome = "undeliverable";
				log_warn("không chuyển được / undeliverable: report %s to %s by %s "
				         "after %u attempts: %s",
				         j->report_id, j->recipient, j->channel, o[i].attempt,
				         r->detail);
			} else {
				o[i].state = JOB_DEFERRED;
				o[i].outcome = "deferred";
				o[i].next_ms = now + delay;
			}
		}
		}
		log_info("%s %s -> %s/%s: %s (%d %s)", o[i].outcome, j->report_id, j->recipient,
		         j->channel, ps[i].nid, r->code, r->detail);
	}
	char err[ERRBUF_MAX];
	if (store_jobs_record(de->relay->store, o, n, now, err, sizeof err) != 0) {
		log_error(
		    "không ghi được kết quả chuyển phát / cannot record delivery outcomes: %s",
		    err);
	} else {
		if (de->relay->logsync != NULL)
			logsync_kick(de->relay->logsync);
		for (size_t i = 0; i < n; i++)
			if (o[i].state == JOB_UNDELIVERABLE || o[i].state == JOB_FAILED)
				tell_undeliverable(de, ps[i].job, ps[i].res.detail);
	}
	free(o);
}

struct prepare_part {
	struct worker *w;
	struct job *jobs;
	struct prepared *ps;
	size_t from, to;
};

static void *prepare_range(void *arg)
{
	struct prepare_part *pp = arg;
	struct opened_report cache;
	memset(&cache, 0, sizeof cache);
	report_init(&cache.rep);
	for (size_t i = pp->from; i < pp->to; i++)
		prepare(pp->w, &pp->jobs[i], &pp->ps[i], &cache);
	opened_clear(&cache);
	return NULL;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct delivery_engine *de = w->de;
	const char *channel = channel_names[w->kind];
	size_t batch = (size_t)de->relay->cfg->delivery_batch;
	if (w->kind == CHANNEL_SMS && batch > 16)
		batch = 16;
	unsigned seen_kicks = 0;
	for (;;) {
		struct job *jobs = NULL;
		size_t n = 0;
		char err[ERRBUF_MAX];
		if (store_jobs_claim(de->relay->store, channel, (uint64_t)now_ms(), batch, &jobs,
		                     &n, err, sizeof err) != 0)
			log_error("%s: %s", channel, err);
		if (n > 0) {
			struct prepared *ps = xcalloc(n, sizeof *ps);
			/* Two halves prepared in parallel: the crypto of each notification is the
			 * bulk of a delivery's cost. */
			struct prepare_part part = {w, jobs, ps, n / 2, n};
			pthread_t helper;
			bool helped =
			    n >= 8 && pthread_create(&helper, NULL, prepare_range, &part) == 0;
			struct prepare_part mine = {w, jobs, ps, 0, helped ? n / 2 : n};
			prepare_range(&mine);
			if (helped)
				pthread_join(helper, NULL);
			send_prepared(w, ps, n);
			record(w, ps, n);
			for (size_t i = 0; i < n; i++)
				prepared_clear(&ps[i]);
			free(ps);
			store_jobs_free(jobs, n);
			pthread_mutex_lock(&de->lock);
			bool stop = de->stopping;
			pthread_mutex_unlock(&de->lock);
			if (stop)
				break;
			continue;
		}
		store_jobs_free(jobs, n);
		/* Nothing due: sleep until a kick, the next due job, or a second. */
		uint64_t next = store_jobs_next_due(de->relay->store, channel);
		uint64_t now = (uint64_t)now_ms();
		uint64_t wait_ms = 1000;
		if (next != 0 && next > now && next - now < wait_ms)
			wait_ms = next - now;
		if (next != 0 && next <= now)
			wait_ms = 0;
		pthread_mutex_lock(&de->lock);
		if (!de->stopping && de->kicks == seen_kicks && wait_ms > 0) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)(wait_ms / 1000);
			ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&de->wake, &de->lock, &ts);
		}
		seen_kicks = de->kicks;
		bool stop = de->stopping;
		pthread_mutex_unlock(&de->lock);
		if (stop)
			break;
	}
	return NULL;
}

static int open_channel(struct delivery_engine *de, struct worker *w, char *err, size_t errlen)
{
	const struct relay_config *c = de->relay->cfg;
#define OPT(s) ((s)[0] != '\0' ? (s) : NULL)
	switch (w->kind) {
	case CHANNEL_EMAIL: {
		if (c->smtp_host[0] == '\0')
			return 0;
		struct email_config ec = {
		    c->smtp_host,          (unsigned)c->smtp_port, c->smtp_helo,
		    c->smtp_from,          (int)c->smtp_starttls,  OPT(c->smtp_ca_file),
		    OPT(c->smtp_username), OPT(c->smtp_password),  (int)c->smtp_timeout};
		w->email = email_channel_new(&ec, err, errlen);
		return w->email ? 1 : -1;
	}
	case CHANNEL_SMS: {
		if (c->sms_url[0] == '\0')
			return 0;
		struct sms_config sc = {
		    c->sms_profile,       c->sms_url,          OPT(c->sms_username),
		    OPT(c->sms_password), c->sms_from,         (int)c->sms_dlr_mask,
		    c->sms_method,        OPT(c->sms_headers), OPT(c->sms_body_template),
		    (int)c->sms_timeout};
		w->sms = sms_channel_new(&sc, err, errlen);
		return w->sms ? 1 : -1;
	}
	case CHANNEL_WEBHOOK: {
		struct webhook_config wc = {OPT(c->webhook_ca_file), (int)c->webhook_timeout,
		                            (int)c->webhook_per_endpoint,
		                            (int)c->webhook_max_connections};
		w->webhook = webhook_channel_new(&wc, err, errlen);
		return w->webhook ? 1 : -1;
	}
	case CHANNEL_KIND_COUNT:
		break;
	}
#undef OPT
	return 0;
}

struct delivery_engine *delivery_start(struct relay *relay, char *err, size_t errlen)
{
	struct delivery_engine *de = xcalloc(1, sizeof *de);
	de->relay = relay;
	pthread_mutex_init(&de->lock, NULL);
	pthread_cond_init(&de->wake, NULL);
	if (store_jobs_recover(relay->store, err, errlen) != 0)
		goto fail;
	for (int k = 0; k < CHANNEL_KIND_COUNT; k++) {
		struct worker *w = &de->workers[k];
		w->de = de;
		w->kind = (enum channel_kind)k;
		pthread_mutex_init(&w->xkey_lock, NULL);
		int rc = open_channel(de, w, err, errlen);
		if (rc < 0)
			goto fail;
		if (rc == 0) {
			log_info("kênh %s chưa cấu hình / channel %s not configured",
			         channel_names[k], channel_names[k]);
			continue;
		}
		if (pthread_create(&w->thread, NULL, worker_run, w) != 0)
			fatal("cannot start a delivery worker");
		w->running = true;
	}
	return de;
fail:
	delivery_stop(de);
	return NULL;
}

void delivery_kick(struct delivery_engine *de)
{
	if (de == NULL)
		return;
	pthread_mutex_lock(&de->lock);
	de->kicks++;
	pthread_cond_broadcast(&de->wake);
	pthread_mutex_unlock(&de->lock);
}

void delivery_stop(struct delivery_engine *de)
{
	if (de == NULL)
		return;
	pthread_mutex_lock(&de->lock);
	de->stopping = true;
	pthread_cond_broadcast(&de->wake);
	pthread_mutex_unlock(&de->lock);
	for (int k = 0; k < CHANNEL_KIND_COUNT; k++) {
		struct worker *w = &de->workers[k];
		if (w->running)
			pthread_join(w->thread, NULL);
		email_channel_free(w->email);
		sms_channel_free(w->sms);
		webhook_channel_free(w->webhook);
	}
	pthread_mutex_destroy(&de->lock);
	pthread_cond_destroy(&de->wake);
	free(de);
}
