/* intake.c: the relay's HTTP API (libmicrohttpd): POST /v1/reports, GET /v1/reports/{id}, /healthz,
 * /log/. */
#include "relay.h"

#include "delivery.h"
#include "logsync.h"
#include "report.h"
#include "summary.h"
#include "util.h"
#include "wire.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct intake {
	struct relay *relay;
	struct MHD_Daemon *daemon;
	pthread_key_t reader_key;
	unsigned port;
	int inflight;   /* suspended or committed but not yet answered */
	int stopping;   /* set by intake_quiesce: new reports are refused with 503 */
	int submitting; /* handlers between the stopping check and committer_submit */
};

enum request_state { REQ_READING, REQ_PENDING, REQ_DONE, REQ_ANSWERED };

struct request {
	struct intake *in;
	struct MHD_Connection *conn;
	enum request_state state;
	uint8_t *body;
	size_t len, cap;
	bool too_large;
	struct envelope env;
	struct report report;
	struct accept_req areq;
	struct job_spec *jobs;
	size_t job_count;
};

#define ROUTES_MAX 256

/* ---- freshness ----------------------------------------------------------------------------- */

/* 0 when ts (Unix s) is within window of the relay's clock; 1 stale; 2 future. No signed overflow.
 */
static int freshness(uint64_t ts, long window, uint64_t *skew)
{
	uint64_t now = (uint64_t)now_s(), w = (uint64_t)window;
	if (ts > now) {
		*skew = ts - now;
		return *skew > w ? 2 : 0;
	}
	*skew = now - ts;
	return *skew > w ? 1 : 0;
}

/* ---- responses ---------------------------------------------------------------------------- */

static void json_escape(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
}

static enum MHD_Result send_buffer(struct MHD_Connection *conn, unsigned status, const char *ctype,
                                   void *data, size_t len, unsigned retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (retry_after > 0) {
		char v[16];
		snprintf(v, sizeof v, "%u", retry_after);
		MHD_add_response_header(r, "Retry-After", v);
	}
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Every refusal: {"error": code, "reason": text, "relay_time": seconds}. */
static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                  const char *reason, unsigned retry_after)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		fatal("open_memstream");
	fprintf(f, "{\"error\":\"%s\",\"reason\":\"", code);
	json_escape(f, reason);
	fprintf(f, "\",\"relay_time\":%lld}\n", (long long)now_s());
	fclose(f);
	log_info("%u %s: %s", status, code, reason);
	return send_buffer(conn, status, "application/json; charset=utf-8", buf, len, retry_after);
}

static enum MHD_Result send_receipt(struct request *rq, unsigned status)
{
	struct receipt rc;
	memset(&rc, 0, sizeof rc);
	memcpy(rc.hash, rq->areq.hash, WIRE_HASH_BYTES);
	memcpy(rc.agency, rq->areq.agency, sizeof rc.agency);
	snprintf(rc.incident_id, sizeof rc.incident_id, "%s", rq->areq.incident_stored);
	rc.received_ms = rq->areq.received_ms;
	rc.log_index = rq->areq.log_index;
	receipt_sign(&rc, rq->in->relay->key);
	uint8_t *out;
	size_t len;
	receipt_encode(&rc, &out, &len);
	return send_buffer(rq->conn, status, "application/msgpack", out, len, 0);
}

/* ---- POST /v1/reports --------------------------------------------------------------------- */

static void on_committed(struct accept_req *req)
{
	struct request *rq = req->ctx;
	rq->state = REQ_DONE;
	MHD_resume_connection(rq->conn);
}

static struct store_reader *thread_reader(struct intake *in)
{
	struct store_reader *rd = pthread_getspecific(in->reader_key);
	if (rd == NULL) {
		char err[ERRBUF_MAX];
		rd = store_reader_open(in->relay->cfg->store, err, sizeof err);
		if (rd == NULL)
			log_error("%s", err);
		else
			pthread_setspecific(in->reader_key, rd);
	}
	return rd;
}

static unsigned verdict_status(enum registry_verdict v, const char **code)
{
	switch (v) {
	case REGISTRY_UNKNOWN_AGENCY:
		*code = "unknown_agency";
		return MHD_HTTP_UNAUTHORIZED;
	case REGISTRY_UNKNOWN_KEY:
		*code = "unknown_key";
		return MHD_HTTP_UNAUTHORIZED;
	case REGISTRY_AGENCY_REVOKED:
		*code = "agency_revoked";
		return MHD_HTTP_FORBIDDEN;
	case REGISTRY_KEY_REVOKED:
		*code = "key_revoked";
		return MHD_HTTP_FORBIDDEN;
	case REGISTRY_KEY_NOT_YET_VALID:
		*code = "key_not_yet_valid";
		return MHD_HTTP_FORBIDDEN;
	case REGISTRY_KEY_EXPIRED:
		*code = "key_expired";
		return MHD_HTTP_FORBIDDEN;
	case REGISTRY_OK:
		break;
	}
	*code = "ok";
	return MHD_HTTP_OK;
}

/* Finds the agency's public key valid now; copies it out so the registry lock is short. */
static enum registry_verdict lookup_key(struct relay *relay, const char *agency,
                                        const uint8_t kid[KEY_ID_BYTES], uint8_t pk[KEY_PK_BYTES])
{
	const struct registry_key *key = NULL;
	pthread_rwlock_rdlock(&relay->registry_lock);
	enum registry_verdict v =
	    registry_lookup(relay->registry, agency, kid, now_s(), &key, NULL);
	if (v == REGISTRY_OK)
		memcpy(pk, key->pk, KEY_PK_BYTES);
	pthread_rwlock_unlock(&relay->registry_lock);
	return v;
}

