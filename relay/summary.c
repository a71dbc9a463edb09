/* summary.c: the Mẫu 05 summary: counted from the store, rendered as CSV, HTML and text, signed. */
#include "summary.h"

#include "note.h"
#include "relay.h"
#include "util.h"
#include "wire.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TZ_OFFSET_S        (7 * 3600) /* Asia/Ho_Chi_Minh: UTC+7, no daylight saving */
#define DAY_S              86400
#define REMINDER_LEAD_S    (7 * DAY_S)
#define TEMPLATE_MAX_BYTES (256 * 1024)
#define NOTE_HEADER        "tbsc-summary-v1"

/* The rows: Mẫu 05's labels exactly as TT 20/2017 Phụ lục I prints them, then the non-attack
 * categories. */
static const struct {
	const char *category, *vi, *en;
} row_defs[SUMMARY_ROW_COUNT] = {
    {"dos", "Từ chối dịch vụ", "Denial of service"},
    {"phishing", "Tấn công giả mạo", "Spoofing / phishing"},
    {"malware", "Tấn công sử dụng mã độc", "Malware"},
    {"intrusion", "Truy cập trái phép, chiếm quyền điều khiển", "Unauthorised access, takeover"},
    {"defacement", "Thay đổi giao diện", "Defacement"},
    {"ransomware", "Mã hóa phần mềm, dữ liệu, thiết bị", "Encryption of software, data, devices"},
    {"destruction", "Phá hoại thông tin, dữ liệu, phần mềm",
     "Destruction of information, data, software"},
    {"espionage", "Nghe trộm, gián điệp, lấy cắp thông tin, dữ liệu",
     "Eavesdropping, espionage, data theft"},
    {"combined", "Tấn công tổng hợp sử dụng kết hợp nhiều hình thức", "Combined attack"},
    {"other_attack", "Các hình thức tấn công khác", "Other forms of attack"},
    {"system_fault", "Lỗi hệ thống, thiết bị, phần mềm, hạ tầng",
     "System, equipment, software or infrastructure fault"},
    {"operator_error", "Lỗi của người quản trị, vận hành", "Administrator or operator error"},
    {"natural_disaster", "Thảm họa tự nhiên", "Natural disaster"},
};

static const char *const column_keys[SUMMARY_COLUMN_COUNT] = {
    "in_house", "other_org", "foreign_org", "coordinator", "unstated", "not_closed"};

static const char CSV_HEADER[] =
    "period,scope,row,category,label_vi,label_en,count,in_house,other_org,"
    "foreign_org,coordinator,unstated,not_closed,estimated_loss_vnd,supporters";
static const char UTF8_BOM[] = "\xef\xbb\xbf";

/* ---- periods and clocks ------------------------------------------------------------------- */

/* Unix seconds of 00:00 local time (UTC+7) on year-month-day. */
static int64_t local_midnight(int year, int month, int day)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	return (int64_t)timegm(&tm) - TZ_OFFSET_S;
}

static int period_fields(const char *period, int *year, int *first_month, int *last_month)
{
	if (period == NULL)
		return -1;
	size_t n = strlen(period);
	if ((n != 4 && n != 6) || strspn(period, "0123456789") != 4)
		return -1;
	char y4[5];
	memcpy(y4, period, 4);
	y4[4] = '\0';
	int y = atoi(y4);
	if (y < 1970 || y > 9998)
		return -1;
	if (n == 4) {
		*first_month = 1;
		*last_month = 12;
	} else if (strcmp(period + 4, "H1") == 0) {
		*first_month = 1;
		*last_month = 6;
	} else if (strcmp(period + 4, "H2") == 0) {
		*first_month = 7;
		*last_month = 12;
	} else {
		return -1;
	}
	*year = y;
	return 0;
}

int summary_period(const char *period, int64_t *from_s, int64_t *until_s)
{
	int year, first, last;
	if (period_fields(period, &year, &first, &last) != 0)
		return -1;
	*from_s = local_midnight(year, first, 1);
	*until_s = last == 12 ? local_midnight(year + 1, 1, 1) : local_midnight(year, last + 1, 1);
	return 0;
}

/* "dd/mm/yyyy HH:MM" in UTC+7. */
static void local_time_text(int64_t unix_s, char *out, size_t n)
{
	time_t t = (time_t)(unix_s + TZ_OFFSET_S);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, "%d/%m/%Y %H:%M", &tm);
}

int summary_reminder_due(int64_t now_s, int64_t last_sent_s, char *which, size_t n)
{
	time_t t = (time_t)(now_s + TZ_OFFSET_S);
	struct tm tm;
	gmtime_r(&t, &tm);
	int year = tm.tm_year + 1900;
	/* Each deadline, the period its report covers, and the window that opens a week before. */
	const struct {
		int month, day;
		const char *suffix;
	} deadlines[] = {{6, 20, "H1"}, {12, 15, ""}};
	for (size_t i = 0; i < sizeof deadlines / sizeof deadlines[0]; i++) {
		int64_t deadline = local_midnight(year, deadlines[i].month, deadlines[i].day);
		int64_t opens = deadline - REMINDER_LEAD_S;
		if (now_s >= opens && now_s < deadline && last_sent_s < opens) {
			if (which != NULL && n > 0)
				snprintf(which, n, "%d%s", year, deadlines[i].suffix);
			return 1;
		}
	}
	return 0;
}

/* ---- small helpers ------------------------------------------------------------------------ */

