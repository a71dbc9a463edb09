/* wire.c: signing, sealing and strict codecs for envelopes, signed reports and receipts. */
#include "wire.h"

#include "mpack.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char CTX_ENVELOPE[] = "tbsc-envelope-v1";
static const char CTX_REPORT[] = "tbsc-report-v1";
static const char CTX_RECEIPT[] = "tbsc-receipt-v1";
static const char CTX_REQUEST[] = "tbsc-request-v1";
static const char CTX_ACK[] = "tbsc-ack-v1";

/* A small append-only byte buffer for the exact bytes each signature covers. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};
static void bytes_put(struct bytes *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}
static void bytes_u8str(struct bytes *b, const char *s)
{
	uint8_t n = (uint8_t)strlen(s);
	bytes_put(b, &n, 1);
	bytes_put(b, s, n);
}
static void bytes_u64(struct bytes *b, uint64_t v)
{
	uint8_t x[8];
	for (int i = 7; i >= 0; i--) {
		x[i] = (uint8_t)v;
		v >>= 8;
	}
	bytes_put(b, x, 8);
}
static void bytes_u32(struct bytes *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	bytes_put(b, x, 4);
}

static void envelope_signed_bytes(const struct envelope *env, struct bytes *b)
{
	bytes_put(b, CTX_ENVELOPE, strlen(CTX_ENVELOPE));
	bytes_u8str(b, env->agency);
	bytes_put(b, env->kid, KEY_ID_BYTES);
	bytes_u64(b, env->ts);
	bytes_put(b, env->nonce, WIRE_NONCE_BYTES);
	bytes_u32(b, (uint32_t)env->body_len);
	bytes_put(b, env->body, env->body_len);
}

static int get_agency(const msgpack_object *map, const char *key, char out[AGENCY_ID_MAX + 1],
                      char *err, size_t errlen)
{
	char *s = NULL;
	if (mpack_get_str(map, key, true, AGENCY_ID_MAX, &s, err, errlen) != 0)
		return -1;
	if (!registry_id_valid(s)) {
		free(s);
		return seterr(err, errlen, "%s: mã đơn vị không hợp lệ / invalid agency id", key);
	}
	strcpy(out, s);
	free(s);
	return 0;
}

static int check_version(const msgpack_object *map, char *err, size_t errlen)
{
	uint64_t v = 0;
	if (mpack_get_uint(map, "v", true, UINT32_MAX, &v, err, errlen) != 0)
		return -1;
	if (v != WIRE_VERSION)
		return seterr(err, errlen,
		              "v: phiên bản %llu không được hỗ trợ / unsupported version %llu",
		              (unsigned long long)v, (unsigned long long)v);
	return 0;
}

int envelope_decode(const uint8_t *buf, size_t len, struct envelope *env, char *err, size_t errlen)
{
	static const char *const keys[] = {"v",     "agency", "kid", "ts",
	                                   "nonce", "body",   "sig", NULL};
	memset(env, 0, sizeof *env);
	if (len > ENVELOPE_MAX_BYTES)
		return seterr(err, errlen,
		              "phong bì lớn quá %d byte / envelope larger than %d bytes",
		              ENVELOPE_MAX_BYTES, ENVELOPE_MAX_BYTES);
	msgpack_zone zone;
	msgpack_object obj;
	const uint8_t *body;
	size_t body_len;
	int rc = -1;
	msgpack_zone_init(&zone, 512);
	if (mpack_decode(buf, len, 1, &zone, &obj, err, errlen) != 0 ||
	    mpack_map_check(&obj, keys, "envelope", err, errlen) != 0 ||
	    check_version(&obj, err, errlen) != 0 ||
	    get_agency(&obj, "agency", env->agency, err, errlen) != 0 ||
	    mpack_get_bin(&obj, "kid", KEY_ID_BYTES, env->kid, err, errlen) != 0 ||
	    mpack_get_uint(&obj, "ts", true, UINT64_MAX, &env->ts, err, errlen) != 0 ||
	    mpack_get_bin(&obj, "nonce", WIRE_NONCE_BYTES, env->nonce, err, errlen) != 0 ||
	    mpack_get_bin_var(&obj, "body", ENVELOPE_MAX_BYTES, &body, &body_len, err, errlen) !=
	        0 ||
	    mpack_get_bin(&obj, "sig", WIRE_SIG_BYTES, env->sig, err, errlen) != 0)
		goto cleanup;
	if (body_len < crypto_box_SEALBYTES) {
		seterr(err, errlen,
		       "body: quá ngắn để là hộp niêm phong / too short for a sealed box");
		goto cleanup;
	}
	env->body = xmalloc(body_len);
	memcpy(env->body, body, body_len);
	env->body_len = body_len;
	rc = 0;
cleanup:
	msgpack_zone_destroy(&zone);
	return rc;
}

void envelope_clear(struct envelope *env)
{
	if (env == NULL)
		return;
	free(env->body);
	memset(env, 0, sizeof *env);
}

int envelope_verify(const struct envelope *env, const uint8_t pk[KEY_PK_BYTES])
{
	struct bytes b = {0};
	envelope_signed_bytes(env, &b);
	int rc = crypto_sign_verify_detached(env->sig, b.p, b.len, pk);
	free(b.p);
	return rc == 0 ? 0 : -1;
}

void envelope_hash(const struct envelope *env, uint8_t hash[WIRE_HASH_BYTES])
{
	struct bytes b = {0};
	envelope_signed_bytes(env, &b);
	crypto_hash_sha256(hash, b.p, b.len);
	free(b.p);
}

void report_id_from_hash(const uint8_t hash[WIRE_HASH_BYTES], char id[REPORT_ID_CHARS + 1])
{
	hex_encode(id, hash, REPORT_ID_CHARS / 2);
}

static void signed_report_bytes(const char *agency, const uint8_t kid[KEY_ID_BYTES],
                                const uint8_t *report, size_t len, struct bytes *b)
{
	bytes_put(b, CTX_REPORT, strlen(CTX_REPORT));
	bytes_u8str(b, agency);
	bytes_put(b, kid, KEY_ID_BYTES);
	bytes_u32(b, (uint32_t)len);
	bytes_put(b, report, len);
}

int signed_report_build(const struct keypair *kp, const char *agency, const uint8_t *report,
                        size_t report_len, uint8_t **out, size_t *outlen)
{
	struct bytes b = {0};
	uint8_t sig[WIRE_SIG_BYTES];
	signed_report_bytes(agency, kp->kid, report, report_len, &b);
	crypto_sign_detached(sig, NULL, b.p, b.len, kp->sk);
	free(b.p);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 5);
	mpack_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, WIRE_VERSION);
	mpack_pack_str(&pk, "agency");
	mpack_pack_str(&pk, agency);
	mpack_pack_str(&pk, "kid");
	mpack_pack_bin(&pk, kp->kid, KEY_ID_BYTES);
	mpack_pack_str(&pk, "report");
	mpack_pack_bin(&pk, report, report_len);
	mpack_pack_str(&pk, "sig");
	mpack_pack_bin(&pk, sig, WIRE_SIG_BYTES);
	*out = (uint8_t *)sb.data;
	*outlen = sb.size;
	return 0;
}

int signed_report_decode(const uint8_t *buf, size_t len, struct signed_report *sr, char *err,
                         size_t errlen)
{
	static const char *const keys[] = {"v", "agency", "kid", "report", "sig", NULL};
	memset(sr, 0, sizeof *sr);
	msgpack_zone zone;
	msgpack_object obj;
	const uint8_t *rep;
	int rc = -1;
	msgpack_zone_init(&zone, 512);
	if (mpack_decode(buf, len, 1, &zone, &obj, err, errlen) != 0 ||
	    mpack_map_check(&obj, keys, "signed report", err, errlen) != 0 ||
	    check_version(&obj, err, errlen) != 0 ||
	    get_agency(&obj, "agency", sr->agency, err, errlen) != 0 ||
	    mpack_get_bin(&obj, "kid", KEY_ID_BYTES, sr->kid, err, errlen) != 0 ||
	    mpack_get_bin_var(&obj, "report", ENVELOPE_MAX_BYTES, &rep, &sr->report_len, err,
	                      errlen) != 0 ||
	    mpack_get_bin(&obj, "sig", WIRE_SIG_BYTES, sr->sig, err, errlen) != 0)
		goto cleanup;
	/* The zone copies nothing for bin: the pointer is into buf, so it stays valid. */
	sr->report = rep;
	rc = 0;