static enum MHD_Result process_report(struct request *rq)
{
	struct relay *relay = rq->in->relay;
	struct MHD_Connection *conn = rq->conn;
	char err[ERRBUF_MAX], msg[ERRBUF_MAX + 64];
	const char *code;
	uint8_t pk[KEY_PK_BYTES];

	if (rq->too_large) {
		snprintf(msg, sizeof msg, "nội dung lớn quá %ld byte / body larger than %ld bytes",
		         relay->cfg->max_body, relay->cfg->max_body);
		return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", msg, 0);
	}
	const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	if (ctype != NULL && (strncasecmp(ctype, "application/msgpack", 19) != 0 ||
	                      (ctype[19] != '\0' && ctype[19] != ';' && ctype[19] != ' ')))
		return send_error(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "media_type",
		                  "cần Content-Type: application/msgpack / Content-Type must be "
		                  "application/msgpack",
		                  0);
	if (envelope_decode(rq->body, rq->len, &rq->env, err, sizeof err) != 0)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_envelope", err, 0);
	enum registry_verdict v = lookup_key(relay, rq->env.agency, rq->env.kid, pk);
	if (v != REGISTRY_OK) {
		unsigned status = verdict_status(v, &code);
		return send_error(conn, status, code, registry_verdict_text(v), 0);
	}
	if (envelope_verify(&rq->env, pk) != 0)
		return send_error(
		    conn, MHD_HTTP_UNAUTHORIZED, "bad_signature",
		    "chữ ký phong bì không hợp lệ / envelope signature does not verify", 0);
	uint64_t skew;
	int fresh = freshness(rq->env.ts, relay->cfg->timestamp_window, &skew);
	if (fresh != 0) {
		if (skew > 10ull * 365 * 86400)
			snprintf(msg, sizeof msg,
			         "thời gian phong bì vô lý / envelope time out of range");
		else
			snprintf(msg, sizeof msg,
			         "thời gian phong bì lệch %llu giây so với relay (cho phép %ld) / "
			         "envelope time is %llu s %s the relay's clock (window %ld s)",
			         (unsigned long long)skew, relay->cfg->timestamp_window,
			         (unsigned long long)skew, fresh == 1 ? "behind" : "ahead of",
			         relay->cfg->timestamp_window);
		return send_error(conn, MHD_HTTP_CONFLICT, fresh == 1 ? "stale" : "future", msg, 0);
	}
	unsigned retry = 0;
	if (!ratelimit_take(relay->ratelimit, rq->env.agency, now_ms(), &retry))
		return send_error(
		    conn, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
		    "vượt quá tần suất cho phép của đơn vị / agency over its request rate", retry);

	struct accept_req *a = &rq->areq;
	envelope_hash(&rq->env, a->hash);
	report_id_from_hash(a->hash, a->report_id);
	memcpy(a->agency, rq->env.agency, sizeof a->agency);
	memcpy(a->nonce, rq->env.nonce, WIRE_NONCE_BYTES);
	struct store_reader *rd = thread_reader(rq->in);
	uint8_t seen_hash[WIRE_HASH_BYTES];
	int seen = rd ? store_reader_nonce(rd, a->agency, a->nonce, seen_hash, &a->received_ms,
	                                   &a->log_index, a->incident_stored)
	              : -1;
	if (seen == 1) {
		if (memcmp(seen_hash, a->hash, WIRE_HASH_BYTES) == 0)
			return send_receipt(rq, MHD_HTTP_OK);
		return send_error(
		    conn, MHD_HTTP_CONFLICT, "replay",
		    "nonce đã dùng cho một phong bì khác / nonce already used for another envelope",
		    0);
	}

