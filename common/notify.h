/* notify.h: the relay-signed notification each recipient receives, and what is derived from it. */
#ifndef TBSC_NOTIFY_H
#define TBSC_NOTIFY_H

#include "keyfile.h"
#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_ID_CHARS 32

/*
 * The attestation the relay signs for one (report, recipient, channel). The agency-signed report
 * (struct signed_report bytes, as the agency sent them) travels sealed to the recipient's X25519
 * key.
 */
struct notification {
	char nid[NOTIFY_ID_CHARS +
	         1]; /* hex of the first 16 bytes of SHA-256(report_id "/" recipient "/" channel) */
	char report_id[REPORT_ID_CHARS + 1];
	char incident_id[65];
	char agency[AGENCY_ID_MAX + 1];    /* reporting agency */
	char recipient[AGENCY_ID_MAX + 1]; /* registry id of the recipient */
	char channel[16];
	char kind[32];
	bool drill;
	uint64_t received_ms;
	uint64_t log_index;
	uint8_t report_hash[WIRE_HASH_BYTES]; /* the envelope hash the receipt names */
	uint8_t *sealed; /* crypto_box_seal(signed report, recipient xpk), malloc'd */
	size_t sealed_len;
};

/* The notification id for (report, recipient, channel). */
void notify_id(const char *report_id, const char *recipient, const char *channel,
               char nid[NOTIFY_ID_CHARS + 1]);

/* As notify_seal, to the recipient's X25519 key (crypto_sign_ed25519_pk_to_curve25519 of its
 * Ed25519 key, which costs as much as the sealing: callers sealing often convert once). */
int notify_seal_x25519(struct notification *n, const uint8_t xpk[32], const uint8_t *signed_report,
                       size_t len, char *err, size_t errlen);
/* Seals signed_report to recipient_pk and fills n->sealed. */
int notify_seal(struct notification *n, const uint8_t recipient_pk[KEY_PK_BYTES],
                const uint8_t *signed_report, size_t len, char *err, size_t errlen);

/* Encodes and signs: {"v":1,"body":bin(msgpack attestation),"sig":bin64}, sig over
 * "tbsc-notification-v1" || body. *out malloc'd. */
int notify_encode(const struct notification *n, const struct keypair *relay, uint8_t **out,
                  size_t *outlen);
/* Strict decode + signature check against relay_pk; n->sealed malloc'd (notify_clear). 0 valid, -1
 * not. */
int notify_verify(const uint8_t *buf, size_t len, const uint8_t relay_pk[KEY_PK_BYTES],
                  struct notification *n, char *err, size_t errlen);
void notify_clear(struct notification *n);

/* Opens n->sealed with the recipient's keypair; *plain (signed report bytes) malloc'd. */
int notify_open(const struct notification *n, const struct keypair *recipient, uint8_t **plain,
                size_t *plain_len, char *err, size_t errlen);

/* The short code an SMS carries: 10 characters of base32 of SHA-256("tbsc-sms-v1" || notification
 * bytes). */
void notify_sms_code(const uint8_t *notification, size_t len, char code[11]);

/* Standard Webhooks v1a: base64 Ed25519 signature over "{id}.{timestamp}.{body}" -> "v1a,<b64>"
 * (malloc'd). */
char *webhook_signature(const struct keypair *relay, const char *id, int64_t timestamp,
                        const char *body, size_t body_len);
/* 0 when any space-separated v1a entry in header verifies under pk. */
int webhook_verify(const uint8_t pk[KEY_PK_BYTES], const char *id, const char *timestamp,
                   const char *body, size_t body_len, const char *header);

#endif
