/* notify.c: the relay-signed notification: sealing to a recipient, signing, strict decoding, codes.
 */
#include "notify.h"

#include "mpack.h"
#include "report.h"
#include "util.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char CTX_NOTIFICATION[] = "tbsc-notification-v1";
static const char CTX_SMS[] = "tbsc-sms-v1";

#define NOTIFY_VERSION 1
/* The sealed part is at most a whole envelope's worth of signed report plus the seal. */
#define NOTIFY_SEALED_MAX  (ENVELOPE_MAX_BYTES + crypto_box_SEALBYTES)
#define NOTIFY_BODY_MAX    (NOTIFY_SEALED_MAX + 1024)
#define NOTIFY_MAX_BYTES   (NOTIFY_BODY_MAX + 128)
#define WEBHOOK_HEADER_MAX 4096
#define WEBHOOK_ID_MAX     256

void notify_id(const char *report_id, const char *recipient, const char *channel,
               char nid[NOTIFY_ID_CHARS + 1])
{
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)report_id, strlen(report_id));
	crypto_hash_sha256_update(&st, (const uint8_t *)"/", 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)recipient, strlen(recipient));
	crypto_hash_sha256_update(&st, (const uint8_t *)"/", 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)channel, strlen(channel));
	crypto_hash_sha256_final(&st, h);
	hex_encode(nid, h, NOTIFY_ID_CHARS / 2);
}

/*
 * recipient_pk is the recipient's Ed25519 public key (its .pub file, its registry entry); the
 * seal goes to the X25519 key derived from it, the same derivation keypair.xpk uses.
 */
int notify_seal(struct notification *n, const uint8_t recipient_pk[KEY_PK_BYTES],
                const uint8_t *signed_report, size_t len, char *err, size_t errlen)
{
	uint8_t xpk[crypto_box_PUBLICKEYBYTES];
	if (len > ENVELOPE_MAX_BYTES)
		return seterr(err, errlen,
		              "báo cáo ký lớn quá %d byte / signed report larger than %d bytes",
		              ENVELOPE_MAX_BYTES, ENVELOPE_MAX_BYTES);
	if (crypto_sign_ed25519_pk_to_curve25519(xpk, recipient_pk) != 0)
		return seterr(
		    err, errlen,
		    "khóa công khai người nhận không hợp lệ / invalid recipient public key");
	return notify_seal_x25519(n, xpk, signed_report, len, err, errlen);
}

int notify_seal_x25519(struct notification *n, const uint8_t xpk[crypto_box_PUBLICKEYBYTES],
                       const uint8_t *signed_report, size_t len, char *err, size_t errlen)
{
	if (len > ENVELOPE_MAX_BYTES)
		return seterr(err, errlen,
		              "báo cáo ký lớn quá %d byte / signed report larger than %d bytes",
		              ENVELOPE_MAX_BYTES, ENVELOPE_MAX_BYTES);
	uint8_t *sealed = xmalloc(len + crypto_box_SEALBYTES);
	if (crypto_box_seal(sealed, signed_report, len, xpk) != 0) {
		free(sealed);
		return seterr(err, errlen, "không niêm phong được / sealing failed");
	}
	free(n->sealed);
	n->sealed = sealed;
	n->sealed_len = len + crypto_box_SEALBYTES;
	return 0;
}