cleanup:
	msgpack_zone_destroy(&zone);
	return rc;
}

int signed_report_verify(const struct signed_report *sr, const uint8_t pk[KEY_PK_BYTES])
{
	struct bytes b = {0};
	signed_report_bytes(sr->agency, sr->kid, sr->report, sr->report_len, &b);
	int rc = crypto_sign_verify_detached(sr->sig, b.p, b.len, pk);
	free(b.p);
	return rc == 0 ? 0 : -1;
}

static uint8_t *envelope_encode(const struct envelope *env, size_t *outlen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 7);
	mpack_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, WIRE_VERSION);
	mpack_pack_str(&pk, "agency");
	mpack_pack_str(&pk, env->agency);
	mpack_pack_str(&pk, "kid");
	mpack_pack_bin(&pk, env->kid, KEY_ID_BYTES);
	mpack_pack_str(&pk, "ts");
	msgpack_pack_uint64(&pk, env->ts);
	mpack_pack_str(&pk, "nonce");
	mpack_pack_bin(&pk, env->nonce, WIRE_NONCE_BYTES);
	mpack_pack_str(&pk, "body");
	mpack_pack_bin(&pk, env->body, env->body_len);
	mpack_pack_str(&pk, "sig");
	mpack_pack_bin(&pk, env->sig, WIRE_SIG_BYTES);
	*outlen = sb.size;
	return (uint8_t *)sb.data;
}

