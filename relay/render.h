/* render.h: what each recipient reads (email, SMS, webhook JSON), made from templates/. */
#ifndef TBSC_RENDER_H
#define TBSC_RENDER_H

#include "notify.h"
#include "report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Templates live in DIR/<language>/ (vi and en ship in templates/): email-subject.txt,
 * email-text.txt, sms.txt and labels.txt; templates/README.md lists the placeholders each one
 * may use. render_load reads them once; an unknown placeholder, a placeholder a template may
 * not use (the SMS template cannot name any report field), a subject not starting with
 * "[TBSC]" or a missing label is an error naming the file and line.
 */
struct renderer;

struct render_options {
	const char *language;            /* "vi" (the default when NULL) or "en" */
	bool sms_ucs2;                   /* SMS with diacritics (UCS-2) or không dấu (GSM-7) */
	const char *const *clear_fields; /* report_fields[].key values shown in clear */
	size_t clear_count;
	const char *agency_name;    /* the reporting agency's display name (registry) */
	const char *recipient_name; /* may be NULL */
	const char *verify_url;     /* the relay's public URL, may be NULL */
	const char *ack_url;        /* link that acknowledges this notification, may be NULL */
	const char
	    *ack_code; /* short code an SMS reply "ACK <code>" acknowledges with, may be NULL */
};

/* Loads DIR/<lang>/ for every language directory present; "vi" is required. Caller frees. */
struct renderer *render_load(const char *dir, char *err, size_t errlen);
void render_free(struct renderer *r);
/* True when language has templates loaded. */
bool render_has_language(const struct renderer *r, const char *language);
/* Checks a configured clear-field list (for relayd --check): every key a report field, or
 * kind/drill. */
int render_check_fields(const char *const *keys, size_t n, char *err, size_t errlen);

/*
 * What is in clear: the configured clear_fields, except that when the report's `confidential`
 * flag is set only the non-confidential ones (incident_id, category, severity) remain. Kind,
 * drill, category, severity, agency name, incident id and the report id are always shown.
 * Drills carry "DIỄN TẬP" in every output. All outputs are malloc'd (caller frees) and set
 * only on success; 0 or -1 with the reason in err.
 */

/* Subject: "[TBSC] ...", one line, no control characters; text: UTF-8, LF line ends. */
int render_email(const struct renderer *r, const struct report *rep, const struct notification *n,
                 const struct render_options *o, char **subject, char **text, char *err,
                 size_t errlen);

/*
 * SMS: never any report field beyond kind, category, severity, drill, agency name, incident id,
 * report id prefix and the SMS code of the notification bytes, whatever clear_fields says.
 * NFC-normalised; with o->sms_ucs2 false it is reduced to the GSM 03.38 alphabet (không dấu).
 * *segments is the number of SMS parts the text takes in that coding.
 */
int render_sms(const struct renderer *r, const struct report *rep, const struct notification *n,
               const struct render_options *o, const uint8_t *notification, size_t len, char **text,
               unsigned *segments, char *err, size_t errlen);

/*
 * Webhook body: {"type":"incident.report","timestamp":ISO-8601 received time,"data":{ids, kind,
 * drill, category, severity, labels, subject, "fields":{clear fields}, "notification":base64}}.
 * The body depends only on its inputs, so a retry sends the same bytes.
 */
int render_webhook(const struct renderer *r, const struct report *rep, const struct notification *n,
                   const struct render_options *o, const uint8_t *notification, size_t len,
                   char **json, char *err, size_t errlen);

/* SMS helpers (malloc'd results): NFC form; không dấu GSM-7 form; parts a text takes. */
char *render_nfc(const char *utf8);
char *render_gsm7(const char *utf8);
/* ucs2 false: GSM-7 (160 / 153 per part, extension characters count 2); a text with any character
 * outside GSM 03.38 counts as UCS-2. ucs2 true: 70 / 67 per part in UTF-16 units. */
unsigned render_sms_segments(const char *utf8, bool ucs2);

/* JSON string body for s (no quotes), escaped; control characters as \uXXXX. Malloc'd. */
char *render_json_escape(const char *s);

#endif