static void names_add(struct strlist *l, const char *name)
{
	for (size_t i = 0; i < l->count; i++)
		if (strcmp(l->items[i], name) == 0)
			return;
	l->items = xrealloc(l->items, (l->count + 1) * sizeof *l->items);
	l->items[l->count++] = xstrdup(name);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_sort(struct strlist *l)
{
	if (l->count > 1)
		qsort(l->items, l->count, sizeof *l->items, cmp_names);
}

static void names_free(struct strlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

static int cmp_supporters(const void *a, const void *b)
{
	const struct summary_supporter *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c != 0 ? c : (int)x->foreign - (int)y->foreign;
}

static void supporter_add(struct summary *s, const char *name, bool foreign)
{
	for (size_t i = 0; i < s->supporter_count; i++)
		if (s->supporters[i].foreign == foreign &&
		    strcmp(s->supporters[i].name, name) == 0) {
			s->supporters[i].incidents++;
			return;
		}
	s->supporters = xrealloc(s->supporters, (s->supporter_count + 1) * sizeof *s->supporters);
	s->supporters[s->supporter_count++] = (struct summary_supporter){xstrdup(name), 1, foreign};
}

static int add_loss(uint64_t *sum, uint64_t loss, char *err, size_t errlen)
{
	if (*sum > UINT64_MAX - loss)
		return seterr(err, errlen,
		              "tổng thiệt hại vượt giới hạn / the loss total overflows");
	*sum += loss;
	return 0;
}

static void row_add(struct summary_row *total, const struct summary_row *r)
{
	total->count += r->count;
	for (int c = 0; c < SUMMARY_COLUMN_COUNT; c++)
		total->by[c] += r->by[c];
	total->loss += r->loss; /* cannot overflow: each row was summed from the same losses */
	for (size_t i = 0; i < r->supporters.count; i++)
		names_add(&total->supporters, r->supporters.items[i]);
}

static int row_index(const char *category)
{
	for (int i = 0; i < SUMMARY_ROW_COUNT; i++)
		if (strcmp(row_defs[i].category, category) == 0)
			return i;
	return -1;
}

static struct summary *summary_new(void)
{
	struct summary *s = xcalloc(1, sizeof *s);
	for (int i = 0; i < SUMMARY_ROW_COUNT; i++) {
		s->rows[i].category = row_defs[i].category;
		s->rows[i].label_vi = row_defs[i].vi;
		s->rows[i].label_en = row_defs[i].en;
	}
	s->attack_total.category = "attack_total";
	s->attack_total.label_vi = "Tổng số";
	s->attack_total.label_en = "Total";
	s->other_total.category = "non_attack_total";
	s->other_total.label_vi = "Tổng số sự cố không do tấn công";
	s->other_total.label_en = "Total, incidents not caused by an attack";
	return s;
}

void summary_free(struct summary *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < SUMMARY_ROW_COUNT; i++)
		names_free(&s->rows[i].supporters);
	names_free(&s->attack_total.supporters);
	names_free(&s->other_total.supporters);
	for (size_t i = 0; i < s->supporter_count; i++)
		free(s->supporters[i].name);
	free(s->supporters);
	free(s->scope);
	free(s->org_name);
	free(s);
}

/* ---- scope: which agencies count ---------------------------------------------------------- */

static bool in_scope(const struct registry *reg, const char *filter, const char *agency)
{
	if (filter == NULL || strcmp(agency, filter) == 0)
		return true;
	const struct agency *a = registry_find(reg, agency);
	return a != NULL && a->group != NULL && strcmp(a->group, filter) == 0;
}

/* The group's commune office names a group; an agency names itself. */
static char *scope_name(const struct registry *reg, const char *filter)
{
	if (filter == NULL)
		return xstrdup(
		    "Các đơn vị báo cáo qua relay / every agency reporting through the relay");
	const struct agency *member = NULL;
	for (size_t i = 0; i < reg->count; i++) {
		const struct agency *a = &reg->agencies[i];
		if (a->group == NULL || strcmp(a->group, filter) != 0)
			continue;
		if (strcmp(a->role, "commune_office") == 0)
			return xstrdup(a->name);
		if (member == NULL)
			member = a;
	}
	if (member == NULL) {
		const struct agency *a = registry_find(reg, filter);
		if (a != NULL)
			return xstrdup(a->name);
	}
	return xasprintf("Các đơn vị thuộc %s / agencies of %s", filter, filter);
}

/* ---- counting ----------------------------------------------------------------------------- */

/* What the latest closing report of an incident says; -1 when it cannot be opened. */
static int read_closing(const uint8_t *bytes, size_t len, const struct keypair *relay,
                        const char *agency, const char *incident, struct report *rep)
{
	char err[ERRBUF_MAX];
	struct envelope env;
	struct signed_report sr;
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	int rc = -1;
	memset(&env, 0, sizeof env);
	if (envelope_decode(bytes, len, &env, err, sizeof err) == 0 &&
	    envelope_open(&env, relay, &plain, &plain_len, err, sizeof err) == 0 &&
	    signed_report_decode(plain, plain_len, &sr, err, sizeof err) == 0 &&
	    strcmp(sr.agency, agency) == 0 &&
	    report_decode(sr.report, sr.report_len, rep, err, sizeof err) == 0 &&
	    rep->kind == REPORT_CLOSING)
		rc = 0;
	else
		log_warn("summary: the closing report of %s/%s cannot be read: %s", agency,
		         incident, err);
	if (plain != NULL) {
		sodium_memzero(plain, plain_len);
		free(plain);
	}
	envelope_clear(&env);
	return rc;
}

/* One incident, once all its reports have been seen. */
struct incident {
	char agency[AGENCY_ID_MAX + 1];
	char id[65];
	char category[32];
	uint8_t *closing;
	size_t closing_len;
	bool open; /* a group is being gathered */
	bool wanted;
};

static int incident_count(struct summary *s, struct incident *inc, const struct keypair *relay,
                          char *err, size_t errlen)
{
	int i = row_index(inc->category);
	if (i < 0)
		return seterr(
		    err, errlen,
		    "sự cố %s: loại \"%s\" không có trong Mẫu 05 / category not in the summary",
		    inc->id, inc->category);
	struct summary_row *row = &s->rows[i];
	row->count++;
	if (inc->closing == NULL) {
		row->by[SUMMARY_NOT_CLOSED]++;
		return 0;
	}
	struct report rep;
	report_init(&rep);
	int rc = 0;
	if (read_closing(inc->closing, inc->closing_len, relay, inc->agency, inc->id, &rep) != 0) {
		s->unreadable++;
		row->by[SUMMARY_UNSTATED]++;
		goto out;
	}
	int column = SUMMARY_UNSTATED;
	for (int c = 0; c < SUMMARY_UNSTATED; c++)
		if (rep.handling != NULL && strcmp(rep.handling, column_keys[c]) == 0)
			column = c;
	row->by[column]++;
	if ((rc = add_loss(&row->loss, rep.estimated_loss, err, errlen)) != 0)
		goto out;
	for (size_t k = 0; k < rep.supporters.count; k++) {
		const char *name = rep.supporters.items[k];
		size_t len = strlen(name);
		while (len > 0 && isspace((unsigned char)name[len - 1]))
			len--;
		while (len > 0 && isspace((unsigned char)*name)) {
			name++;
			len--;
		}
		if (len == 0)
			continue;
		char *trimmed = xmalloc(len + 1);
		memcpy(trimmed, name, len);
		trimmed[len] = '\0';
		names_add(&row->supporters, trimmed);
		supporter_add(s, trimmed, column == SUMMARY_FOREIGN_ORG);
		free(trimmed);
	}
out:
	report_clear(&rep);
	return rc;
}

static void incident_reset(struct incident *inc)
{
	free(inc->closing);
	memset(inc, 0, sizeof *inc);
}

static int sql_fail(sqlite3 *db, char *err, size_t errlen)
{
	return seterr(err, errlen, "sqlite: %s", db ? sqlite3_errmsg(db) : "out of memory");
}

/* Every non-drill report of the incidents first seen in the period, grouped by incident, oldest
 * first. */
static const char INCIDENTS_SQL[] =
    "WITH first AS (SELECT agency, incident_id FROM reports WHERE drill=0 AND received_ms<=?1"
    " GROUP BY agency, incident_id HAVING MIN(received_ms)>=?2 AND MIN(received_ms)<?3)"
    " SELECT r.agency, r.incident_id, r.kind, r.category, CASE WHEN r.kind='closing' THEN "
    "r.envelope END"
    " FROM reports r JOIN first f ON r.agency=f.agency AND r.incident_id=f.incident_id"
    " WHERE r.drill=0 AND r.received_ms<=?1 ORDER BY r.agency, r.incident_id, r.received_ms, "
    "r.log_index";
static const char DRILLS_SQL[] =
    "SELECT agency FROM reports WHERE drill=1 AND received_ms<=?1"
    " GROUP BY agency, incident_id HAVING MIN(received_ms)>=?2 AND MIN(received_ms)<?3";

static int count_incidents(struct summary *s, sqlite3 *db, const struct keypair *relay,
                           const struct registry *reg, const char *filter, char *err, size_t errlen)
{
	sqlite3_stmt *q = NULL;
	struct incident inc;
	memset(&inc, 0, sizeof inc);
	int rc = -1, step;
	if (sqlite3_prepare_v2(db, INCIDENTS_SQL, -1, &q, NULL) != SQLITE_OK) {
		sql_fail(db, err, errlen);
		goto out;
	}
	sqlite3_bind_int64(q, 1, s->as_of_ms);
	sqlite3_bind_int64(q, 2, s->from_s * 1000);
	sqlite3_bind_int64(q, 3, s->until_s * 1000);
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		const char *agency = (const char *)sqlite3_column_text(q, 0);
		const char *id = (const char *)sqlite3_column_text(q, 1);
		const char *kind = (const char *)sqlite3_column_text(q, 2);
		const char *category = (const char *)sqlite3_column_text(q, 3);
		if (agency == NULL || id == NULL || kind == NULL || category == NULL)
			continue;
		if (!inc.open || strcmp(inc.agency, agency) != 0 || strcmp(inc.id, id) != 0) {
			if (inc.open && inc.wanted &&
			    incident_count(s, &inc, relay, err, errlen) != 0)
				goto out;
			incident_reset(&inc);
			inc.open = true;
			snprintf(inc.agency, sizeof inc.agency, "%s", agency);
			snprintf(inc.id, sizeof inc.id, "%s", id);
			inc.wanted = in_scope(reg, filter, agency);
		}
		if (!inc.wanted)
			continue;
		/* Classification firms up during the response: the latest report's category counts.
		 */
		snprintf(inc.category, sizeof inc.category, "%s", category);
		if (strcmp(kind, "closing") == 0 && sqlite3_column_type(q, 4) == SQLITE_BLOB) {
			free(inc.closing);
			inc.closing_len = (size_t)sqlite3_column_bytes(q, 4);
			inc.closing = xmalloc(inc.closing_len ? inc.closing_len : 1);
			memcpy(inc.closing, sqlite3_column_blob(q, 4), inc.closing_len);
		}
	}
	if (step != SQLITE_DONE) {
		sql_fail(db, err, errlen);
		goto out;
	}
	if (inc.open && inc.wanted && incident_count(s, &inc, relay, err, errlen) != 0)
		goto out;
	sqlite3_finalize(q);
	if (sqlite3_prepare_v2(db, DRILLS_SQL, -1, &q, NULL) != SQLITE_OK) {
		q = NULL;
		sql_fail(db, err, errlen);
		goto out;
	}
	sqlite3_bind_int64(q, 1, s->as_of_ms);
	sqlite3_bind_int64(q, 2, s->from_s * 1000);
	sqlite3_bind_int64(q, 3, s->until_s * 1000);
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		const char *agency = (const char *)sqlite3_column_text(q, 0);
		if (agency != NULL && in_scope(reg, filter, agency))
			s->drills_excluded++;
	}
	if (step != SQLITE_DONE) {
		sql_fail(db, err, errlen);
		goto out;
	}
	rc = 0;