static void pack_body(const struct notification *n, const uint8_t relay_kid[KEY_ID_BYTES],
                      msgpack_sbuffer *sb)
{
	msgpack_packer pk;
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 14);
	mpack_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, NOTIFY_VERSION);
	mpack_pack_str(&pk, "nid");
	mpack_pack_str(&pk, n->nid);
	mpack_pack_str(&pk, "report_id");
	mpack_pack_str(&pk, n->report_id);
	mpack_pack_str(&pk, "incident_id");
	mpack_pack_str(&pk, n->incident_id);
	mpack_pack_str(&pk, "agency");
	mpack_pack_str(&pk, n->agency);
	mpack_pack_str(&pk, "recipient");
	mpack_pack_str(&pk, n->recipient);
	mpack_pack_str(&pk, "channel");
	mpack_pack_str(&pk, n->channel);
	mpack_pack_str(&pk, "kind");
	mpack_pack_str(&pk, n->kind);
	mpack_pack_str(&pk, "drill");
	if (n->drill)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	mpack_pack_str(&pk, "received_ms");
	msgpack_pack_uint64(&pk, n->received_ms);
	mpack_pack_str(&pk, "log_index");
	msgpack_pack_uint64(&pk, n->log_index);
	mpack_pack_str(&pk, "report_hash");
	mpack_pack_bin(&pk, n->report_hash, WIRE_HASH_BYTES);
	mpack_pack_str(&pk, "relay_kid");
	mpack_pack_bin(&pk, relay_kid, KEY_ID_BYTES);
	mpack_pack_str(&pk, "sealed");
	mpack_pack_bin(&pk, n->sealed, n->sealed_len);
}

static void signed_bytes(const uint8_t *body, size_t len, uint8_t **out, size_t *outlen)
{
	size_t ctx = strlen(CTX_NOTIFICATION);
	uint8_t *b = xmalloc(ctx + len);
	memcpy(b, CTX_NOTIFICATION, ctx);
	if (len > 0)
		memcpy(b + ctx, body, len);
	*out = b;
	*outlen = ctx + len;
}

int notify_encode(const struct notification *n, const struct keypair *relay, uint8_t **out,
                  size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (n->sealed == NULL || n->sealed_len < crypto_box_SEALBYTES ||
	    n->sealed_len > NOTIFY_SEALED_MAX)
		return -1;
	msgpack_sbuffer body;
	msgpack_sbuffer_init(&body);
	pack_body(n, relay->kid, &body);
	uint8_t *msg;
	size_t msg_len;
	uint8_t sig[WIRE_SIG_BYTES];
	signed_bytes((const uint8_t *)body.data, body.size, &msg, &msg_len);
	crypto_sign_detached(sig, NULL, msg, msg_len, relay->sk);
	free(msg);

	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	mpack_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, NOTIFY_VERSION);
	mpack_pack_str(&pk, "body");
	mpack_pack_bin(&pk, (const uint8_t *)body.data, body.size);
	mpack_pack_str(&pk, "sig");
	mpack_pack_bin(&pk, sig, WIRE_SIG_BYTES);
	msgpack_sbuffer_destroy(&body);
	*out = (uint8_t *)sb.data;
	*outlen = sb.size;
	return 0;
}

static int check_version(const msgpack_object *map, const char *what, char *err, size_t errlen)
{
	uint64_t v = 0;
	if (mpack_get_uint(map, "v", true, UINT32_MAX, &v, err, errlen) != 0)
		return -1;
	if (v != NOTIFY_VERSION)
		return seterr(err, errlen,
		              "%s: phiên bản %llu không được hỗ trợ / unsupported version %llu",
		              what, (unsigned long long)v, (unsigned long long)v);
	return 0;
}

/* Copies a str member into a fixed buffer after checking its characters with ok(). */
static int get_fixed(const msgpack_object *map, const char *key, char *out, size_t cap,
                     bool (*ok)(const char *), char *err, size_t errlen)
{
	char *s = NULL;
	if (mpack_get_str(map, key, true, cap - 1, &s, err, errlen) != 0)
		return -1;
	if (!ok(s)) {
		free(s);
		return seterr(err, errlen, "%s: giá trị không hợp lệ / invalid value", key);
	}
	memcpy(out, s, strlen(s) + 1);
	free(s);
	return 0;
}

static bool lower_hex32(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}
static bool incident_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 64)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}
static bool channel_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 15 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}
static bool kind_ok(const char *s)
{
	return report_kind_from_name(s) >= 0;
}