int envelope_create(const struct keypair *kp, const char *agency, const uint8_t relay_xpk[32],
                    const uint8_t *report, size_t report_len, uint64_t ts, uint8_t **out,
                    size_t *outlen, char *err, size_t errlen)
{
	if (!registry_id_valid(agency))
		return seterr(err, errlen, "mã đơn vị không hợp lệ / invalid agency id");
	uint8_t *signed_report = NULL;
	size_t sr_len = 0;
	signed_report_build(kp, agency, report, report_len, &signed_report, &sr_len);
	struct envelope env;
	memset(&env, 0, sizeof env);
	snprintf(env.agency, sizeof env.agency, "%s", agency);
	memcpy(env.kid, kp->kid, KEY_ID_BYTES);
	env.ts = ts;
	randombytes_buf(env.nonce, WIRE_NONCE_BYTES);
	env.body_len = sr_len + crypto_box_SEALBYTES;
	env.body = xmalloc(env.body_len);
	crypto_box_seal(env.body, signed_report, sr_len, relay_xpk);
	sodium_memzero(signed_report, sr_len);
	free(signed_report);
	struct bytes b = {0};
	envelope_signed_bytes(&env, &b);
	crypto_sign_detached(env.sig, NULL, b.p, b.len, kp->sk);
	free(b.p);
	*out = envelope_encode(&env, outlen);
	envelope_clear(&env);
	if (*outlen > ENVELOPE_MAX_BYTES) {
		free(*out);
		*out = NULL;
		return seterr(err, errlen,
		              "phong bì lớn quá %d byte / envelope larger than %d bytes",
		              ENVELOPE_MAX_BYTES, ENVELOPE_MAX_BYTES);
	}
	return 0;
}

