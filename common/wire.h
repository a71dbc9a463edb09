/* wire.h: the signed envelope, the signed report inside it, the relay's receipt, request auth. */
#ifndef TBSC_WIRE_H
#define TBSC_WIRE_H

#include "keyfile.h"
#include "registry.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION       1
#define ENVELOPE_MAX_BYTES (64 * 1024)
#define WIRE_NONCE_BYTES   16
#define WIRE_SIG_BYTES     64
#define WIRE_HASH_BYTES    32
#define REPORT_ID_CHARS    32 /* hex of the first 16 bytes of the envelope hash */

struct envelope {
	char agency[AGENCY_ID_MAX + 1];
	uint8_t kid[KEY_ID_BYTES];
	uint64_t ts; /* Unix seconds at the client */
	uint8_t nonce[WIRE_NONCE_BYTES];
	uint8_t *body; /* sealed signed report, malloc'd */
	size_t body_len;
	uint8_t sig[WIRE_SIG_BYTES];
};

/* Strict decode of envelope bytes; no signature check. envelope_clear frees body. */
int envelope_decode(const uint8_t *buf, size_t len, struct envelope *env, char *err, size_t errlen);
void envelope_clear(struct envelope *env);
/* 0 when sig is agency key pk's signature over the envelope's signed bytes. */
int envelope_verify(const struct envelope *env, const uint8_t pk[KEY_PK_BYTES]);
/* SHA-256 of the signed bytes; the report id is hex of its first 16 bytes. */
void envelope_hash(const struct envelope *env, uint8_t hash[WIRE_HASH_BYTES]);
void report_id_from_hash(const uint8_t hash[WIRE_HASH_BYTES], char id[REPORT_ID_CHARS + 1]);

/*
 * Builds a complete envelope: signs report bytes as a signed report, seals it to the relay's
 * X25519 key, wraps it with a fresh nonce and timestamp ts, and signs the envelope.
 * *out is malloc'd (caller frees).
 */
int envelope_create(const struct keypair *kp, const char *agency, const uint8_t relay_xpk[32],
                    const uint8_t *report, size_t report_len, uint64_t ts, uint8_t **out,
                    size_t *outlen, char *err, size_t errlen);
/* Opens env->body with the relay's keypair; *plain is malloc'd (caller frees). */
int envelope_open(const struct envelope *env, const struct keypair *relay, uint8_t **plain,
                  size_t *plain_len, char *err, size_t errlen);

/* The agency-signed report: the part that travels end to end to every recipient. */
struct signed_report {
	char agency[AGENCY_ID_MAX + 1];
	uint8_t kid[KEY_ID_BYTES];
	const uint8_t *report; /* points into the buffer given to signed_report_decode */
	size_t report_len;
	uint8_t sig[WIRE_SIG_BYTES];
};
int signed_report_build(const struct keypair *kp, const char *agency, const uint8_t *report,
                        size_t report_len, uint8_t **out, size_t *outlen);
/* Strict decode; sr->report points into buf, which must outlive sr. */
int signed_report_decode(const uint8_t *buf, size_t len, struct signed_report *sr, char *err,
                         size_t errlen);
int signed_report_verify(const struct signed_report *sr, const uint8_t pk[KEY_PK_BYTES]);

/* The relay's signed receipt. */
struct receipt {
	char report_id[REPORT_ID_CHARS + 1];
	uint8_t hash[WIRE_HASH_BYTES];
	char agency[AGENCY_ID_MAX + 1];
	char incident_id[65];
	uint64_t received_ms;
	uint64_t log_index;
	uint8_t relay_kid[KEY_ID_BYTES];
	uint8_t sig[WIRE_SIG_BYTES];
};
void receipt_sign(struct receipt *rc, const struct keypair *relay);
int receipt_verify(const struct receipt *rc, const uint8_t relay_pk[KEY_PK_BYTES]);
int receipt_encode(const struct receipt *rc, uint8_t **out, size_t *outlen);
int receipt_decode(const uint8_t *buf, size_t len, struct receipt *rc, char *err, size_t errlen);

/*
 * Request authentication for GET /v1/...: the header value
 * "TBSC agency=<id>,kid=<hex>,ts=<unix s>,sig=<base64>" signs method, path and ts.
 */
char *request_auth_sign(const struct keypair *kp, const char *agency, const char *method,
                        const char *path, uint64_t ts);
struct request_auth {
	char agency[AGENCY_ID_MAX + 1];
	uint8_t kid[KEY_ID_BYTES];
	uint64_t ts;
	uint8_t sig[WIRE_SIG_BYTES];
};
int request_auth_parse(const char *header, struct request_auth *ra, char *err, size_t errlen);
int request_auth_verify(const struct request_auth *ra, const char *method, const char *path,
                        const uint8_t pk[KEY_PK_BYTES]);

/* A recipient's signed acknowledgement of one report (POST /v1/acks). */
struct ack {
	char agency[AGENCY_ID_MAX + 1]; /* the recipient's registry id (its key signs) */
	uint8_t kid[KEY_ID_BYTES];
	char report_id[REPORT_ID_CHARS + 1];
	char recipient[AGENCY_ID_MAX + 1]; /* the recipient id in the relay's routing */
	uint64_t ts;
	uint8_t sig[WIRE_SIG_BYTES];
};
void ack_sign(struct ack *a, const struct keypair *kp);
int ack_verify(const struct ack *a, const uint8_t pk[KEY_PK_BYTES]);
int ack_encode(const struct ack *a, uint8_t **out, size_t *outlen);
int ack_decode(const uint8_t *buf, size_t len, struct ack *a, char *err, size_t errlen);

#endif