/* Decodes the attestation body (already authenticated or not: the caller says which matters). */
static int body_decode(const uint8_t *buf, size_t len, struct notification *n,
                       uint8_t relay_kid[KEY_ID_BYTES], char *err, size_t errlen)
{
	static const char *const keys[] = {"v",         "nid",         "report_id", "incident_id",
	                                   "agency",    "recipient",   "channel",   "kind",
	                                   "drill",     "received_ms", "log_index", "report_hash",
	                                   "relay_kid", "sealed",      NULL};
	msgpack_zone zone;
	msgpack_object obj;
	const uint8_t *sealed = NULL;
	size_t sealed_len = 0;
	int rc = -1;
	msgpack_zone_init(&zone, 1024);
	if (mpack_decode(buf, len, 1, &zone, &obj, err, errlen) != 0 ||
	    mpack_map_check(&obj, keys, "notification body", err, errlen) != 0 ||
	    check_version(&obj, "body", err, errlen) != 0 ||
	    get_fixed(&obj, "nid", n->nid, sizeof n->nid, lower_hex32, err, errlen) != 0 ||
	    get_fixed(&obj, "report_id", n->report_id, sizeof n->report_id, lower_hex32, err,
	              errlen) != 0 ||
	    get_fixed(&obj, "incident_id", n->incident_id, sizeof n->incident_id, incident_ok, err,
	              errlen) != 0 ||
	    get_fixed(&obj, "agency", n->agency, sizeof n->agency, registry_id_valid, err,
	              errlen) != 0 ||
	    get_fixed(&obj, "recipient", n->recipient, sizeof n->recipient, registry_id_valid, err,
	              errlen) != 0 ||
	    get_fixed(&obj, "channel", n->channel, sizeof n->channel, channel_ok, err, errlen) !=
	        0 ||
	    get_fixed(&obj, "kind", n->kind, sizeof n->kind, kind_ok, err, errlen) != 0 ||
	    mpack_get_bool(&obj, "drill", true, &n->drill, err, errlen) != 0 ||
	    mpack_get_uint(&obj, "received_ms", true, UINT64_MAX, &n->received_ms, err, errlen) !=
	        0 ||
	    mpack_get_uint(&obj, "log_index", true, UINT64_MAX, &n->log_index, err, errlen) != 0 ||
	    mpack_get_bin(&obj, "report_hash", WIRE_HASH_BYTES, n->report_hash, err, errlen) != 0 ||
	    mpack_get_bin(&obj, "relay_kid", KEY_ID_BYTES, relay_kid, err, errlen) != 0 ||
	    mpack_get_bin_var(&obj, "sealed", NOTIFY_SEALED_MAX, &sealed, &sealed_len, err,
	                      errlen) != 0)
		goto cleanup;
	if (sealed_len < crypto_box_SEALBYTES) {
		seterr(err, errlen,
		       "sealed: quá ngắn để là hộp niêm phong / too short for a sealed box");
		goto cleanup;
	}
	char id[REPORT_ID_CHARS + 1], nid[NOTIFY_ID_CHARS + 1];
	report_id_from_hash(n->report_hash, id);
	if (strcmp(id, n->report_id) != 0) {
		seterr(err, errlen,
		       "report_id: không khớp với report_hash / does not match report_hash");
		goto cleanup;
	}
	notify_id(n->report_id, n->recipient, n->channel, nid);
	if (strcmp(nid, n->nid) != 0) {
		seterr(err, errlen,
		       "nid: không khớp với (báo cáo, người nhận, kênh) / does not match (report, "
		       "recipient, channel)");
		goto cleanup;
	}
	n->sealed = xmalloc(sealed_len);
	memcpy(n->sealed, sealed, sealed_len);
	n->sealed_len = sealed_len;
	rc = 0;
cleanup:
	msgpack_zone_destroy(&zone);
	return rc;
}