int envelope_open(const struct envelope *env, const struct keypair *relay, uint8_t **plain,
                  size_t *plain_len, char *err, size_t errlen)
{
	size_t n = env->body_len - crypto_box_SEALBYTES;
	uint8_t *p = xmalloc(n);
	if (crypto_box_seal_open(p, env->body, env->body_len, relay->xpk, relay->xsk) != 0) {
		free(p);
		return seterr(err, errlen,
		              "không mở được nội dung niêm phong (sai khóa relay?) / cannot open "
		              "the sealed body (wrong relay key?)");
	}
	*plain = p;
	*plain_len = n;
	return 0;
}

static void receipt_signed_bytes(const struct receipt *rc, struct bytes *b)
{
	bytes_put(b, CTX_RECEIPT, strlen(CTX_RECEIPT));
	bytes_put(b, rc->hash, WIRE_HASH_BYTES);
	bytes_u8str(b, rc->agency);
	bytes_u8str(b, rc->incident_id);
	bytes_u64(b, rc->received_ms);
	bytes_u64(b, rc->log_index);
}

void receipt_sign(struct receipt *rc, const struct keypair *relay)
{
	struct bytes b = {0};
	report_id_from_hash(rc->hash, rc->report_id);
	memcpy(rc->relay_kid, relay->kid, KEY_ID_BYTES);
	receipt_signed_bytes(rc, &b);
	crypto_sign_detached(rc->sig, NULL, b.p, b.len, relay->sk);
	free(b.p);
}

int receipt_verify(const struct receipt *rc, const uint8_t relay_pk[KEY_PK_BYTES])
{
	char id[REPORT_ID_CHARS + 1];
	uint8_t kid[KEY_ID_BYTES];
	report_id_from_hash(rc->hash, id);
	key_id(relay_pk, kid);
	if (strcmp(id, rc->report_id) != 0 || memcmp(kid, rc->relay_kid, KEY_ID_BYTES) != 0)
		return -1;
	struct bytes b = {0};
	receipt_signed_bytes(rc, &b);
	int r = crypto_sign_verify_detached(rc->sig, b.p, b.len, relay_pk);
	free(b.p);
	return r == 0 ? 0 : -1;
}

int receipt_encode(const struct receipt *rc, uint8_t **out, size_t *outlen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 9);
	mpack_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, WIRE_VERSION);
	mpack_pack_str(&pk, "report_id");
	mpack_pack_str(&pk, rc->report_id);
	mpack_pack_str(&pk, "hash");
	mpack_pack_bin(&pk, rc->hash, WIRE_HASH_BYTES);
	mpack_pack_str(&pk, "agency");
	mpack_pack_str(&pk, rc->agency);
	mpack_pack_str(&pk, "incident_id");
	mpack_pack_str(&pk, rc->incident_id);
	mpack_pack_str(&pk, "received_ms");
	msgpack_pack_uint64(&pk, rc->received_ms);
	mpack_pack_str(&pk, "log_index");
	msgpack_pack_uint64(&pk, rc->log_index);
	mpack_pack_str(&pk, "relay_kid");
	mpack_pack_bin(&pk, rc->relay_kid, KEY_ID_BYTES);
	mpack_pack_str(&pk, "sig");
	mpack_pack_bin(&pk, rc->sig, WIRE_SIG_BYTES);
	*out = (uint8_t *)sb.data;
	*outlen = sb.size;
	return 0;
}