	uint8_t *plain = NULL;
	size_t plain_len = 0;
	if (envelope_open(&rq->env, relay->key, &plain, &plain_len, err, sizeof err) != 0)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "cannot_open", err, 0);
	struct signed_report sr;
	enum MHD_Result ret;
	if (signed_report_decode(plain, plain_len, &sr, err, sizeof err) != 0) {
		ret = send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_signed_report", err, 0);
		goto done;
	}
	if (strcmp(sr.agency, rq->env.agency) != 0 ||
	    memcmp(sr.kid, rq->env.kid, KEY_ID_BYTES) != 0) {
		ret = send_error(conn, MHD_HTTP_FORBIDDEN, "signer_mismatch",
		                 "báo cáo được ký bởi đơn vị/khóa khác phong bì / report signed by "
		                 "another agency or key than the envelope",
		                 0);
		goto done;
	}
	if (signed_report_verify(&sr, pk) != 0) {
		ret =
		    send_error(conn, MHD_HTTP_UNAUTHORIZED, "bad_report_signature",
		               "chữ ký báo cáo không hợp lệ / report signature does not verify", 0);
		goto done;
	}
	if (report_decode(sr.report, sr.report_len, &rq->report, err, sizeof err) != 0) {
		snprintf(msg, sizeof msg, "báo cáo không hợp lệ / invalid report: %s", err);
		ret = send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_report", msg, 0);
		goto done;
	}
	if (relay->routing != NULL) {
		struct route_target targets[ROUTES_MAX];
		pthread_rwlock_rdlock(&relay->registry_lock);
		const struct agency *ag = registry_find(relay->registry, rq->env.agency);
		size_t n =
		    routing_resolve(relay->routing, ag ? ag->group : "",
		                    report_kind_names[rq->report.kind], rq->report.category,
		                    rq->report.severity, rq->report.drill, targets, ROUTES_MAX);
		if (n > ROUTES_MAX)
			n = ROUTES_MAX;
		rq->jobs = xcalloc(n ? n : 1, sizeof *rq->jobs);
		size_t kept = 0;
		for (size_t i = 0; i < n; i++) {
			/* A channel the relay has no server for would wait for ever: leave it out.
			 */
			if ((targets[i].channel == CHANNEL_EMAIL &&
			     relay->cfg->smtp_host[0] == '\0') ||
			    (targets[i].channel == CHANNEL_SMS && relay->cfg->sms_url[0] == '\0'))
				continue;
			targets[kept++] = targets[i];
		}
		n = kept;
		for (size_t i = 0; i < n; i++) {
			rq->jobs[i].recipient = xstrdup(targets[i].recipient->id);
			rq->jobs[i].channel = channel_names[targets[i].channel];
			rq->jobs[i].address =
			    xstrdup(targets[i].recipient->address[targets[i].channel]);
		}
		rq->job_count = n;
		pthread_rwlock_unlock(&relay->registry_lock);
		a->jobs = rq->jobs;
		a->job_count = n;
		a->job_lifetime_ms = (uint64_t)relay->cfg->lifetime * 1000;
	}
	snprintf(a->incident_id, sizeof a->incident_id, "%s", rq->report.incident_id);
	a->kind = report_kind_names[rq->report.kind];
	a->category = rq->report.category;
	a->severity = rq->report.severity;
	a->drill = rq->report.drill;
	a->detected_s = rq->report.detected;
	a->response_ended_s = rq->report.response_ended;
	a->reporter_email = rq->report.reporter_email;
	a->envelope = rq->body;
	a->envelope_len = rq->len;
	a->done = on_committed;
	a->ctx = rq;
	/* The committer must still exist when we queue: intake_quiesce waits for `submitting`. */
	__atomic_add_fetch(&rq->in->submitting, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&rq->in->stopping, __ATOMIC_SEQ_CST)) {
		__atomic_sub_fetch(&rq->in->submitting, 1, __ATOMIC_SEQ_CST);
		ret = send_error(
		    conn, MHD_HTTP_SERVICE_UNAVAILABLE, "stopping",
		    "relay đang dừng, hãy gửi lại sau / the relay is stopping, retry later", 5);
		goto done;
	}
	rq->state = REQ_PENDING;
	__atomic_add_fetch(&rq->in->inflight, 1, __ATOMIC_SEQ_CST);
	/* Suspend before queueing, so the commit thread can never resume a running connection. */
	MHD_suspend_connection(conn);
	committer_submit(relay->committer, a);
	__atomic_sub_fetch(&rq->in->submitting, 1, __ATOMIC_SEQ_CST);
	ret = MHD_YES;
done:
	sodium_memzero(plain, plain_len);
	free(plain);
	return ret;
}

static enum MHD_Result answer_committed(struct request *rq)
{
	rq->state = REQ_ANSWERED;
	__atomic_sub_fetch(&rq->in->inflight, 1, __ATOMIC_SEQ_CST);
	switch (rq->areq.outcome) {
	case STORE_ACCEPTED:
		log_debug("accepted %s from %s (log %llu)", rq->areq.report_id, rq->areq.agency,
		          (unsigned long long)rq->areq.log_index);
		/* No logsync_kick: the log thread mirrors the store every 200 ms anyway, and waking it
		 * per accept cost more than it bought (intake benchmark). */
		delivery_kick(rq->in->relay->delivery);
		return send_receipt(rq, MHD_HTTP_ACCEPTED);
	case STORE_DUPLICATE:
		return send_receipt(rq, MHD_HTTP_OK);
	case STORE_REPLAY:
		return send_error(
		    rq->conn, MHD_HTTP_CONFLICT, "replay",
		    "nonce đã dùng cho một phong bì khác / nonce already used for another envelope",
		    0);
	case STORE_FAILED:
	default:
		return send_error(
		    rq->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "store_failed",
		    "relay không lưu được, hãy gửi lại / the relay could not store it, retry", 5);
	}
}

/* ---- GET /v1/reports/{id} ----------------------------------------------------------------- */

/* Authenticates a signed GET; 0 and the agency in ra, or -1 with the reply already queued in *ret.
 */
static int auth_get(struct intake *in, struct MHD_Connection *conn, const char *url,
                    struct request_auth *ra, enum MHD_Result *ret)
{
	char err[ERRBUF_MAX];
	const char *code = NULL;
	uint8_t pk[KEY_PK_BYTES];
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (auth == NULL) {
		*ret = send_error(conn, MHD_HTTP_UNAUTHORIZED, "no_auth",
		                  "cần tiêu đề Authorization / Authorization header required", 0);
		return -1;
	}
	if (request_auth_parse(auth, ra, err, sizeof err) != 0) {
		*ret = send_error(conn, MHD_HTTP_UNAUTHORIZED, "bad_auth", err, 0);
		return -1;
	}
	enum registry_verdict v = lookup_key(in->relay, ra->agency, ra->kid, pk);
	if (v != REGISTRY_OK) {
		unsigned status = verdict_status(v, &code);
		*ret = send_error(conn, status, code, registry_verdict_text(v), 0);
		return -1;
	}
	if (request_auth_verify(ra, "GET", url, pk) != 0) {
		*ret = send_error(conn, MHD_HTTP_UNAUTHORIZED, "bad_signature",
		                  "chữ ký yêu cầu không hợp lệ / request signature does not verify",
		                  0);
		return -1;
	}
	uint64_t skew;
	int fresh = freshness(ra->ts, in->relay->cfg->timestamp_window, &skew);
	if (fresh != 0) {
		*ret = send_error(
		    conn, MHD_HTTP_CONFLICT, fresh == 1 ? "stale" : "future",
		    "thời gian yêu cầu lệch quá mức / request time outside the window", 0);
		return -1;
	}
	return 0;
}

