/* report.h: the incident report (forms Mẫu 03 / Mẫu 04, report kinds) and its msgpack codec. */
#ifndef TBSC_REPORT_H
#define TBSC_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPORT_VERSION   1
#define REPORT_MAX_BYTES (48 * 1024)
#define REPORT_TEXT_MAX  8192
#define REPORT_SHORT_MAX 256
#define REPORT_LIST_MAX  32

enum report_kind {
	REPORT_NOTIFICATION,
	REPORT_INITIAL,
	REPORT_UPDATE,
	REPORT_RESPONSE_PLAN,
	REPORT_SUPPORT_REQUEST,
	REPORT_CLOSING,
	REPORT_KIND_COUNT
};

struct strlist {
	char **items;
	size_t count;
};

/* Every text field is a malloc'd NUL-terminated UTF-8 string or NULL when absent. */
struct report {
	enum report_kind kind;
	char *incident_id;
	bool drill;
	char *category;    /* one of report_categories[] */
	char *severity;    /* "normal" | "serious" */
	uint64_t created;  /* time the report was made, Unix seconds */
	uint64_t detected; /* time the incident was detected, Unix seconds */
	char *reporter_name, *reporter_address, *reporter_phone, *reporter_email;
	char *contact_name, *contact_position, *contact_phone, *contact_email;
	char *operator_name, *owner, *system_name;
	uint64_t level; /* security level 1..5, 0 unknown */
	char *security_provider, *isp, *os, *purpose;
	struct strlist services, controls, ips, domains, attachments, notified;
	char *status; /* "handled" | "not_handled" */
	char *detection_method, *detection_detail;
	bool confidential;
	char *description, *measures, *recommendations;
	char *initial_ref;
	uint64_t initial_date;
	char *result;
	uint64_t response_ended;
	/* Mẫu 05 columns, carried by the closing report */
	char *handling;          /* in_house | other_org | foreign_org | coordinator */
	uint64_t estimated_loss; /* Vietnamese đồng */
	struct strlist supporters;
};

/* Field descriptor, public so the client can build forms and options from it. */
enum report_field_type { RF_STR, RF_TEXT, RF_TIME, RF_UINT, RF_BOOL, RF_LIST, RF_ENUM };
struct report_field {
	const char *key;
	enum report_field_type type;
	size_t offset;
	unsigned required_mask;     /* bit k set: required for kind k */
	const char *const *choices; /* RF_ENUM and RF_LIST of enums */
	const char *label_vi;
	const char *label_en;
};
extern const struct report_field report_fields[];
extern const size_t report_field_count;

extern const char *const report_kind_names[REPORT_KIND_COUNT];
extern const char *const report_kind_labels_vi[REPORT_KIND_COUNT];
extern const char *const report_categories[];

/* Kind from its wire name; -1 when unknown. */
int report_kind_from_name(const char *name);

/* Zero a report before use; report_clear frees every field and zeroes it again. */
void report_init(struct report *r);
void report_clear(struct report *r);

/* Sets one field from its text form (times: Unix seconds or YYYY-MM-DD[THH:MM], lists
 * comma-separated). */
int report_set(struct report *r, const char *key, const char *value, char *err, size_t errlen);

/* Checks kinds, enums, required fields per kind and formats; 0 or -1 with the reason. */
int report_validate(const struct report *r, char *err, size_t errlen);

/* Canonical msgpack encoding; returns malloc'd bytes (caller frees). Validates first. */
int report_encode(const struct report *r, uint8_t **out, size_t *outlen, char *err, size_t errlen);

/* Strict decoding and validation; on success r owns its strings (report_clear frees them). */
int report_decode(const uint8_t *buf, size_t len, struct report *r, char *err, size_t errlen);

#endif