int receipt_decode(const uint8_t *buf, size_t len, struct receipt *rc, char *err, size_t errlen)
{
	static const char *const keys[] = {"v",           "report_id",   "hash",      "agency",
	                                   "incident_id", "received_ms", "log_index", "relay_kid",
	                                   "sig",         NULL};
	memset(rc, 0, sizeof *rc);
	msgpack_zone zone;
	msgpack_object obj;
	char *id = NULL, *inc = NULL;
	int r = -1;
	msgpack_zone_init(&zone, 512);
	if (len > 4096) {
		seterr(err, errlen, "biên nhận quá lớn / receipt too large");
		goto cleanup;
	}
	if (mpack_decode(buf, len, 1, &zone, &obj, err, errlen) != 0 ||
	    mpack_map_check(&obj, keys, "receipt", err, errlen) != 0 ||
	    check_version(&obj, err, errlen) != 0 ||
	    mpack_get_str(&obj, "report_id", true, REPORT_ID_CHARS, &id, err, errlen) != 0 ||
	    mpack_get_bin(&obj, "hash", WIRE_HASH_BYTES, rc->hash, err, errlen) != 0 ||
	    get_agency(&obj, "agency", rc->agency, err, errlen) != 0 ||
	    mpack_get_str(&obj, "incident_id", true, 64, &inc, err, errlen) != 0 ||
	    mpack_get_uint(&obj, "received_ms", true, UINT64_MAX, &rc->received_ms, err, errlen) !=
	        0 ||
	    mpack_get_uint(&obj, "log_index", true, UINT64_MAX, &rc->log_index, err, errlen) != 0 ||
	    mpack_get_bin(&obj, "relay_kid", KEY_ID_BYTES, rc->relay_kid, err, errlen) != 0 ||
	    mpack_get_bin(&obj, "sig", WIRE_SIG_BYTES, rc->sig, err, errlen) != 0)
		goto cleanup;
	snprintf(rc->report_id, sizeof rc->report_id, "%s", id);
	snprintf(rc->incident_id, sizeof rc->incident_id, "%s", inc);
	r = 0;
cleanup:
	free(id);
	free(inc);
	msgpack_zone_destroy(&zone);
	return r;
}

static void request_bytes(const char *agency, const uint8_t kid[KEY_ID_BYTES], const char *method,
                          const char *path, uint64_t ts, struct bytes *b)
{
	bytes_put(b, CTX_REQUEST, strlen(CTX_REQUEST));
	bytes_u8str(b, agency);
	bytes_put(b, kid, KEY_ID_BYTES);
	bytes_u8str(b, method);
	bytes_u32(b, (uint32_t)strlen(path));
	bytes_put(b, path, strlen(path));
	bytes_u64(b, ts);
}

char *request_auth_sign(const struct keypair *kp, const char *agency, const char *method,
                        const char *path, uint64_t ts)
{
	struct bytes b = {0};
	uint8_t sig[WIRE_SIG_BYTES];
	char kid[2 * KEY_ID_BYTES + 1];
	request_bytes(agency, kp->kid, method, path, ts, &b);
	crypto_sign_detached(sig, NULL, b.p, b.len, kp->sk);
	free(b.p);
	hex_encode(kid, kp->kid, KEY_ID_BYTES);
	char *s64 = b64_encode(sig, sizeof sig);
	char *h = xasprintf("TBSC agency=%s,kid=%s,ts=%llu,sig=%s", agency, kid,
	                    (unsigned long long)ts, s64);
	free(s64);
	return h;
}

int request_auth_parse(const char *header, struct request_auth *ra, char *err, size_t errlen)
{
	char agency[AGENCY_ID_MAX + 2], kid[32], sig[128];
	unsigned long long ts;
	int used = 0;
	memset(ra, 0, sizeof *ra);
	if (strlen(header) > 400 ||
	    sscanf(header, "TBSC agency=%65[^,],kid=%17[0-9a-f],ts=%llu,sig=%100[A-Za-z0-9+/=]%n",
	           agency, kid, &ts, sig, &used) != 4 ||
	    header[used] != '\0')
		return seterr(err, errlen, "Authorization: định dạng sai / malformed header");
	if (!registry_id_valid(agency) || hex_decode(ra->kid, KEY_ID_BYTES, kid) != 0 ||
	    b64_decode(ra->sig, sizeof ra->sig, sig, strlen(sig)) != WIRE_SIG_BYTES)
		return seterr(err, errlen, "Authorization: giá trị sai / malformed value");
	memcpy(ra->agency, agency, strlen(agency) + 1);
	ra->ts = ts;
	return 0;
}

int request_auth_verify(const struct request_auth *ra, const char *method, const char *path,
                        const uint8_t pk[KEY_PK_BYTES])
{
	struct bytes b = {0};
	request_bytes(ra->agency, ra->kid, method, path, ra->ts, &b);
	int r = crypto_sign_verify_detached(ra->sig, b.p, b.len, pk);
	free(b.p);
	return r == 0 ? 0 : -1;
}