static enum MHD_Result get_report(struct intake *in, struct MHD_Connection *conn, const char *url)
{
	struct relay *relay = in->relay;
	const char *id = url + strlen("/v1/reports/");
	char err[ERRBUF_MAX];
	struct request_auth ra;
	enum MHD_Result ret;
	if (auth_get(in, conn, url, &ra, &ret) != 0)
		return ret;
	struct stored_report sr;
	int found = strlen(id) == REPORT_ID_CHARS
	                ? store_report_get(relay->store, id, false, &sr, err, sizeof err)
	                : 0;
	if (found < 0)
		return send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "store_failed", err, 1);
	/* Another agency's report is answered exactly like a missing one. */
	if (found == 0 || strcmp(sr.agency, ra.agency) != 0)
		return send_error(
		    conn, MHD_HTTP_NOT_FOUND, "not_found",
		    "không có báo cáo này của đơn vị / no such report from this agency", 0);
	char hash[2 * WIRE_HASH_BYTES + 1];
	hex_encode(hash, sr.hash, WIRE_HASH_BYTES);
	/* The signed receipt again (Ed25519 is deterministic: the same bytes as the first time). */
	struct receipt rc;
	memset(&rc, 0, sizeof rc);
	memcpy(rc.hash, sr.hash, WIRE_HASH_BYTES);
	memcpy(rc.agency, sr.agency, sizeof rc.agency);
	memcpy(rc.incident_id, sr.incident_id, sizeof rc.incident_id);
	rc.received_ms = sr.received_ms;
	rc.log_index = sr.log_index;
	receipt_sign(&rc, relay->key);
	uint8_t *rbytes;
	size_t rlen;
	receipt_encode(&rc, &rbytes, &rlen);
	char *receipt64 = b64_encode(rbytes, rlen);
	free(rbytes);
	char *deliveries = store_jobs_json(relay->store, sr.report_id);
	char *body = xasprintf(
	    "{\"report_id\":\"%s\",\"agency\":\"%s\",\"incident_id\":\"%s\",\"kind\":\"%s\","
	    "\"category\":\"%s\",\"severity\":\"%s\",\"drill\":%s,\"received_ms\":%llu,"
	    "\"log_index\":%llu,\"hash\":\"%s\",\"receipt\":\"%s\",\"state\":\"accepted\","
	    "\"deliveries\":%s}\n",
	    sr.report_id, sr.agency, sr.incident_id, sr.kind, sr.category, sr.severity,
	    sr.drill ? "true" : "false", (unsigned long long)sr.received_ms,
	    (unsigned long long)sr.log_index, hash, receipt64, deliveries);
	free(receipt64);
	free(deliveries);
	stored_report_clear(&sr);
	return send_buffer(conn, MHD_HTTP_OK, "application/json; charset=utf-8", body, strlen(body),
	                   0);
}

/* GET /v1/notifications?r=<report id or prefix>&channel=sms: what the relay last sent the asking
 * recipient (signed request by the recipient's agency), e.g. to check the code an SMS carries. */
static enum MHD_Result get_notification(struct intake *in, struct MHD_Connection *conn,
                                        const char *url)
{
	struct request_auth ra;
	enum MHD_Result ret;
	const char *r = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "r");
	const char *channel = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "channel");
	if (r == NULL || channel == NULL || strlen(r) < 8 || strlen(r) > REPORT_ID_CHARS ||
	    strspn(r, "0123456789abcdef") != strlen(r) ||
	    (strcmp(channel, "sms") && strcmp(channel, "email") && strcmp(channel, "webhook")))
		return send_error(
		    conn, MHD_HTTP_BAD_REQUEST, "bad_query",
		    "cần r (ít nhất 8 ký tự hex) và channel / need r (8+ hex) and channel", 0);
	/* The signature covers the path with its query, in this order. */
	char *signed_path = xasprintf("%s?r=%s&channel=%s", url, r, channel);
	int a = auth_get(in, conn, signed_path, &ra, &ret);
	free(signed_path);
	if (a != 0)
		return ret;
	const char *ids[32];
	size_t n = 0;
	pthread_rwlock_rdlock(&in->relay->registry_lock);
	for (size_t i = 0; in->relay->routing && i < in->relay->routing->recipient_count && n < 32;
	     i++)
		if (strcmp(in->relay->routing->recipients[i].agency, ra.agency) == 0)
			ids[n++] = xstrdup(in->relay->routing->recipients[i].id);
	pthread_rwlock_unlock(&in->relay->registry_lock);
	uint8_t *bytes = NULL;
	size_t len = 0;
	int found = store_notification_get(in->relay->store, r, ids, n, channel, &bytes, &len);
	for (size_t i = 0; i < n; i++)
		free((char *)ids[i]);
	if (found == -2)
		return send_error(conn, MHD_HTTP_CONFLICT, "ambiguous",
		                  "mã báo cáo trùng nhiều báo cáo / prefix matches several reports",
		                  0);
	if (found != 1)
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found",
		                  "không có thông báo nào gửi cho đơn vị này / no such "
		                  "notification sent to this agency",
		                  0);
	return send_buffer(conn, MHD_HTTP_OK, "application/vnd.tbsc.notification", bytes, len, 0);
}

