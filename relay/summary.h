/* summary.h: the Mẫu 05 periodic summary (TT 20/2017) from the store, as CSV and HTML, signed. */
#ifndef TBSC_SUMMARY_H
#define TBSC_SUMMARY_H

#include "keyfile.h"
#include "registry.h"
#include "report.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Rows: Mẫu 05's ten attack types in the form's order, then the three non-attack categories. */
#define SUMMARY_ATTACK_ROWS 10
#define SUMMARY_ROW_COUNT   13
#define SUMMARY_PERIOD_MAX  8 /* "2026H1" */
#define SUMMARY_NOTE_NAME   "tbsc-summary"

/* How a counted incident was handled: the latest closing report's `handling`, or why not known. */
enum summary_column {
	SUMMARY_IN_HOUSE,    /* Số sự cố tự xử lý */
	SUMMARY_OTHER_ORG,   /* ... có sự hỗ trợ xử lý từ các tổ chức khác */
	SUMMARY_FOREIGN_ORG, /* ... có hỗ trợ xử lý từ tổ chức nước ngoài */
	SUMMARY_COORDINATOR, /* ... đề nghị VNCERT hỗ trợ xử lý */
	SUMMARY_UNSTATED,    /* closed, but the closing report names no handling */
	SUMMARY_NOT_CLOSED,  /* no closing report yet */
	SUMMARY_COLUMN_COUNT
};

struct summary_row {
	const char *category;            /* report_categories[] key; static */
	const char *label_vi, *label_en; /* static */
	uint64_t count;                  /* incidents; the sum of by[] */
	uint64_t by[SUMMARY_COLUMN_COUNT];
	uint64_t loss;             /* Vietnamese đồng, summed over the closing reports */
	struct strlist supporters; /* distinct names, sorted bytewise */
};

struct summary_supporter {
	char *name;
	uint64_t incidents;
	bool foreign; /* named by an incident handled with foreign help (section 3 of the form) */
};

struct summary {
	char period[SUMMARY_PERIOD_MAX + 1]; /* "2026H1", "2026H2" or "2026" */
	char *scope;                         /* the agency or group filter, "*" for every agency */
	char *org_name;                      /* "Tên cơ quan/tổ chức" */
	int year, first_month, last_month;
	int64_t from_s, until_s; /* [from, until) in Unix seconds: the period in Asia/Ho_Chi_Minh */
	int64_t as_of_ms;        /* only reports received at or before this count */
	uint8_t relay_kid[KEY_ID_BYTES];
	struct summary_row rows[SUMMARY_ROW_COUNT];
	struct summary_row attack_total, other_total; /* "Tổng số" of rows 1-10, and of 11-13 */
	struct summary_supporter *supporters;         /* sorted by name */
	size_t supporter_count;
	uint64_t drills_excluded; /* drill incidents first seen in the period (not counted) */
	uint64_t unreadable; /* closing reports the relay could not open (counted as unstated) */
};

/* Parses "YYYYH1", "YYYYH2" or "YYYY" into its bounds in Unix seconds (UTC+7 midnights); 0 or -1.
 */
int summary_period(const char *period, int64_t *from_s, int64_t *until_s);

/*
 * Builds the summary of period from the store at store_path (opened read-only here), as of now:
 * every (agency, incident id) counted once, in the period by the time its first non-drill report
 * was received; drill reports ignored; category from the latest report; handling, loss and
 * supporters from the latest closing report. filter NULL counts every agency; otherwise the
 * agency with that id and every agency whose registry group it is. relay opens the envelopes,
 * reg gives names and groups (the caller holds it steady). *out is freed with summary_free.
 * 0, or -1 with the reason in err.
 */
int summary_build(const char *store_path, const struct keypair *relay, const struct registry *reg,
                  const char *period, const char *filter, struct summary **out, char *err,
                  size_t errlen);
/* The same, counting only reports received at or before as_of_ms (a reproducible snapshot). */
int summary_build_as_of(const char *store_path, const struct keypair *relay,
                        const struct registry *reg, const char *period, const char *filter,
                        int64_t as_of_ms, struct summary **out, char *err, size_t errlen);
void summary_free(struct summary *s);

/* CSV (UTF-8 with BOM, CRLF, RFC 4180; docs/summary.md lists the columns). *out malloc'd,
 * NUL-terminated. */
void summary_render_csv(const struct summary *s, char **out, size_t *len);
/* Reads the rows back from summary_render_csv's text (period, scope, rows; nothing else). */
int summary_parse_csv(const char *csv, size_t len, struct summary **out, char *err, size_t errlen);
/* The printable Mẫu 05 document from the HTML template at template_path. *out malloc'd. */
int summary_render_html(const struct summary *s, const char *template_path, char **out, size_t *len,
                        char *err, size_t errlen);
/* A plain-text table for a terminal. *out malloc'd. */
void summary_render_text(const struct summary *s, char **out);

/*
 * The detached signature: a C2SP signed note by the relay key under the name "tbsc-summary" whose
 * text names the period, scope, as-of time and the SHA-256 of the CSV and of the HTML
 * (docs/summary.md). *sig malloc'd.
 */
int summary_sign(const struct summary *s, const struct keypair *relay, const char *csv,
                 size_t csv_len, const char *html, size_t html_len, char **sig, size_t *sig_len,
                 char *err, size_t errlen);

struct summary_note {
	char period[SUMMARY_PERIOD_MAX + 1];
	char scope[REPORT_SHORT_MAX + 1];
	int64_t as_of_ms;
	uint8_t csv_sha256[32], html_sha256[32];
};
/*
 * Checks sig against the relay's public key and, when data is not NULL, that data is the output
 * named by format ("csv" or "html") it vouches for. note (may be NULL) receives what it says.
 * 0, or -1 with the reason (a bad signature, a malformed note, an edited file).
 */
int summary_verify(const char *sig, size_t sig_len, const uint8_t relay_pk[KEY_PK_BYTES],
                   const char *format, const uint8_t *data, size_t len, struct summary_note *note,
                   char *err, size_t errlen);

/*
 * 1 when a reminder is due at now_s: in the 7 days before a deadline (20 June 00:00 for the
 * 6-monthly report, 15 December 00:00 for the annual one, Asia/Ho_Chi_Minh) and last_sent_s (0
 * when never) is before that window opened. which receives the period to summarise ("2026H1",
 * "2026"). 0 otherwise.
 */
int summary_reminder_due(int64_t now_s, int64_t last_sent_s, char *which, size_t n);

/*
 * GET /v1/summary?period=P&format=csv|html|sig[&group=G][&as_of=MS], signed like GET
 * /v1/reports/{id} over that path and query, parameters in that order. A unit gets its own group
 * (or itself); national_centre, provincial_irt, provincial_police and auditor any group, or all.
 */
struct relay;
enum MHD_Result summary_http(struct relay *relay, struct MHD_Connection *conn, const char *url);

#endif