static void ack_bytes(const struct ack *a, struct bytes *b)
{
	bytes_put(b, CTX_ACK, strlen(CTX_ACK));
	bytes_u8str(b, a->agency);
	bytes_put(b, a->kid, KEY_ID_BYTES);
	bytes_u8str(b, a->report_id);
	bytes_u8str(b, a->recipient);
	bytes_u64(b, a->ts);
}

void ack_sign(struct ack *a, const struct keypair *kp)
{
	struct bytes b = {0};
	memcpy(a->kid, kp->kid, KEY_ID_BYTES);
	ack_bytes(a, &b);
	crypto_sign_detached(a->sig, NULL, b.p, b.len, kp->sk);
	free(b.p);
}

int ack_verify(const struct ack *a, const uint8_t pk[KEY_PK_BYTES])
{
	struct bytes b = {0};
	ack_bytes(a, &b);
	int r = crypto_sign_verify_detached(a->sig, b.p, b.len, pk);
	free(b.p);
	return r == 0 ? 0 : -1;
}

int ack_encode(const struct ack *a, uint8_t **out, size_t *outlen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 7);
	mpack_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, WIRE_VERSION);
	mpack_pack_str(&pk, "agency");
	mpack_pack_str(&pk, a->agency);
	mpack_pack_str(&pk, "kid");
	mpack_pack_bin(&pk, a->kid, KEY_ID_BYTES);
	mpack_pack_str(&pk, "report_id");
	mpack_pack_str(&pk, a->report_id);
	mpack_pack_str(&pk, "recipient");
	mpack_pack_str(&pk, a->recipient);
	mpack_pack_str(&pk, "ts");
	msgpack_pack_uint64(&pk, a->ts);
	mpack_pack_str(&pk, "sig");
	mpack_pack_bin(&pk, a->sig, WIRE_SIG_BYTES);
	*out = (uint8_t *)sb.data;
	*outlen = sb.size;
	return 0;
}

int ack_decode(const uint8_t *buf, size_t len, struct ack *a, char *err, size_t errlen)
{
	static const char *const keys[] = {"v",         "agency", "kid", "report_id",
	                                   "recipient", "ts",     "sig", NULL};
	memset(a, 0, sizeof *a);
	msgpack_zone zone;
	msgpack_object obj;
	char *id = NULL;
	int r = -1;
	msgpack_zone_init(&zone, 512);
	if (len > 1024) {
		seterr(err, errlen, "xác nhận quá lớn / acknowledgement too large");
		goto cleanup;
	}
	if (mpack_decode(buf, len, 1, &zone, &obj, err, errlen) != 0 ||
	    mpack_map_check(&obj, keys, "ack", err, errlen) != 0 ||
	    check_version(&obj, err, errlen) != 0 ||
	    get_agency(&obj, "agency", a->agency, err, errlen) != 0 ||
	    mpack_get_bin(&obj, "kid", KEY_ID_BYTES, a->kid, err, errlen) != 0 ||
	    mpack_get_str(&obj, "report_id", true, REPORT_ID_CHARS, &id, err, errlen) != 0 ||
	    get_agency(&obj, "recipient", a->recipient, err, errlen) != 0 ||
	    mpack_get_uint(&obj, "ts", true, UINT64_MAX, &a->ts, err, errlen) != 0 ||
	    mpack_get_bin(&obj, "sig", WIRE_SIG_BYTES, a->sig, err, errlen) != 0)
		goto cleanup;
	if (strlen(id) != REPORT_ID_CHARS || strspn(id, "0123456789abcdef") != REPORT_ID_CHARS) {
		seterr(err, errlen, "report_id: cần 32 ký tự hex / must be 32 hex characters");
		goto cleanup;
	}
	memcpy(a->report_id, id, REPORT_ID_CHARS + 1);
	r = 0;
cleanup:
	free(id);
	msgpack_zone_destroy(&zone);
	return r;
}