/* GET /v1/incidents/{id}: the reporting agency's timeline of one incident. */
static enum MHD_Result get_incident(struct intake *in, struct MHD_Connection *conn, const char *url)
{
	struct request_auth ra;
	enum MHD_Result ret;
	const char *id = url + strlen("/v1/incidents/");
	if (auth_get(in, conn, url, &ra, &ret) != 0)
		return ret;
	char *body =
	    strlen(id) <= 64
	        ? store_incident_json(in->relay->store, id, ra.agency, (uint64_t)now_ms(),
	                              (uint64_t)in->relay->cfg->deadline_days * 86400000ull)
	        : NULL;
	if (body == NULL)
		return send_error(
		    conn, MHD_HTTP_NOT_FOUND, "not_found",
		    "không có sự cố này của đơn vị / no such incident from this agency", 0);
	return send_buffer(conn, MHD_HTTP_OK, "application/json; charset=utf-8", body, strlen(body),
	                   0);
}

/* ---- GET /v1/dlr: delivery reports from the SMS gateway ------------------------------------- */

/* A token for (purpose, report, recipient): keyed BLAKE2b under a key derived from the relay's. */
void relay_token(const struct keypair *relay, const char *purpose, const char *report_id,
                 const char *recipient, char out[33])
{
	uint8_t key[crypto_generichash_KEYBYTES], mac[16];
	char *ctx = xasprintf("tbsc-%s-key-v1", purpose);
	crypto_generichash(key, sizeof key, relay->sk, KEY_SK_BYTES, (const uint8_t *)ctx,
	                   strlen(ctx));
	free(ctx);
	crypto_generichash_state st;
	crypto_generichash_init(&st, key, sizeof key, sizeof mac);
	crypto_generichash_update(&st, (const uint8_t *)report_id, strlen(report_id));
	crypto_generichash_update(&st, (const uint8_t *)"/", 1);
	crypto_generichash_update(&st, (const uint8_t *)recipient, strlen(recipient));
	crypto_generichash_final(&st, mac, sizeof mac);
	sodium_memzero(key, sizeof key);
	hex_encode(out, mac, sizeof mac);
}

void intake_dlr_token(const struct keypair *relay, const char *report_id, const char *recipient,
                      char out[33])
{
	relay_token(relay, "dlr", report_id, recipient, out);
}

static enum MHD_Result get_dlr(struct intake *in, struct MHD_Connection *conn)
{
	const char *r = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "r");
	const char *to = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "to");
	const char *type = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "type");
	const char *k = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "k");
	const char *reply = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "reply");
	char want[33], err[ERRBUF_MAX];
	if (r == NULL || to == NULL || type == NULL || k == NULL || strlen(r) != REPORT_ID_CHARS ||
	    !registry_id_valid(to))
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_dlr",
		                  "thiếu tham số / missing parameters", 0);
	intake_dlr_token(in->relay->key, r, to, want);
	if (strlen(k) != 32 || sodium_memcmp(want, k, 32) != 0)
		return send_error(conn, MHD_HTTP_FORBIDDEN, "bad_token",
		                  "mã xác thực sai / wrong token", 0);
	static const struct {
		int bit;
		const char *word;
	} types[] = {{1, "delivered_to_phone"}, {2, "not_delivered_to_phone"},
	             {4, "queued_on_smsc"},     {8, "delivered_to_smsc"},
	             {16, "rejected_by_smsc"},  {32, "intermediate"}};
	const char *outcome = NULL;
	int t = atoi(type);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (types[i].bit == t)
			outcome = types[i].word;
	if (outcome == NULL)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_dlr",
		                  "loại báo cáo chuyển phát không biết / unknown DLR type", 0);
	char detail[160];
	snprintf(detail, sizeof detail, "DLR %d%s%.120s", t, reply ? ": " : "", reply ? reply : "");
	int found = store_job_dlr(in->relay->store, r, to, "sms", outcome, detail,
	                          (uint64_t)now_ms(), err, sizeof err);
	if (found < 0)
		return send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "store_failed", err, 1);
	if (found == 0)
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found",
		                  "không có việc chuyển phát này / no such delivery", 0);
	log_info("dlr %s -> %s/sms: %s", r, to, outcome);
	if (in->relay->logsync != NULL)
		logsync_kick(in->relay->logsync);
	char *ok = xstrdup("{\"status\":\"recorded\"}\n");
	return send_buffer(conn, MHD_HTTP_OK, "application/json", ok, strlen(ok), 0);
}

/* ---- acknowledgements ---------------------------------------------------------------------- */

/* Records an acknowledgement; answers 202 the first time, 200 after, with when it was first made.
 */