int notify_verify(const uint8_t *buf, size_t len, const uint8_t relay_pk[KEY_PK_BYTES],
                  struct notification *n, char *err, size_t errlen)
{
	static const char *const keys[] = {"v", "body", "sig", NULL};
	memset(n, 0, sizeof *n);
	if (len > NOTIFY_MAX_BYTES)
		return seterr(err, errlen,
		              "thông báo lớn quá %d byte / notification larger than %d bytes",
		              NOTIFY_MAX_BYTES, NOTIFY_MAX_BYTES);
	msgpack_zone zone;
	msgpack_object obj;
	const uint8_t *body = NULL;
	size_t body_len = 0;
	uint8_t sig[WIRE_SIG_BYTES];
	int rc = -1;
	msgpack_zone_init(&zone, 256);
	if (mpack_decode(buf, len, 1, &zone, &obj, err, errlen) != 0 ||
	    mpack_map_check(&obj, keys, "notification", err, errlen) != 0 ||
	    check_version(&obj, "notification", err, errlen) != 0 ||
	    mpack_get_bin_var(&obj, "body", NOTIFY_BODY_MAX, &body, &body_len, err, errlen) != 0 ||
	    mpack_get_bin(&obj, "sig", WIRE_SIG_BYTES, sig, err, errlen) != 0)
		goto cleanup;
	/* The signature comes first: nothing of the body is trusted or interpreted before it. */
	uint8_t *msg;
	size_t msg_len;
	signed_bytes(body, body_len, &msg, &msg_len);
	int bad = crypto_sign_verify_detached(sig, msg, msg_len, relay_pk);
	free(msg);
	if (bad) {
		/* Only to name the reason: a different relay key, or altered bytes. */
		struct notification tmp;
		uint8_t kid[KEY_ID_BYTES], want[KEY_ID_BYTES];
		char e2[8];
		memset(&tmp, 0, sizeof tmp);
		key_id(relay_pk, want);
		if (body_decode(body, body_len, &tmp, kid, e2, sizeof e2) == 0 &&
		    memcmp(kid, want, KEY_ID_BYTES) != 0) {
			char have_hex[2 * KEY_ID_BYTES + 1], want_hex[2 * KEY_ID_BYTES + 1];
			hex_encode(have_hex, kid, KEY_ID_BYTES);
			hex_encode(want_hex, want, KEY_ID_BYTES);
			seterr(err, errlen,
			       "chữ ký relay không hợp lệ: thông báo ký bằng khóa %s, không phải "
			       "khóa relay %s / "
			       "bad relay signature: signed by key %s, not the relay key %s",
			       have_hex, want_hex, have_hex, want_hex);
		} else {
			seterr(err, errlen,
			       "chữ ký relay không hợp lệ (thông báo đã bị sửa?) / "
			       "bad relay signature (notification altered?)");
		}
		notify_clear(&tmp);
		goto cleanup;
	}
	uint8_t kid[KEY_ID_BYTES], want[KEY_ID_BYTES];
	if (body_decode(body, body_len, n, kid, err, errlen) != 0)
		goto cleanup;
	key_id(relay_pk, want);
	if (memcmp(kid, want, KEY_ID_BYTES) != 0) {
		seterr(err, errlen, "relay_kid: không phải khóa relay / not the relay's key id");
		goto cleanup;
	}
	rc = 0;
cleanup:
	msgpack_zone_destroy(&zone);
	if (rc != 0)
		notify_clear(n);
	return rc;
}

void notify_clear(struct notification *n)
{
	if (n == NULL)
		return;
	free(n->sealed);
	memset(n, 0, sizeof *n);
}

