/* recipient.h: what `incident verify`, `open` and `serve` share: finding, checking, opening
 * notifications. */
#ifndef TBSC_RECIPIENT_H
#define TBSC_RECIPIENT_H

#include "notify.h"
#include "registry.h"
#include "report.h"
#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RECIPIENT_NOTIFICATION_MAX (256 * 1024)
#define RECIPIENT_EMAIL_MAX        (8 * 1024 * 1024)
#define RECIPIENT_WEBHOOK_MAX      (1024 * 1024)

/*
 * The signed notification attached to an email (RFC 5322 / MIME): the one part whose file name
 * ends in ".tbsc" or whose type is application/vnd.tbsc.notification, base64, quoted-printable
 * or raw. *out malloc'd. 0, or -1 with the reason.
 */
int mime_notification(const char *msg, size_t len, uint8_t **out, size_t *outlen, char *err,
                      size_t errlen);

/*
 * A string member of the webhook body's "data" object, after checking that the whole body is
 * well-formed JSON (bounded depth, valid UTF-8 escapes). *out malloc'd; -1 when absent or not a
 * string.
 */
int webhook_data_string(const char *json, size_t len, const char *member, char **out, char *err,
                        size_t errlen);
/* The notification carried by a webhook body (data.notification, base64). *out malloc'd. */
int webhook_notification(const char *json, size_t len, uint8_t **out, size_t *outlen, char *err,
                         size_t errlen);
/* Checks that the body's clear ids (data.notification_id, report_id, incident_id) are n's. */
int webhook_matches(const char *json, size_t len, const struct notification *n, char *err,
                    size_t errlen);

/* True when text holds code as a word (case-insensitive); *found gets the first code-like word. */
bool sms_text_has_code(const char *text, const char code[11], char found[11]);

/* Where a notification comes from: exactly one of the three paths; webhook headers optional. */
struct recipient_input {
	const char *notification_path; /* the .tbsc file itself */
	const char *email_path;        /* a saved message (.eml) with the .tbsc attachment */
	const char *webhook_body_path; /* a webhook body as received */
	const char *webhook_id, *webhook_timestamp, *webhook_signature; /* all three, or none */
};

/*
 * Reads the notification from its source and checks it: the v1a signature over the exact body
 * when webhook headers are given, the relay's signature, and that the clear ids around it (the
 * webhook-id, the body's data ids) name the same notification. Returns 0 valid (n filled, *bytes
 * the notification bytes, malloc'd), 1 not valid, 2 the input cannot be read; reason in err.
 */
int recipient_check(const struct recipient_input *in, const uint8_t relay_pk[KEY_PK_BYTES],
                    struct notification *n, uint8_t **bytes, size_t *len, char *err, size_t errlen);

/* An opened notification: the agency-signed report, checked end to end. */
struct opened_report {
	uint8_t *plain; /* the signed report bytes, malloc'd */
	size_t plain_len;
	struct signed_report sr; /* points into plain */
	struct report rep;
	char agency_name[256];
};

/*
 * Opens n with the recipient's keypair, verifies the agency's signature on the report with the
 * key reg names for it at the relay's received time, decodes the report and checks that it is
 * the report n attests (agency, incident, kind, drill). 0; -1 when it cannot be opened with this
 * key; -2 when the opened report is not the agency's or not the one attested. The reason is in
 * err; opened_report_clear frees out either way.
 */
int recipient_open(const struct notification *n, const struct keypair *key,
                   const struct registry *reg, struct opened_report *out, char *err, size_t errlen);
void opened_report_clear(struct opened_report *o);

/* "YYYY-MM-DD HH:MM:SS (UTC+07:00)" for Unix seconds, in Asia/Ho_Chi_Minh. */
void recipient_local_time(uint64_t secs, char *buf, size_t len);
/* "  label   value" with the value column aligned for Vietnamese labels. */
void recipient_print_row(FILE *f, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* What the relay's signature attests, one labelled line each (Vietnamese / English). */
void recipient_print_attestation(FILE *f, const struct notification *n);
/* The report, every field present, labels from report_fields[]; drills marked DIỄN TẬP. */
void recipient_print_report(FILE *f, const struct report *rep, const char *agency_name);

#endif