static enum MHD_Result record_ack(struct intake *in, struct MHD_Connection *conn,
                                  const char *report_id, const char *recipient, const char *via,
                                  bool html)
{
	char err[ERRBUF_MAX];
	uint64_t at = 0;
	int r = store_ack(in->relay->store, report_id, recipient, via, (uint64_t)now_ms(), &at, err,
	                  sizeof err);
	if (r == -2)
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not_routed",
		                  "báo cáo này không gửi tới người nhận đó / this report was not "
		                  "sent to that recipient",
		                  0);
	if (r < 0)
		return send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "store_failed", err, 1);
	if (r == 1) {
		log_info("ack %s by %s (%s)", report_id, recipient, via);
		if (in->relay->logsync != NULL)
			logsync_kick(in->relay->logsync);
	}
	char *body;
	if (html)
		body =
		    xasprintf("<!doctype html><meta charset=\"utf-8\"><title>TBSC</title>"
		              "<p>Đã ghi nhận xác nhận của <b>%s</b> cho báo cáo %s.</p>"
		              "<p lang=\"en\">Acknowledgement by %s of report %s recorded.</p>\n",
		              recipient, report_id, recipient, report_id);
	else
		body = xasprintf("{\"report_id\":\"%s\",\"recipient\":\"%s\",\"acknowledged_ms\":%"
		                 "llu,\"first\":%s}\n",
		                 report_id, recipient, (unsigned long long)at,
		                 r == 1 ? "true" : "false");
	return send_buffer(conn, r == 1 ? MHD_HTTP_ACCEPTED : MHD_HTTP_OK,
	                   html ? "text/html; charset=utf-8" : "application/json", body,
	                   strlen(body), 0);
}

/* POST /v1/acks: a recipient's signed acknowledgement. */
static enum MHD_Result process_ack(struct request *rq)
{
	struct relay *relay = rq->in->relay;
	struct MHD_Connection *conn = rq->conn;
	char err[ERRBUF_MAX];
	const char *code = NULL;
	struct ack a;
	uint8_t pk[KEY_PK_BYTES];
	if (rq->too_large)
		return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
		                  "quá lớn / too large", 0);
	if (ack_decode(rq->body, rq->len, &a, err, sizeof err) != 0)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_ack", err, 0);
	enum registry_verdict v = lookup_key(relay, a.agency, a.kid, pk);
	if (v != REGISTRY_OK) {
		unsigned status = verdict_status(v, &code);
		return send_error(conn, status, code, registry_verdict_text(v), 0);
	}
	if (ack_verify(&a, pk) != 0)
		return send_error(
		    conn, MHD_HTTP_UNAUTHORIZED, "bad_signature",
		    "chữ ký xác nhận không hợp lệ / acknowledgement signature does not verify", 0);
	uint64_t skew;
	int fresh = freshness(a.ts, relay->cfg->timestamp_window, &skew);
	if (fresh != 0)
		return send_error(
		    conn, MHD_HTTP_CONFLICT, fresh == 1 ? "stale" : "future",
		    "thời gian xác nhận lệch quá mức / acknowledgement time outside the window", 0);
	/* Only the recipient's own key acknowledges for it. */
	bool mine = false;
	pthread_rwlock_rdlock(&relay->registry_lock);
	const struct recipient *rc =
	    relay->routing ? routing_find(relay->routing, a.recipient) : NULL;
	mine = rc != NULL && strcmp(rc->agency, a.agency) == 0;
	pthread_rwlock_unlock(&relay->registry_lock);
	if (!mine)
		return send_error(conn, MHD_HTTP_FORBIDDEN, "not_recipient",
		                  "khóa này không thuộc người nhận đó / this key does not belong "
		                  "to that recipient",
		                  0);
	return record_ack(rq->in, conn, a.report_id, a.recipient, "signed", false);
}

/* GET /v1/ack?r=&to=&k=: the link in an email or webhook. */
static enum MHD_Result get_ack_link(struct intake *in, struct MHD_Connection *conn, bool post)
{
	const char *r = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "r");
	const char *to = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "to");
	const char *k = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "k");
	char want[33];
	if (r == NULL || to == NULL || k == NULL || strlen(r) != REPORT_ID_CHARS ||
	    !registry_id_valid(to))
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_ack",
		                  "thiếu tham số / missing parameters", 0);
	relay_token(in->relay->key, "ack", r, to, want);
	if (strlen(k) != 32 || sodium_memcmp(want, k, 32) != 0)
		return send_error(conn, MHD_HTTP_FORBIDDEN, "bad_token",
		                  "mã xác thực sai / wrong token", 0);
	if (!post) {
		/* A GET only shows the button: mail scanners and link previews fetch links too. */
		char *page =
		    xasprintf("<!doctype html><meta charset=\"utf-8\"><title>TBSC</title>"
		              "<p>Xác nhận đã nhận báo cáo %s (người nhận %s)?</p><p "
		              "lang=\"en\">Acknowledge report %s as %s?</p>"
		              "<form method=\"post\" action=\"/v1/ack?r=%s&amp;to=%s&amp;k=%s\">"
		              "<button type=\"submit\">Xác nhận / Acknowledge</button></form>\n",
		              r, to, r, to, r, to, k);
		return send_buffer(conn, MHD_HTTP_OK, "text/html; charset=utf-8", page,
		                   strlen(page), 0);
	}
	return record_ack(in, conn, r, to, "link", true);
}

/* GET /v1/sms-in?from=&text=: an SMS reply "ACK <code>" passed on by the gateway (Kannel MO
 * get-url). */