int notify_open(const struct notification *n, const struct keypair *recipient, uint8_t **plain,
                size_t *plain_len, char *err, size_t errlen)
{
	*plain = NULL;
	*plain_len = 0;
	if (n->sealed == NULL || n->sealed_len < crypto_box_SEALBYTES)
		return seterr(err, errlen, "thông báo không có phần niêm phong / no sealed part");
	size_t len = n->sealed_len - crypto_box_SEALBYTES;
	uint8_t *p = xmalloc(len > 0 ? len : 1);
	if (crypto_box_seal_open(p, n->sealed, n->sealed_len, recipient->xpk, recipient->xsk) !=
	    0) {
		free(p);
		return seterr(err, errlen,
		              "không mở được phần niêm phong: không phải khóa của người nhận %s / "
		              "cannot open the sealed part: not the key of recipient %s",
		              n->recipient, n->recipient);
	}
	*plain = p;
	*plain_len = len;
	return 0;
}

void notify_sms_code(const uint8_t *notification, size_t len, char code[11])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	crypto_hash_sha256_state st;
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)CTX_SMS, strlen(CTX_SMS));
	crypto_hash_sha256_update(&st, notification, len);
	crypto_hash_sha256_final(&st, h);
	/* RFC 4648 base32 of the first 50 bits: ten 5-bit groups, most significant first. */
	uint64_t bits = 0;
	for (int i = 0; i < 7; i++)
		bits = bits << 8 | h[i];
	for (int i = 0; i < 10; i++)
		code[i] = alphabet[(bits >> (56 - 5 * (i + 1))) & 31];
	code[10] = '\0';
}

static bool webhook_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > WEBHOOK_ID_MAX)
		return false;
	for (; *id; id++)
		if (*id == '.' || (unsigned char)*id <= ' ' || (unsigned char)*id >= 0x7f)
			return false;
	return true;
}

static uint8_t *webhook_message(const char *id, const char *timestamp, const char *body,
                                size_t body_len, size_t *len)
{
	size_t il = strlen(id), tl = strlen(timestamp);
	uint8_t *m = xmalloc(il + tl + 2 + body_len + 1);
	memcpy(m, id, il);
	m[il] = '.';
	memcpy(m + il + 1, timestamp, tl);
	m[il + 1 + tl] = '.';
	if (body_len > 0)
		memcpy(m + il + tl + 2, body, body_len);
	*len = il + tl + 2 + body_len;
	return m;
}

char *webhook_signature(const struct keypair *relay, const char *id, int64_t timestamp,
                        const char *body, size_t body_len)
{
	char ts[32];
	if (!webhook_id_ok(id))
		return NULL;
	snprintf(ts, sizeof ts, "%lld", (long long)timestamp);
	size_t len;
	uint8_t *m = webhook_message(id, ts, body, body_len, &len);
	uint8_t sig[crypto_sign_BYTES];
	crypto_sign_detached(sig, NULL, m, len, relay->sk);
	free(m);
	char *b64 = b64_encode(sig, sizeof sig);
	char *h = xasprintf("v1a,%s", b64);
	free(b64);
	return h;
}

int webhook_verify(const uint8_t pk[KEY_PK_BYTES], const char *id, const char *timestamp,
                   const char *body, size_t body_len, const char *header)
{
	if (id == NULL || timestamp == NULL || header == NULL || !webhook_id_ok(id))
		return -1;
	size_t tl = strlen(timestamp);
	if (tl == 0 || tl > 20 || strspn(timestamp, "0123456789") != tl)
		return -1;
	size_t hl = strlen(header);
	if (hl > WEBHOOK_HEADER_MAX)
		return -1;
	size_t len;
	uint8_t *m = webhook_message(id, timestamp, body, body_len, &len);
	int rc = -1;
	const char *p = header;
	while (*p != '\0' && rc != 0) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n > 4 && memcmp(p, "v1a,", 4) == 0) {
			uint8_t sig[crypto_sign_BYTES + 3];
			if (b64_decode(sig, sizeof sig, p + 4, n - 4) == crypto_sign_BYTES &&
			    crypto_sign_verify_detached(sig, m, len, pk) == 0)
				rc = 0;
		}
		p += n;
	}
	free(m);
	return rc;
}