out:
	incident_reset(&inc);
	sqlite3_finalize(q);
	return rc;
}

int summary_build_as_of(const char *store_path, const struct keypair *relay,
                        const struct registry *reg, const char *period, const char *filter,
                        int64_t as_of_ms, struct summary **out, char *err, size_t errlen)
{
	*out = NULL;
	struct summary *s = summary_new();
	sqlite3 *db = NULL;
	int rc = -1;
	if (period_fields(period, &s->year, &s->first_month, &s->last_month) != 0) {
		seterr(err, errlen,
		       "kỳ báo cáo phải là YYYYH1, YYYYH2 hoặc YYYY / the period is YYYYH1, YYYYH2 "
		       "or YYYY");
		goto out;
	}
	if (filter != NULL && (filter[0] == '\0' || strlen(filter) > REPORT_SHORT_MAX ||
	                       strpbrk(filter, "\r\n") != NULL)) {
		seterr(err, errlen, "phạm vi không hợp lệ / invalid scope");
		goto out;
	}
	summary_period(period, &s->from_s, &s->until_s);
	snprintf(s->period, sizeof s->period, "%s", period);
	s->scope = xstrdup(filter ? filter : "*");
	s->org_name = scope_name(reg, filter);
	s->as_of_ms = as_of_ms;
	memcpy(s->relay_kid, relay->kid, KEY_ID_BYTES);
	if (sqlite3_open_v2(store_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		seterr(err, errlen, "%s: không mở được kho / cannot open the store: %s", store_path,
		       db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	/* One read transaction: every query sees the same snapshot. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		sql_fail(db, err, errlen);
		goto out;
	}
	if (count_incidents(s, db, relay, reg, filter, err, errlen) != 0)
		goto out;
	for (int i = 0; i < SUMMARY_ROW_COUNT; i++) {
		names_sort(&s->rows[i].supporters);
		row_add(i < SUMMARY_ATTACK_ROWS ? &s->attack_total : &s->other_total, &s->rows[i]);
	}
	names_sort(&s->attack_total.supporters);
	names_sort(&s->other_total.supporters);
	if (s->supporter_count > 0)
		qsort(s->supporters, s->supporter_count, sizeof *s->supporters, cmp_supporters);
	*out = s;
	s = NULL;
	rc = 0;
out:
	if (db != NULL) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	summary_free(s);
	return rc;
}

int summary_build(const char *store_path, const struct keypair *relay, const struct registry *reg,
                  const char *period, const char *filter, struct summary **out, char *err,
                  size_t errlen)
{
	return summary_build_as_of(store_path, relay, reg, period, filter, now_ms(), out, err,
	                           errlen);
}

/* ---- CSV ---------------------------------------------------------------------------------- */

/* One RFC 4180 field; a leading = + - @ gets a ' so that a spreadsheet never runs it as a formula.
 */
static void csv_field(FILE *f, const char *s, bool last)
{
	bool quote = strpbrk(s, ",\"\r\n") != NULL;
	bool formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
	if (quote)
		fputc('"', f);
	if (formula)
		fputc('\'', f);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	if (quote)
		fputc('"', f);
	fputs(last ? "\r\n" : ",", f);
}

static void csv_row(FILE *f, const struct summary *s, const char *number,
                    const struct summary_row *r)
{
	char n[32];
	csv_field(f, s->period, false);
	csv_field(f, s->scope, false);
	csv_field(f, number, false);
	csv_field(f, r->category, false);
	csv_field(f, r->label_vi, false);
	csv_field(f, r->label_en, false);
	snprintf(n, sizeof n, "%llu", (unsigned long long)r->count);
	csv_field(f, n, false);
	for (int c = 0; c < SUMMARY_COLUMN_COUNT; c++) {
		snprintf(n, sizeof n, "%llu", (unsigned long long)r->by[c]);
		csv_field(f, n, false);
	}
	snprintf(n, sizeof n, "%llu", (unsigned long long)r->loss);
	csv_field(f, n, false);
	char *joined = NULL;
	size_t jlen = 0;
	FILE *j = open_memstream(&joined, &jlen);
	if (j == NULL)
		fatal("open_memstream");
	for (size_t i = 0; i < r->supporters.count; i++)
		fprintf(j, "%s%s", i ? "; " : "", r->supporters.items[i]);
	fclose(j);
	csv_field(f, joined, true);
	free(joined);
}

void summary_render_csv(const struct summary *s, char **out, size_t *len)
{
	FILE *f = open_memstream(out, len);
	if (f == NULL)
		fatal("open_memstream");
	fprintf(f, "%s%s\r\n", UTF8_BOM, CSV_HEADER);
	for (int i = 0; i < SUMMARY_ROW_COUNT; i++) {
		char number[16];
		snprintf(number, sizeof number, "%d", i + 1);
		csv_row(f, s, number, &s->rows[i]);
		if (i == SUMMARY_ATTACK_ROWS - 1)
			csv_row(f, s, "total", &s->attack_total);
	}
	csv_row(f, s, "total_non_attack", &s->other_total);
	fclose(f);
}

#define CSV_COLUMNS 15

/* Splits one CSV record starting at *p into at most CSV_COLUMNS malloc'd fields; -1 when malformed.
 */
static int csv_record(const char **p, const char *end, char **fields, size_t *count)
{
	*count = 0;
	for (;;) {
		if (*count == CSV_COLUMNS)
			return -1;
		char *buf = NULL;
		size_t blen = 0;
		FILE *f = open_memstream(&buf, &blen);
		if (f == NULL)
			fatal("open_memstream");
		const char *q = *p;
		if (q < end && *q == '"') {
			q++;
			for (;;) {
				if (q >= end) {
					fclose(f);
					free(buf);
					return -1;
				}
				if (*q == '"') {
					if (q + 1 < end && q[1] == '"') {
						fputc('"', f);
						q += 2;
						continue;
					}
					q++;
					break;
				}
				fputc(*q++, f);
			}
		} else {
			while (q < end && *q != ',' && *q != '\r' && *q != '\n')
				fputc(*q++, f);
		}
		fclose(f);
		fields[(*count)++] = buf;
		if (q < end && *q == ',') {
			*p = q + 1;
			continue;
		}
		if (q + 1 < end && q[0] == '\r' && q[1] == '\n') {
			*p = q + 2;
			return 0;
		}
		return -1;
	}
}

static int parse_u64(const char *s, uint64_t *v)
{
	if (s[0] == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 20)
		return -1;
	errno = 0;
	unsigned long long x = strtoull(s, NULL, 10);
	if (errno != 0)
		return -1;
	*v = x;
	return 0;
}

int summary_parse_csv(const char *csv, size_t len, struct summary **out, char *err, size_t errlen)
{
	*out = NULL;
	const char *p = csv, *end = csv + len;
	size_t hlen = strlen(CSV_HEADER);
	if (len >= 3 && memcmp(p, UTF8_BOM, 3) == 0)
		p += 3;
	if ((size_t)(end - p) < hlen + 2 || memcmp(p, CSV_HEADER, hlen) != 0 ||
	    memcmp(p + hlen, "\r\n", 2) != 0)
		return seterr(err, errlen,
		              "CSV: dòng tiêu đề không đúng / not a summary CSV header");
	p += hlen + 2;
	struct summary *s = summary_new();
	int expected = 0; /* 0..9 rows, 10 total, 11..13 rows, 14 total */
	int rc = -1;
	while (p < end) {
		char *fld[CSV_COLUMNS];
		size_t n = 0;
		int line = expected + 2;
		if (csv_record(&p, end, fld, &n) != 0 || n != CSV_COLUMNS) {
			seterr(err, errlen, "CSV dòng %d: sai định dạng / line %d: malformed", line,
			       line);
			for (size_t i = 0; i < n; i++)
				free(fld[i]);
			goto out;
		}
		struct summary_row *r = NULL;
		if (expected < SUMMARY_ATTACK_ROWS)
			r = &s->rows[expected];
		else if (expected == SUMMARY_ATTACK_ROWS)
			r = &s->attack_total;
		else if (expected <= SUMMARY_ROW_COUNT)
			r = &s->rows[expected - 1];
		else if (expected == SUMMARY_ROW_COUNT + 1)
			r = &s->other_total;
		bool ok = r != NULL && strcmp(fld[3], r->category) == 0 &&
		          strlen(fld[0]) <= SUMMARY_PERIOD_MAX;
		if (ok && expected == 0) {
			snprintf(s->period, sizeof s->period, "%s", fld[0]);
			s->scope = xstrdup(fld[1]);
			ok = period_fields(s->period, &s->year, &s->first_month, &s->last_month) ==
			     0;
		} else if (ok) {
			ok = strcmp(fld[0], s->period) == 0 && strcmp(fld[1], s->scope) == 0;
		}
		ok = ok && parse_u64(fld[6], &r->count) == 0;
		for (int c = 0; ok && c < SUMMARY_COLUMN_COUNT; c++)
			ok = parse_u64(fld[7 + c], &r->by[c]) == 0;
		ok = ok && parse_u64(fld[13], &r->loss) == 0;
		if (ok) {
			for (char *name = fld[14], *next; name != NULL && *name; name = next) {
				next = strstr(name, "; ");
				if (next != NULL) {
					*next = '\0';
					next += 2;
				}
				names_add(&r->supporters, name);
			}
		}
		for (size_t i = 0; i < n; i++)
			free(fld[i]);
		if (!ok) {
			seterr(err, errlen,
			       "CSV dòng %d: giá trị không hợp lệ / line %d: unexpected value",
			       line, line);
			goto out;
		}
		expected++;
	}
	if (expected != SUMMARY_ROW_COUNT + 2) {
		seterr(err, errlen, "CSV: thiếu dòng / rows missing");
		goto out;
	}
	summary_period(s->period, &s->from_s, &s->until_s);
	*out = s;
	s = NULL;
	rc = 0;
out:
	summary_free(s);
	return rc;
}

/* ---- text ------------------------------------------------------------------------------- */

/* 1.234.567: Vietnamese groups thousands with dots. */
static void money_text(uint64_t v, char out[32])
{
	char digits[24];
	int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v), o = 0;
	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[o++] = '.';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

/* s in width code points (UTF-8), cut when longer, padded on the left when right. */
static void text_cell(FILE *f, const char *s, size_t width, bool right)
{
	size_t cps = 0;
	const char *p = s;
	while (*p && cps < width) {
		p++;
		while (((unsigned char)*p & 0xc0) == 0x80)
			p++;
		cps++;
	}
	if (right)
		fprintf(f, "%*s", (int)(width - cps), "");
	fwrite(s, 1, (size_t)(p - s), f);
	if (!right)
		fprintf(f, "%*s", (int)(width - cps), "");
}

#define TEXT_LABEL_WIDTH  50
#define TEXT_NUMBER_WIDTH 9
#define TEXT_LOSS_WIDTH   16

static void text_line(FILE *f, const char *number, const char *label,
                      const char *const cells[SUMMARY_COLUMN_COUNT + 2])
{
	text_cell(f, number, 4, false);
	text_cell(f, label, TEXT_LABEL_WIDTH, false);
	for (int c = 0; c < SUMMARY_COLUMN_COUNT + 1; c++)
		text_cell(f, cells[c], TEXT_NUMBER_WIDTH, true);
	text_cell(f, cells[SUMMARY_COLUMN_COUNT + 1], TEXT_LOSS_WIDTH, true);
	fputc('\n', f);
}

static void text_row(FILE *f, const char *number, const struct summary_row *r)
{
	char values[SUMMARY_COLUMN_COUNT + 2][32];
	const char *cells[SUMMARY_COLUMN_COUNT + 2];
	snprintf(values[0], sizeof values[0], "%llu", (unsigned long long)r->count);
	for (int c = 0; c < SUMMARY_COLUMN_COUNT; c++)
		snprintf(values[c + 1], sizeof values[c + 1], "%llu", (unsigned long long)r->by[c]);
	money_text(r->loss, values[SUMMARY_COLUMN_COUNT + 1]);
	for (int c = 0; c < SUMMARY_COLUMN_COUNT + 2; c++)
		cells[c] = values[c];
	text_line(f, number, r->label_vi, cells);
}

void summary_render_text(const struct summary *s, char **out)
{
	static const char *const head_vi[SUMMARY_COLUMN_COUNT + 2] = {
	    "Số lượng", "Tự XL", "TC khác", "N.ngoài",
	    "VNCERT",   "K.ghi", "Chưa KT", "Thiệt hại (đ)"};
	static const char *const head_en[SUMMARY_COLUMN_COUNT + 2] = {
	    "count", "in-house", "other", "foreign", "coord.", "unstated", "open", "loss (VND)"};
	size_t len;
	FILE *f = open_memstream(out, &len);
	if (f == NULL)
		fatal("open_memstream");
	fprintf(
	    f,
	    "Mẫu 05 — kỳ / period %s: từ tháng %02d/%d đến tháng %02d/%d; phạm vi / scope: %s\n\n",
	    s->period, s->first_month, s->year, s->last_month, s->year, s->scope ? s->scope : "*");
	text_line(f, "TT", "Loại sự cố", head_vi);
	text_line(f, "", "incident type", head_en);
	for (int i = 0; i < SUMMARY_ROW_COUNT; i++) {
		char number[16];
		snprintf(number, sizeof number, "%d", i + 1);
		text_row(f, number, &s->rows[i]);
		if (i == SUMMARY_ATTACK_ROWS - 1)
			text_row(f, "", &s->attack_total);
	}
	text_row(f, "", &s->other_total);
	bool any = false;
	for (int i = 0; i < SUMMARY_ROW_COUNT; i++) {
		const struct summary_row *r = &s->rows[i];
		if (r->supporters.count == 0)
			continue;
		if (!any)
			fprintf(f, "\nTổ chức hỗ trợ xử lý / supporting organisations:\n");
		any = true;
		fprintf(f, "  %d. ", i + 1);
		for (size_t k = 0; k < r->supporters.count; k++)
			fprintf(f, "%s%s", k ? "; " : "", r->supporters.items[k]);
		fputc('\n', f);
	}
	fclose(f);
}

/* ---- HTML --------------------------------------------------------------------------------- */

static void html_escape(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			if (*p >= 0x20 || *p == '\n')
				fputc(*p, f);
		}
	}
}

static void money(FILE *f, uint64_t v)
{
	char text[32];
	money_text(v, text);
	fputs(text, f);
}

static void html_row(FILE *f, const char *number, const struct summary_row *r, bool total)
{
	fprintf(f, "<tr%s><td class=\"n\">%s</td><td class=\"label\">",
	        total ? " class=\"total\"" : "", number);
	html_escape(f, r->label_vi);
	fputs("<br><span class=\"en\">", f);
	html_escape(f, r->label_en);
	fprintf(f, "</span></td><td class=\"num\">%llu</td>", (unsigned long long)r->count);
	for (int c = 0; c < SUMMARY_COLUMN_COUNT; c++)
		fprintf(f, "<td class=\"num\">%llu</td>", (unsigned long long)r->by[c]);
	fputs("<td class=\"num\">", f);
	money(f, r->loss);
	fputs("</td><td class=\"orgs\">", f);
	for (size_t i = 0; i < r->supporters.count; i++) {
		if (i)
			fputs("; ", f);
		html_escape(f, r->supporters.items[i]);
	}
	fputs("</td></tr>\n", f);
}

static void html_supporters(FILE *f, const struct summary *s, bool foreign)
{
	bool any = false;
	for (size_t i = 0; i < s->supporter_count; i++) {
		if (s->supporters[i].foreign != foreign)
			continue;
		if (!any)
			fputs("<ol>\n", f);
		any = true;
		fputs("<li>", f);
		html_escape(f, s->supporters[i].name);
		fprintf(f, " <span class=\"en\">(số sự cố / incidents: %llu)</span></li>\n",
		        (unsigned long long)s->supporters[i].incidents);
	}
	fputs(any ? "</ol>\n" : "<p>Không có. <span class=\"en\">None.</span></p>\n", f);
}

enum placeholder {
	P_TITLE_SPAN,
	P_TITLE_SPAN_EN,
	P_FROM_MONTH,
	P_TO_MONTH,
	P_PERIOD,
	P_SCOPE,
	P_ORG_NAME,
	P_AS_OF,
	P_RELAY_KID,
	P_ATTACK_ROWS,
	P_OTHER_ROWS,
	P_SUPPORTERS,
	P_FOREIGN_SUPPORTERS,
	P_NOTES,
	P_COUNT
};
static const char *const placeholder_names[P_COUNT] = {
    "title_span",         "title_span_en", "from_month", "to_month",    "period",     "scope",
    "org_name",           "as_of",         "relay_kid",  "attack_rows", "other_rows", "supporters",
    "foreign_supporters", "notes"};

static char *fill(const struct summary *s, int ph)
{
	char *buf = NULL, when[32];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		fatal("open_memstream");
	switch (ph) {
	case P_TITLE_SPAN:
		fputs(s->first_month == s->last_month - 5 ? "06 THÁNG" : "01 NĂM", f);
		break;
	case P_TITLE_SPAN_EN:
		fputs(s->first_month == s->last_month - 5 ? "Six-monthly" : "Annual", f);
		break;
	case P_FROM_MONTH:
		fprintf(f, "%02d/%d", s->first_month, s->year);
		break;
	case P_TO_MONTH:
		fprintf(f, "%02d/%d", s->last_month, s->year);
		break;
	case P_PERIOD:
		html_escape(f, s->period);
		break;
	case P_SCOPE:
		html_escape(f, s->scope);
		break;
	case P_ORG_NAME:
		html_escape(f, s->org_name ? s->org_name : "");
		break;
	case P_AS_OF:
		local_time_text(s->as_of_ms / 1000, when, sizeof when);
		fprintf(f, "%s (UTC+7)", when);
		break;
	case P_RELAY_KID: {
		char hex[2 * KEY_ID_BYTES + 1];
		hex_encode(hex, s->relay_kid, KEY_ID_BYTES);
		fputs(hex, f);
		break;
	}
	case P_ATTACK_ROWS:
		for (int i = 0; i < SUMMARY_ATTACK_ROWS; i++) {
			char number[16];
			snprintf(number, sizeof number, "%d", i + 1);
			html_row(f, number, &s->rows[i], false);
		}
		html_row(f, "", &s->attack_total, true);
		break;
	case P_OTHER_ROWS:
		for (int i = SUMMARY_ATTACK_ROWS; i < SUMMARY_ROW_COUNT; i++) {
			char number[16];
			snprintf(number, sizeof number, "%d", i + 1);
			html_row(f, number, &s->rows[i], false);
		}
		html_row(f, "", &s->other_total, true);
		break;
	case P_SUPPORTERS:
		html_supporters(f, s, false);
		break;
	case P_FOREIGN_SUPPORTERS:
		html_supporters(f, s, true);
		break;
	case P_NOTES:
		fprintf(f,
		        "<li>Không tính %llu sự cố diễn tập. <span class=\"en\">Drills are not "
		        "counted: "
		        "%llu.</span></li>\n",
		        (unsigned long long)s->drills_excluded,
		        (unsigned long long)s->drills_excluded);
		if (s->unreadable > 0)
			fprintf(f,
			        "<li>%llu báo cáo kết thúc không mở được (khóa relay đã đổi?), "
			        "tính vào cột “không ghi "
			        "cách xử lý”. <span class=\"en\">%llu closing reports could not be "
			        "opened and are counted "
			        "as handling not stated.</span></li>\n",
			        (unsigned long long)s->unreadable,
			        (unsigned long long)s->unreadable);
		break;
	}
	fclose(f);
	return buf;
}

int summary_render_html(const struct summary *s, const char *template_path, char **out, size_t *len,
                        char *err, size_t errlen)
{
	uint8_t *tpl = NULL;
	size_t tlen = 0;
	*out = NULL;
	*len = 0;
	if (file_read_all(template_path, TEMPLATE_MAX_BYTES, &tpl, &tlen, err, errlen) != 0)
		return -1;
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	if (f == NULL)
		fatal("open_memstream");
	const char *p = (const char *)tpl, *end = p + tlen;
	unsigned line = 1;
	int rc = 0;
	while (p < end) {
		if (*p == '\n')
			line++;
		if (*p != '{') {
			fputc(*p++, f);
			continue;
		}
		if (p + 1 < end && p[1] == '{') {
			fputc('{', f);
			p += 2;
			continue;
		}
		/* {name} with name in [a-z_]; any other brace is literal (CSS). */
		const char *q = p + 1;
		while (q < end && (islower((unsigned char)*q) || *q == '_'))
			q++;
		if (q == p + 1 || q >= end || *q != '}') {
			fputc(*p++, f);
			continue;
		}
		int ph = -1;
		for (int i = 0; i < P_COUNT; i++)
			if (strlen(placeholder_names[i]) == (size_t)(q - p - 1) &&
			    memcmp(placeholder_names[i], p + 1, (size_t)(q - p - 1)) == 0)
				ph = i;
		if (ph < 0) {
			rc = seterr(err, errlen,
			            "%s:%u: chỗ điền không biết / unknown placeholder {%.*s}",
			            template_path, line, (int)(q - p - 1), p + 1);
			break;
		}
		char *v = fill(s, ph);
		fputs(v, f);
		free(v);
		p = q + 1;
	}
	fclose(f);
	free(tpl);
	if (rc != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = blen;
	return 0;
}

/* ---- signature ---------------------------------------------------------------------------- */

static void sha256_hex(const void *data, size_t len, char hex[65])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	hex_encode(hex, h, sizeof h);
}

int summary_sign(const struct summary *s, const struct keypair *relay, const char *csv,
                 size_t csv_len, const char *html, size_t html_len, char **sig, size_t *sig_len,
                 char *err, size_t errlen)
{
	char csv_hex[65], html_hex[65];
	sha256_hex(csv, csv_len, csv_hex);
	sha256_hex(html, html_len, html_hex);
	char *text = xasprintf(NOTE_HEADER "\nperiod %s\nscope %s\nas-of %lld\ncsv %s\nhtml %s\n",
	                       s->period, s->scope, (long long)s->as_of_ms, csv_hex, html_hex);
	int rc =
	    note_sign(text, strlen(text), SUMMARY_NOTE_NAME, relay->sk, sig, sig_len, err, errlen);
	free(text);
	return rc;
}

/* The value after "key " on the line at *p, which must be the next line; advances *p. */
static const char *note_line(const char **p, const char *end, const char *key, size_t *vlen)
{
	size_t klen = strlen(key);
	const char *eol = memchr(*p, '\n', (size_t)(end - *p));
	if (eol == NULL || (size_t)(eol - *p) < klen + 1 || memcmp(*p, key, klen) != 0 ||
	    (*p)[klen] != ' ')
		return NULL;
	const char *v = *p + klen + 1;
	*vlen = (size_t)(eol - v);
	*p = eol + 1;
	return v;
}

int summary_verify(const char *sig, size_t sig_len, const uint8_t relay_pk[KEY_PK_BYTES],
                   const char *format, const uint8_t *data, size_t len, struct summary_note *note,
                   char *err, size_t errlen)
{
	struct note_verifier v;
	size_t text_len = 0;
	if (note_verifier_from_key(&v, SUMMARY_NOTE_NAME, relay_pk, err, errlen) != 0)
		return -1;
	if (note_open(sig, sig_len, &v, &text_len, err, errlen) != 0)
		return seterr(
		    err, errlen,
		    "chữ ký không hợp lệ hoặc không phải của relay này / the signature does "
		    "not verify with this relay's key");
	struct summary_note n;
	memset(&n, 0, sizeof n);
	const char *p = sig, *end = sig + text_len, *val;
	size_t vlen = 0;
	bool ok = (size_t)(end - p) > strlen(NOTE_HEADER) &&
	          memcmp(p, NOTE_HEADER "\n", strlen(NOTE_HEADER) + 1) == 0;
	if (ok)
		p += strlen(NOTE_HEADER) + 1;
	ok =
	    ok && (val = note_line(&p, end, "period", &vlen)) != NULL && vlen <= SUMMARY_PERIOD_MAX;
	if (ok) {
		memcpy(n.period, val, vlen);
		int64_t a, b;
		ok = summary_period(n.period, &a, &b) == 0;
	}
	ok = ok && (val = note_line(&p, end, "scope", &vlen)) != NULL && vlen > 0 &&
	     vlen <= REPORT_SHORT_MAX;
	if (ok)
		memcpy(n.scope, val, vlen);
	ok = ok && (val = note_line(&p, end, "as-of", &vlen)) != NULL && vlen > 0 && vlen < 20 &&
	     strspn(val, "0123456789") >= vlen;
	if (ok)
		n.as_of_ms = strtoll(val, NULL, 10);
	ok = ok && (val = note_line(&p, end, "csv", &vlen)) != NULL && vlen == 64;
	if (ok) {
		char hex[65];
		memcpy(hex, val, 64);
		hex[64] = '\0';
		ok = hex_decode(n.csv_sha256, 32, hex) == 0;
	}
	ok = ok && (val = note_line(&p, end, "html", &vlen)) != NULL && vlen == 64;
	if (ok) {
		char hex[65];
		memcpy(hex, val, 64);
		hex[64] = '\0';
		ok = hex_decode(n.html_sha256, 32, hex) == 0;
	}
	if (!ok || p != end)
		return seterr(err, errlen,
		              "chữ ký đúng nhưng nội dung không phải " NOTE_HEADER
		              " / signed, but not a " NOTE_HEADER " note");
	if (data != NULL) {
		const uint8_t *want;
		if (format != NULL && strcmp(format, "csv") == 0)
			want = n.csv_sha256;
		else if (format != NULL && strcmp(format, "html") == 0)
			want = n.html_sha256;
		else
			return seterr(err, errlen,
			              "định dạng phải là csv hoặc html / format is csv or html");
		uint8_t h[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(h, data, len);
		if (sodium_memcmp(h, want, sizeof h) != 0)
			return seterr(
			    err, errlen,
			    "tệp %s đã bị sửa hoặc không thuộc chữ ký này / the %s file was edited "
			    "or is not the one signed",
			    format, format);
	}
	if (note != NULL)
		*note = n;
	return 0;
}

/* ---- HTTP --------------------------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *ctype,
                             char *body, size_t len, const char *filename, unsigned retry_after)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (retry_after > 0) {
		char v[16];
		snprintf(v, sizeof v, "%u", retry_after);
		MHD_add_response_header(r, "Retry-After", v);
	}
	if (filename != NULL) {
		char *cd = xasprintf("inline; filename=\"%s\"", filename);
		MHD_add_response_header(r, "Content-Disposition", cd);
		free(cd);
	}
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The same JSON refusal as the rest of the API: {"error","reason","relay_time"}. */
static enum MHD_Result refuse_later(struct MHD_Connection *conn, unsigned status, const char *code,
                                    const char *reason, unsigned retry_after)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		fatal("open_memstream");
	fprintf(f, "{\"error\":\"%s\",\"reason\":\"", code);
	for (const unsigned char *p = (const unsigned char *)reason; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fprintf(f, "\",\"relay_time\":%lld}\n", (long long)now_s());
	fclose(f);
	log_info("summary %u %s: %s", status, code, reason);
	return reply(conn, status, "application/json; charset=utf-8", buf, len, NULL, retry_after);
}

static enum MHD_Result refuse(struct MHD_Connection *conn, unsigned status, const char *code,
                              const char *reason)
{
	return refuse_later(conn, status, code, reason, 0);
}

/* The same codes and statuses as GET /v1/reports/{id}. */
static const char *verdict_code(enum registry_verdict v)
{
	switch (v) {
	case REGISTRY_UNKNOWN_AGENCY:
		return "unknown_agency";
	case REGISTRY_UNKNOWN_KEY:
		return "unknown_key";
	case REGISTRY_AGENCY_REVOKED:
		return "agency_revoked";
	case REGISTRY_KEY_REVOKED:
		return "key_revoked";
	case REGISTRY_KEY_NOT_YET_VALID:
		return "key_not_yet_valid";
	case REGISTRY_KEY_EXPIRED:
		return "key_expired";
	case REGISTRY_OK:
		break;
	}
	return "ok";
}

static unsigned verdict_status(enum registry_verdict v)
{
	return v == REGISTRY_UNKNOWN_AGENCY || v == REGISTRY_UNKNOWN_KEY ? MHD_HTTP_UNAUTHORIZED
	                                                                 : MHD_HTTP_FORBIDDEN;
}

static bool is_privileged(const char *role)
{
	static const char *const roles[] = {"national_centre", "provincial_irt",
	                                    "provincial_police", "auditor"};
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (strcmp(role, roles[i]) == 0)
			return true;
	return false;
}

/* A parameter value restricted to charset (and non-empty, bounded); NULL when absent. -1 when bad.
 */
static int param(struct MHD_Connection *conn, const char *name, const char *charset, size_t max,
                 const char **out)
{
	*out = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
	if (*out == NULL)
		return 0;
	size_t n = strlen(*out);
	return n > 0 && n <= max && strspn(*out, charset) == n ? 0 : -1;
}

static char *file_name(const struct summary *s, const char *ext)
{
	char *name = xasprintf("mau05-%s-%s.%s", s->period,
	                       strcmp(s->scope, "*") == 0 ? "all" : s->scope, ext);
	for (char *c = name; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) &&
		    !strchr(".-_H", *c))
			*c = '-';
	return name;
}

enum MHD_Result summary_http(struct relay *relay, struct MHD_Connection *conn, const char *url)
{
	static const char ID_CHARS[] = "abcdefghijklmnopqrstuvwxyz0123456789.-_";
	char err[ERRBUF_MAX];
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	struct request_auth ra;
	if (auth == NULL)
		return refuse(conn, MHD_HTTP_UNAUTHORIZED, "no_auth",
		              "cần tiêu đề Authorization / Authorization header required");
	if (request_auth_parse(auth, &ra, err, sizeof err) != 0)
		return refuse(conn, MHD_HTTP_UNAUTHORIZED, "bad_auth", err);
	const char *period, *format, *group, *as_of;
	if (param(conn, "period", "0123456789H", SUMMARY_PERIOD_MAX, &period) != 0 ||
	    param(conn, "format", "abcdefghijklmnopqrstuvwxyz", 8, &format) != 0 ||
	    param(conn, "group", ID_CHARS, AGENCY_ID_MAX, &group) != 0 ||
	    param(conn, "as_of", "0123456789", 18, &as_of) != 0 || period == NULL || format == NULL)
		return refuse(
		    conn, MHD_HTTP_BAD_REQUEST, "bad_request",
		    "cần period=YYYYH1|YYYYH2|YYYY&format=csv|html|sig[&group=G][&as_of=MS] / "
		    "expected period, format, optional group and as_of");
	/* The signed path: the path and these parameters in this order, exactly as sent. */
	char *signed_path =
	    xasprintf("%s?period=%s&format=%s%s%s%s%s", url, period, format, group ? "&group=" : "",
	              group ? group : "", as_of ? "&as_of=" : "", as_of ? as_of : "");
	const struct registry_key *key = NULL;
	const struct agency *who = NULL;
	uint8_t pk[KEY_PK_BYTES];
	char role[32] = "", own_group[REPORT_SHORT_MAX + 1] = "";
	pthread_rwlock_rdlock(&relay->registry_lock);
	enum registry_verdict verdict =
	    registry_lookup(relay->registry, ra.agency, ra.kid, now_s(), &key, &who);
	if (verdict == REGISTRY_OK) {
		memcpy(pk, key->pk, sizeof pk);
		snprintf(role, sizeof role, "%s", who->role);
		snprintf(own_group, sizeof own_group, "%s", who->group ? who->group : "");
	}
	pthread_rwlock_unlock(&relay->registry_lock);
	if (verdict != REGISTRY_OK) {
		free(signed_path);
		return refuse(conn, verdict_status(verdict), verdict_code(verdict),
		              registry_verdict_text(verdict));
	}
	int verified = request_auth_verify(&ra, "GET", signed_path, pk);
	free(signed_path);
	if (verified != 0)
		return refuse(conn, MHD_HTTP_UNAUTHORIZED, "bad_signature",
		              "chữ ký yêu cầu không hợp lệ / request signature does not verify");
	int64_t skew = (int64_t)ra.ts - now_s();
	if (ra.ts > (uint64_t)INT64_MAX || skew > relay->cfg->timestamp_window ||
	    -skew > relay->cfg->timestamp_window)
		return refuse(conn, MHD_HTTP_CONFLICT, skew < 0 ? "stale" : "future",
		              "thời gian yêu cầu lệch quá mức / request time outside the window");
	/* A summary opens many envelopes: it spends the agency's tokens like a report does. */
	unsigned retry = 0;
	if (relay->ratelimit != NULL &&
	    !ratelimit_take(relay->ratelimit, ra.agency, now_ms(), &retry))
		return refuse_later(
		    conn, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
		    "quá nhiều yêu cầu, hãy thử lại sau / too many requests, retry later", retry);
	int64_t from, until, now = now_ms();
	int64_t snapshot = as_of ? strtoll(as_of, NULL, 10) : now;
	bool csv = strcmp(format, "csv") == 0, html = strcmp(format, "html") == 0,
	     sig = strcmp(format, "sig") == 0;
	if (summary_period(period, &from, &until) != 0 || !(csv || html || sig) || snapshot > now)
		return refuse(conn, MHD_HTTP_BAD_REQUEST, "bad_request",
		              "kỳ, định dạng hoặc as_of không hợp lệ (as_of không được ở tương "
		              "lai) / bad period, format "
		              "or as_of (as_of may not lie in the future)");
	/* Units see their own group (or themselves); the coordinating roles any group, or everyone.
	 */
	const char *filter = group;
	if (!is_privileged(role)) {
		if (group == NULL)
			filter = own_group[0] ? own_group : ra.agency;
		else if (strcmp(group, own_group) != 0 && strcmp(group, ra.agency) != 0)
			return refuse(conn, MHD_HTTP_FORBIDDEN, "forbidden",
			              "đơn vị chỉ xem được tổng hợp của nhóm mình / an agency may "
			              "see its own group's "
			              "summary only");
	}
	struct summary *s = NULL;
	pthread_rwlock_rdlock(&relay->registry_lock);
	int built = summary_build_as_of(relay->cfg->store, relay->key, relay->registry, period,
	                                filter, snapshot, &s, err, sizeof err);
	pthread_rwlock_unlock(&relay->registry_lock);
	if (built != 0)
		return refuse(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "store_failed", err);
	char *csv_text = NULL, *html_text = NULL, *sig_text = NULL;
	size_t csv_len = 0, html_len = 0, sig_len = 0;
	enum MHD_Result ret;
	if (!csv) {
		char *tpl = xasprintf("%s/vi/mau05.html", relay->cfg->templates);
		int r = summary_render_html(s, tpl, &html_text, &html_len, err, sizeof err);
		free(tpl);
		if (r != 0) {
			log_error("summary: %s", err);
			summary_free(s);
			return refuse(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "template", err);
		}
	}
	if (!html)
		summary_render_csv(s, &csv_text, &csv_len);
	if (sig && summary_sign(s, relay->key, csv_text, csv_len, html_text, html_len, &sig_text,
	                        &sig_len, err, sizeof err) != 0) {
		free(csv_text);
		free(html_text);
		summary_free(s);
		return refuse(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "sign_failed", err);
	}
	char *name = file_name(s, format);
	if (csv) {
		ret =
		    reply(conn, MHD_HTTP_OK, "text/csv; charset=utf-8", csv_text, csv_len, name, 0);
	} else if (html) {
		ret = reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", html_text, html_len,
		            name, 0);
	} else {
		free(csv_text);
		free(html_text);
		ret = reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", sig_text, sig_len, name,
		            0);
	}
	free(name);
	summary_free(s);
	return ret;
}