static enum MHD_Result get_sms_in(struct intake *in, struct MHD_Connection *conn)
{
	const char *from = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "from");
	const char *text = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "text");
	char code[16] = "";
	if (from == NULL || text == NULL || strlen(from) > 20 || strlen(text) > 160)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_sms",
		                  "thiếu tham số / missing parameters", 0);
	if (sscanf(text, " %*[Aa]%*[Cc]%*[Kk] %15s", code) != 1 || strlen(code) != ACK_CODE_CHARS)
		return send_error(conn, MHD_HTTP_BAD_REQUEST, "bad_sms",
		                  "cần \"ACK <mã>\" / expected \"ACK <code>\"", 0);
	for (char *p = code; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	char ids[32][REPORT_ID_CHARS + 1], rcpts[32][AGENCY_ID_MAX + 1];
	size_t n = 0;
	store_sms_ack_lookup(in->relay->store, from, now_ms() - 7 * 86400000LL, ids, rcpts, 32, &n);
	for (size_t i = 0; i < n; i++) {
		char token[33];
		relay_token(in->relay->key, "ack", ids[i], rcpts[i], token);
		if (sodium_memcmp(token, code, ACK_CODE_CHARS) == 0)
			return record_ack(in, conn, ids[i], rcpts[i], "sms", false);
	}
	return send_error(conn, MHD_HTTP_NOT_FOUND, "unknown_code",
	                  "mã không khớp tin nhắn nào gửi tới số này / the code matches no message "
	                  "sent to this number",
	                  0);
}

/* ---- /log/ -------------------------------------------------------------------------------- */

static bool log_path_ok(const char *p)
{
	if (*p == '\0' || *p == '/' || strstr(p, "..") != NULL || strlen(p) > 200)
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '/' ||
		      *p == '.' || *p == 'x' || *p == '-' || *p == '_'))
			return false;
	return true;
}

static int by_size(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* GET /log/checkpoints/: the sizes of every kept checkpoint, one decimal per line, ascending. */
static enum MHD_Result list_checkpoints(struct intake *in, struct MHD_Connection *conn)
{
	char *path = xasprintf("%s/checkpoints", in->relay->cfg->log_dir);
	DIR *d = opendir(path);
	free(path);
	if (d == NULL)
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "không có / not found", 0);
	uint64_t *sizes = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9' ||
		    strspn(e->d_name, "0123456789") != strlen(e->d_name) || strlen(e->d_name) > 19)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			sizes = xrealloc(sizes, cap * sizeof *sizes);
		}
		sizes[n++] = strtoull(e->d_name, NULL, 10);
	}
	closedir(d);
	qsort(sizes, n, sizeof *sizes, by_size);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		fatal("open_memstream");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%llu\n", (unsigned long long)sizes[i]);
	fclose(f);
	free(sizes);
	return send_buffer(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", buf, len, 0);
}

static enum MHD_Result get_log_file(struct intake *in, struct MHD_Connection *conn, const char *url)
{
	const char *rel = url + strlen("/log/");
	if (strcmp(rel, "checkpoints/") == 0 || strcmp(rel, "checkpoints") == 0)
		return list_checkpoints(in, conn);
	if (!log_path_ok(rel))
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "không có / not found", 0);
	char *path = xasprintf("%s/%s", in->relay->cfg->log_dir, rel);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "không có / not found", 0);
	}
	struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	bool immutable = strncmp(rel, "tile/", 5) == 0 && strstr(rel, ".p/") == NULL;
	MHD_add_response_header(r, "Content-Type",
	                        strcmp(rel, "checkpoint") == 0 ||
	                                strncmp(rel, "checkpoints/", 12) == 0
	                            ? "text/plain; charset=utf-8"
	                            : "application/octet-stream");
	MHD_add_response_header(r, "Cache-Control",
	                        immutable ? "public, max-age=31536000, immutable" : "no-store");
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
	struct intake *in = cls;
	(void)version;
	bool post_report = strcmp(url, "/v1/reports") == 0;
	bool post_ack = strcmp(url, "/v1/acks") == 0 && strcmp(method, "POST") == 0;
	if (*con_cls == NULL) {
		struct request *rq = xcalloc(1, sizeof *rq);
		rq->in = in;
		rq->conn = conn;
		*con_cls = rq;
		if (post_report && strcmp(method, "POST") == 0) {
			const char *cl =
			    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
			if (cl != NULL &&
			    strtoull(cl, NULL, 10) > (unsigned long long)in->relay->cfg->max_body) {
				/* Answer before reading a byte of the body. */
				rq->too_large = true;
				rq->state = REQ_ANSWERED;
				char msg[128];
				snprintf(msg, sizeof msg,
				         "nội dung lớn quá %ld byte / body larger than %ld bytes",
				         in->relay->cfg->max_body, in->relay->cfg->max_body);
				return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
				                  msg, 0);
			}
		}
		return MHD_YES;
	}
	struct request *rq = *con_cls;
	if (post_report && strcmp(method, "POST") == 0) {
		if (*upload_data_size > 0) {
			if (!rq->too_large &&
			    rq->len + *upload_data_size > (size_t)in->relay->cfg->max_body)
				rq->too_large = true;
			if (rq->too_large) {
				/* Refuse at once rather than read gigabytes. */
				rq->state = REQ_ANSWERED;
				*upload_data_size = 0;
				char msg[128];
				snprintf(msg, sizeof msg,
				         "nội dung lớn quá %ld byte / body larger than %ld bytes",
				         in->relay->cfg->max_body, in->relay->cfg->max_body);
				return send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
				                  msg, 0);
			}
			if (rq->len + *upload_data_size > rq->cap) {
				rq->cap = rq->len + *upload_data_size + 4096;
				rq->body = xrealloc(rq->body, rq->cap);
			}
			memcpy(rq->body + rq->len, upload_data, *upload_data_size);
			rq->len += *upload_data_size;
			*upload_data_size = 0;
			return MHD_YES;
		}
		switch (rq->state) {
		case REQ_READING:
			return process_report(rq);
		case REQ_DONE:
			return answer_committed(rq);
		case REQ_PENDING:
		case REQ_ANSWERED:
			return MHD_YES;
		}
	}
	if (strcmp(url, "/v1/ack") == 0 && strcmp(method, "POST") == 0) {
		if (*upload_data_size > 0) {
			*upload_data_size =
			    0; /* the form carries nothing the query string does not */
			return MHD_YES;
		}
		return get_ack_link(in, conn, true);
	}
	if (post_ack) {
		if (*upload_data_size > 0) {
			if (rq->len + *upload_data_size > 1024)
				rq->too_large = true;
			else {
				rq->body = xrealloc(rq->body, rq->len + *upload_data_size);
				memcpy(rq->body + rq->len, upload_data, *upload_data_size);
				rq->len += *upload_data_size;
			}
			*upload_data_size = 0;
			return MHD_YES;
		}
		return process_ack(rq);
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (post_report)
		return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method",
		                  "chỉ nhận POST / POST only", 0);
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		if (strcmp(url, "/healthz") == 0) {
			char *ok = xstrdup("{\"status\":\"ok\"}\n");
			return send_buffer(conn, MHD_HTTP_OK, "application/json", ok, strlen(ok),
			                   0);
		}
		if (strncmp(url, "/v1/reports/", 12) == 0)
			return get_report(in, conn, url);
		if (strcmp(url, "/v1/summary") == 0)
			return summary_http(in->relay, conn, url);
		if (strcmp(url, "/v1/dlr") == 0)
			return get_dlr(in, conn);
		if (strncmp(url, "/v1/incidents/", 14) == 0)
			return get_incident(in, conn, url);
		if (strcmp(url, "/v1/notifications") == 0)
			return get_notification(in, conn, url);
		if (strcmp(url, "/v1/ack") == 0)
			return get_ack_link(in, conn, false);
		if (strcmp(url, "/v1/sms-in") == 0)
			return get_sms_in(in, conn);
		if (strncmp(url, "/v1/log/", 8) == 0 && in->relay->logsync != NULL)
			return logsync_http(in->relay->logsync, conn, url);
		if (strncmp(url, "/log/", 5) == 0)
			return get_log_file(in, conn, url);
		return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "không có / not found", 0);
	}
	return send_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "không có / not found", 0);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct request *rq = *con_cls;
	if (rq == NULL)
		return;
	envelope_clear(&rq->env);
	report_clear(&rq->report);
	for (size_t i = 0; i < rq->job_count; i++) {
		free((char *)rq->jobs[i].recipient);
		free((char *)rq->jobs[i].address);
	}
	free(rq->jobs);
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

static void reader_destroy(void *p)
{
	store_reader_close(p);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char buf[512];
	vsnprintf(buf, sizeof buf, fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("http: %s", buf);
}

struct intake *intake_start(struct relay *relay, char *err, size_t errlen)
{
	char host[256];
	unsigned port;
	if (config_listen(relay->cfg, host, sizeof host, &port) != 0) {
		seterr(err, errlen, "listen: %s", relay->cfg->listen);
		return NULL;
	}
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &sa.sin_addr) !=
	    1) {
		seterr(err, errlen,
		       "listen: địa chỉ IPv4 không hợp lệ / invalid IPv4 address \"%s\"", host);
		return NULL;
	}
	struct intake *in = xcalloc(1, sizeof *in);
	in->relay = relay;
	pthread_key_create(&in->reader_key, reader_destroy);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	in->daemon = MHD_start_daemon(
	    flags, (uint16_t)port, NULL, NULL, handle, in, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)relay->cfg->threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)relay->cfg->connection_timeout,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)relay->cfg->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)relay->cfg->per_ip_connections,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, in, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, in,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
	if (in->daemon == NULL) {
		seterr(err, errlen, "không mở được cổng %s / cannot listen on %s",
		       relay->cfg->listen, relay->cfg->listen);
		pthread_key_delete(in->reader_key);
		free(in);
		return NULL;
	}
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(in->daemon, MHD_DAEMON_INFO_BIND_PORT);
	in->port = info ? info->port : port;
	return in;
}

unsigned intake_port(const struct intake *in)
{
	return in->port;
}

void intake_quiesce(struct intake *in)
{
	if (in == NULL)
		return;
	MHD_socket fd = MHD_quiesce_daemon(in->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	/* Connections already open keep posting: from now on they get 503, and the ones past the
	 * check have queued their report before this returns (so the committer may be stopped). */
	__atomic_store_n(&in->stopping, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&in->submitting, __ATOMIC_SEQ_CST) > 0)
		usleep(1000);
}

void intake_stop(struct intake *in)
{
	if (in == NULL)
		return;
	for (int i = 0; i < 500 && __atomic_load_n(&in->inflight, __ATOMIC_SEQ_CST) > 0; i++)
		usleep(10000);
	usleep(20000);
	MHD_stop_daemon(in->daemon);
	pthread_key_delete(in->reader_key);
	free(in);
}

void relay_registry_swap(struct relay *relay, struct registry *reg, struct routing *routing)
{
	pthread_rwlock_wrlock(&relay->registry_lock);
	struct registry *old = relay->registry;
	struct routing *old_routing = routing != NULL ? relay->routing : NULL;
	relay->registry = reg;
	if (routing != NULL)
		relay->routing = routing;
	pthread_rwlock_unlock(&relay->registry_lock);
	registry_free(old);
	routing_free(old_routing);
}
