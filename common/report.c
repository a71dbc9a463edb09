/* report.c: report fields as one table; encoding, strict decoding and validation follow it. */
#include "report.h"

#include "mpack.h"
#include "util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const report_kind_names[REPORT_KIND_COUNT] = {
    "notification", "initial", "update", "response_plan", "support_request", "closing"};
const char *const report_kind_labels_vi[REPORT_KIND_COUNT] = {
    "Thông báo sự cố",   "Báo cáo ban đầu (Mẫu 03)", "Báo cáo diễn biến",
    "Phương án ứng cứu", "Đề nghị hỗ trợ, phối hợp", "Báo cáo kết thúc ứng phó (Mẫu 04)"};

/* Mẫu 05's ten attack types, then the commune plan's non-attack categories. */
const char *const report_categories[] = {
    "dos",          "phishing",       "malware",          "intrusion", "defacement",
    "ransomware",   "destruction",    "espionage",        "combined",  "other_attack",
    "system_fault", "operator_error", "natural_disaster", NULL};
static const char *const severities[] = {"normal", "serious", NULL};
static const char *const statuses[] = {"handled", "not_handled", NULL};
static const char *const detection_methods[] = {"ids", "logs", "notified", "other", NULL};
static const char *const notified_choices[] = {"network_member", "isp", "coordinator", NULL};
static const char *const handling_choices[] = {"in_house", "other_org", "foreign_org",
                                               "coordinator", NULL};

#define K(kind)   (1u << (kind))
#define ALL_KINDS ((1u << REPORT_KIND_COUNT) - 1)
#define NOTI      K(REPORT_NOTIFICATION)
#define INIT      K(REPORT_INITIAL)
#define CLOS      K(REPORT_CLOSING)
#define F(key, type, field, req, choices, vi, en)                                                  \
	{                                                                                          \
		key, type, offsetof(struct report, field), req, choices, vi, en                    \
	}

const struct report_field report_fields[] = {
    F("incident_id", RF_STR, incident_id, ALL_KINDS, NULL, "Mã sự cố", "Incident id"),
    F("category", RF_ENUM, category, ALL_KINDS, report_categories, "Loại sự cố", "Category"),
    F("severity", RF_ENUM, severity, ALL_KINDS, severities, "Mức độ (normal/serious)", "Severity"),
    F("created", RF_TIME, created, ALL_KINDS, NULL, "Thời gian thực hiện báo cáo", "Report time"),
    F("detected", RF_TIME, detected, NOTI | INIT | CLOS, NULL, "Thời gian phát hiện sự cố",
      "Time detected"),
    F("reporter_name", RF_STR, reporter_name, ALL_KINDS, NULL, "Tên tổ chức/cá nhân báo cáo sự cố",
      "Reporting organisation"),
    F("reporter_address", RF_STR, reporter_address, NOTI | INIT | CLOS, NULL, "Địa chỉ", "Address"),
    F("reporter_phone", RF_STR, reporter_phone, INIT | CLOS, NULL, "Điện thoại", "Phone"),
    F("reporter_email", RF_STR, reporter_email, INIT | CLOS, NULL, "Email", "Email"),
    F("contact_name", RF_STR, contact_name, INIT, NULL, "Người liên hệ: họ và tên", "Contact name"),
    F("contact_position", RF_STR, contact_position, 0, NULL, "Người liên hệ: chức vụ",
      "Contact position"),
    F("contact_phone", RF_STR, contact_phone, INIT, NULL, "Người liên hệ: điện thoại",
      "Contact phone"),
    F("contact_email", RF_STR, contact_email, INIT, NULL, "Người liên hệ: email", "Contact email"),
    F("operator", RF_STR, operator_name, INIT | CLOS, NULL,
      "Tên đơn vị vận hành hệ thống thông tin", "Operating unit"),
    F("owner", RF_STR, owner, 0, NULL, "Cơ quan chủ quản", "Owning agency"),
    F("system_name", RF_STR, system_name, NOTI, NULL, "Tên hệ thống bị sự cố (tên miền, IP)",
      "Affected system"),
    F("level", RF_UINT, level, 0, NULL, "Cấp độ của hệ thống thông tin (1-5)", "Security level"),
    F("security_provider", RF_STR, security_provider, 0, NULL, "Tổ chức cung cấp dịch vụ ATTT",
      "Security service provider"),
    F("isp", RF_STR, isp, 0, NULL, "Nhà cung cấp dịch vụ kết nối", "Connectivity provider"),
    F("os", RF_STR, os, 0, NULL, "Hệ điều hành, phiên bản", "Operating system"),
    F("purpose", RF_STR, purpose, 0, NULL, "Mục đích chính sử dụng hệ thống", "System purpose"),
    F("services", RF_LIST, services, 0, NULL, "Các dịch vụ có trên hệ thống", "Services"),
    F("controls", RF_LIST, controls, 0, NULL, "Các biện pháp ATTT đã triển khai",
      "Controls in place"),
    F("ips", RF_LIST, ips, 0, NULL, "Các địa chỉ IP của hệ thống", "Public IP addresses"),
    F("domains", RF_LIST, domains, 0, NULL, "Các tên miền của hệ thống", "Domains"),
    F("attachments", RF_LIST, attachments, 0, NULL, "Thông tin gửi kèm", "Attachments"),
    F("notified", RF_LIST, notified, INIT, notified_choices, "Đã gửi thông báo sự cố cho",
      "Already notified"),
    F("status", RF_ENUM, status, INIT, statuses, "Hiện trạng sự cố (handled/not_handled)",
      "Incident status"),
    F("detection_method", RF_ENUM, detection_method, INIT, detection_methods,
      "Cách thức phát hiện (ids/logs/notified/other)", "Detection method"),
    F("detection_detail", RF_STR, detection_detail, 0, NULL, "Chi tiết cách phát hiện",
      "Detection detail"),
    F("confidential", RF_BOOL, confidential, 0, NULL, "Thông tin phải được giữ bí mật",
      "Confidential"),
    F("description", RF_TEXT, description, ALL_KINDS & ~CLOS, NULL, "Mô tả sơ bộ về sự cố",
      "Description"),
    F("measures", RF_TEXT, measures, 0, NULL, "Biện pháp đã thực hiện", "Measures taken"),
    F("recommendations", RF_TEXT, recommendations, 0, NULL, "Kiến nghị, đề xuất hỗ trợ",
      "Recommendations"),
    F("initial_ref", RF_STR, initial_ref, 0, NULL, "Số ký hiệu báo cáo ban đầu",
      "Initial report reference"),
    F("initial_date", RF_TIME, initial_date, 0, NULL, "Ngày báo cáo ban đầu",
      "Initial report date"),
    F("result", RF_TEXT, result, CLOS, NULL, "Kết quả xử lý sự cố", "Handling result"),
    F("response_ended", RF_TIME, response_ended, CLOS, NULL, "Thời gian kết thúc ứng phó",
      "Response ended"),
    F("handling", RF_ENUM, handling, 0, handling_choices,
      "Cách xử lý (in_house/other_org/foreign_org/coordinator)", "Handled by"),
    F("estimated_loss", RF_UINT, estimated_loss, 0, NULL, "Thiệt hại ước tính (đồng)",
      "Estimated loss (VND)"),
    F("supporters", RF_LIST, supporters, 0, NULL, "Tổ chức hỗ trợ xử lý",
      "Supporting organisations"),
};
const size_t report_field_count = sizeof report_fields / sizeof report_fields[0];

/* Wire keys beyond the table: version, kind and drill. */
#define REPORT_KEY_COUNT (sizeof report_fields / sizeof report_fields[0] + 3)

int report_kind_from_name(const char *name)
{
	for (int k = 0; k < REPORT_KIND_COUNT; k++)
		if (strcmp(report_kind_names[k], name) == 0)
			return k;
	return -1;
}

void report_init(struct report *r)
{
	memset(r, 0, sizeof *r);
}

static char **str_at(struct report *r, const struct report_field *f)
{
	return (char **)((char *)r + f->offset);
}
static const char *cstr_at(const struct report *r, const struct report_field *f)
{
	return *(char *const *)((const char *)r + f->offset);
}
static uint64_t *uint_at(struct report *r, const struct report_field *f)
{
	return (uint64_t *)((char *)r + f->offset);
}
static uint64_t cuint_at(const struct report *r, const struct report_field *f)
{
	return *(const uint64_t *)((const char *)r + f->offset);
}
static bool *bool_at(struct report *r, const struct report_field *f)
{
	return (bool *)((char *)r + f->offset);
}
static struct strlist *list_at(struct report *r, const struct report_field *f)
{
	return (struct strlist *)((char *)r + f->offset);
}
static const struct strlist *clist_at(const struct report *r, const struct report_field *f)
{
	return (const struct strlist *)((const char *)r + f->offset);
}

static void strlist_clear(struct strlist *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

void report_clear(struct report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < report_field_count; i++) {
		const struct report_field *f = &report_fields[i];
		if (f->type == RF_STR || f->type == RF_TEXT || f->type == RF_ENUM)
			free(*str_at(r, f));
		else if (f->type == RF_LIST)
			strlist_clear(list_at(r, f));
	}
	report_init(r);
}

static bool in_choices(const char *s, const char *const *choices)
{
	for (; *choices != NULL; choices++)
		if (strcmp(s, *choices) == 0)
			return true;
	return false;
}

/* Control characters other than tab and newline (in text) have no place in a report. */
static bool text_clean(const char *s, bool multiline)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == 0x7f ||
		    (*p < 0x20 && !(multiline && (*p == '\n' || *p == '\r' || *p == '\t'))))
			return false;
	}
	return true;
}

static int parse_time(const char *v, uint64_t *out)
{
	char *end = NULL;
	if (*v >= '0' && *v <= '9' && strchr(v, '-') == NULL) {
		unsigned long long n = strtoull(v, &end, 10);
		if (*end != '\0')
			return -1;
		*out = n;
		return 0;
	}
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *rest = strptime(v, "%Y-%m-%d", &tm);
	if (rest == NULL)
		return -1;
	if (*rest == 'T' || *rest == ' ') {
		rest = strptime(rest + 1, "%H:%M", &tm);
		if (rest == NULL)
			return -1;
		if (*rest == ':')
			rest = strptime(rest + 1, "%S", &tm);
		if (rest == NULL)
			return -1;
	}
	if (*rest != '\0')
		return -1;
	/* Local wall time of the reporting unit, Asia/Ho_Chi_Minh is UTC+7 without DST. */
	time_t t = timegm(&tm) - 7 * 3600;
	if (t < 0)
		return -1;
	*out = (uint64_t)t;
	return 0;
}

static const struct report_field *field_find(const char *key)
{
	for (size_t i = 0; i < report_field_count; i++)
		if (strcmp(report_fields[i].key, key) == 0)
			return &report_fields[i];
	return NULL;
}

int report_set(struct report *r, const char *key, const char *value, char *err, size_t errlen)
{
	if (strcmp(key, "kind") == 0) {
		int k = report_kind_from_name(value);
		if (k < 0)
			return seterr(err, errlen,
			              "kind: loại báo cáo không hợp lệ \"%s\" / unknown kind",
			              value);
		r->kind = (enum report_kind)k;
		return 0;
	}
	if (strcmp(key, "drill") == 0) {
		r->drill = strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
		           strcmp(value, "yes") == 0;
		return 0;
	}
	const struct report_field *f = field_find(key);
	if (f == NULL)
		return seterr(err, errlen, "%s: trường không biết / unknown field", key);
	switch (f->type) {
	case RF_STR:
	case RF_TEXT:
	case RF_ENUM:
		free(*str_at(r, f));
		*str_at(r, f) = xstrdup(value);
		return 0;
	case RF_TIME:
		if (parse_time(value, uint_at(r, f)) != 0)
			return seterr(
			    err, errlen,
			    "%s: thời gian không hợp lệ \"%s\" (YYYY-MM-DD HH:MM) / bad time", key,
			    value);
		return 0;
	case RF_UINT: {
		char *end = NULL;
		unsigned long long n = strtoull(value, &end, 10);
		if (*value == '\0' || *end != '\0')
			return seterr(err, errlen, "%s: phải là số / must be a number", key);
		*uint_at(r, f) = n;
		return 0;
	}
	case RF_BOOL:
		*bool_at(r, f) = strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
		                 strcmp(value, "yes") == 0 || strcmp(value, "có") == 0;
		return 0;
	case RF_LIST: {
		struct strlist *l = list_at(r, f);
		strlist_clear(l);
		char *copy = xstrdup(value), *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok != NULL;
		     tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			if (*tok == '\0')
				continue;
			l->items = xrealloc(l->items, (l->count + 1) * sizeof *l->items);
			l->items[l->count++] = xstrdup(tok);
		}
		free(copy);
		return 0;
	}
	}
	return -1;
}

static bool incident_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

static bool phone_ok(const char *s)
{
	int digits = 0;
	for (const char *p = s; *p; p++) {
		if (isdigit((unsigned char)*p))
			digits++;
		else if (!strchr("+ .-()", *p))
			return false;
	}
	return digits >= 3 && digits <= 20;
}

static bool email_ok(const char *s)
{
	const char *at = strchr(s, '@');
	return at != NULL && at != s && at[1] != '\0' && strchr(at + 1, '@') == NULL &&
	       strpbrk(s, " <>,;\"") == NULL;
}

int report_validate(const struct report *r, char *err, size_t errlen)
{
	if ((unsigned)r->kind >= REPORT_KIND_COUNT)
		return seterr(err, errlen, "kind: loại báo cáo không hợp lệ / unknown kind");
	unsigned bit = 1u << r->kind;
	for (size_t i = 0; i < report_field_count; i++) {
		const struct report_field *f = &report_fields[i];
		bool required = (f->required_mask & bit) != 0;
		bool present;
		switch (f->type) {
		case RF_STR:
		case RF_TEXT:
		case RF_ENUM: {
			const char *s = cstr_at(r, f);
			present = s != NULL && *s != '\0';
			if (s == NULL)
				break;
			size_t max = f->type == RF_TEXT ? REPORT_TEXT_MAX : REPORT_SHORT_MAX;
			if (strlen(s) > max)
				return seterr(err, errlen,
				              "%s: dài quá %zu byte / longer than %zu bytes",
				              f->key, max, max);
			if (!utf8_valid((const uint8_t *)s, strlen(s)))
				return seterr(err, errlen, "%s: không phải UTF-8 / not valid UTF-8",
				              f->key);
			if (!text_clean(s, f->type == RF_TEXT))
				return seterr(
				    err, errlen,
				    "%s: chứa ký tự điều khiển / contains control characters",
				    f->key);
			if (f->type == RF_ENUM && !in_choices(s, f->choices))
				return seterr(err, errlen,
				              "%s: giá trị không hợp lệ \"%.40s\" / invalid value",
				              f->key, s);
			break;
		}
		case RF_TIME:
		case RF_UINT:
			present = cuint_at(r, f) != 0;
			break;
		case RF_LIST: {
			const struct strlist *l = clist_at(r, f);
			present = l->count > 0;
			if (l->count > REPORT_LIST_MAX)
				return seterr(err, errlen, "%s: quá %d mục / more than %d items",
				              f->key, REPORT_LIST_MAX, REPORT_LIST_MAX);
			for (size_t j = 0; j < l->count; j++) {
				const char *s = l->items[j];
				if (strlen(s) == 0 || strlen(s) > REPORT_SHORT_MAX ||
				    !utf8_valid((const uint8_t *)s, strlen(s)) ||
				    !text_clean(s, false))
					return seterr(err, errlen,
					              "%s[%zu]: mục không hợp lệ / invalid item",
					              f->key, j);
				if (f->choices != NULL && !in_choices(s, f->choices))
					return seterr(err, errlen,
					              "%s[%zu]: giá trị không hợp lệ \"%.40s\" / "
					              "invalid value",
					              f->key, j, s);
			}
			break;
		}
		case RF_BOOL:
		default:
			present = true;
			break;
		}
		if (required && !present)
			return seterr(err, errlen,
			              "%s (%s): bắt buộc với %s / required for a %s report", f->key,
			              f->label_vi, report_kind_names[r->kind],
			              report_kind_names[r->kind]);
	}
	if (!incident_id_ok(r->incident_id))
		return seterr(err, errlen,
		              "incident_id: 1-64 ký tự A-Z a-z 0-9 . - _ / 1-64 characters of A-Z "
		              "a-z 0-9 . - _");
	if (r->level > 5)
		return seterr(err, errlen, "level: cấp độ phải từ 1 đến 5 / level must be 1..5");
	const char *phones[] = {r->reporter_phone, r->contact_phone};
	for (size_t i = 0; i < 2; i++)
		if (phones[i] != NULL && phones[i][0] != '\0' && !phone_ok(phones[i]))
			return seterr(err, errlen,
			              "%s: số điện thoại không hợp lệ / invalid phone number",
			              i == 0 ? "reporter_phone" : "contact_phone");
	const char *emails[] = {r->reporter_email, r->contact_email};
	for (size_t i = 0; i < 2; i++)
		if (emails[i] != NULL && emails[i][0] != '\0' && !email_ok(emails[i]))
			return seterr(err, errlen,
			              "%s: địa chỉ email không hợp lệ / invalid email address",
			              i == 0 ? "reporter_email" : "contact_email");
	if (r->detected != 0 && r->created != 0 && r->detected > r->created + 3600)
		return seterr(err, errlen,
		              "detected: thời gian phát hiện sau thời gian báo cáo / detected "
		              "after the report time");
	return 0;
}

int report_encode(const struct report *r, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	if (report_validate(r, err, errlen) != 0)
		return -1;
	size_t n = 3;
	for (size_t i = 0; i < report_field_count; i++) {
		const struct report_field *f = &report_fields[i];
		if (f->type == RF_BOOL)
			n += *(const bool *)((const char *)r + f->offset) ? 1 : 0;
		else if (f->type == RF_TIME || f->type == RF_UINT)
			n += cuint_at(r, f) != 0;
		else if (f->type == RF_LIST)
			n += clist_at(r, f)->count > 0;
		else
			n += cstr_at(r, f) != NULL;
	}
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	mpack_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, REPORT_VERSION);
	mpack_pack_str(&pk, "kind");
	mpack_pack_str(&pk, report_kind_names[r->kind]);
	mpack_pack_str(&pk, "drill");
	if (r->drill)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	for (size_t i = 0; i < report_field_count; i++) {
		const struct report_field *f = &report_fields[i];
		switch (f->type) {
		case RF_BOOL:
			if (*(const bool *)((const char *)r + f->offset)) {
				mpack_pack_str(&pk, f->key);
				msgpack_pack_true(&pk);
			}
			break;
		case RF_TIME:
		case RF_UINT:
			if (cuint_at(r, f) != 0) {
				mpack_pack_str(&pk, f->key);
				msgpack_pack_uint64(&pk, cuint_at(r, f));
			}
			break;
		case RF_LIST: {
			const struct strlist *l = clist_at(r, f);
			if (l->count > 0) {
				mpack_pack_str(&pk, f->key);
				msgpack_pack_array(&pk, l->count);
				for (size_t j = 0; j < l->count; j++)
					mpack_pack_str(&pk, l->items[j]);
			}
			break;
		}
		default:
			if (cstr_at(r, f) != NULL) {
				mpack_pack_str(&pk, f->key);
				mpack_pack_str(&pk, cstr_at(r, f));
			}
		}
	}
	if (sb.size > REPORT_MAX_BYTES) {
		msgpack_sbuffer_destroy(&sb);
		return seterr(err, errlen, "báo cáo lớn quá %d byte / report larger than %d bytes",
		              REPORT_MAX_BYTES, REPORT_MAX_BYTES);
	}
	*out = (uint8_t *)sb.data;
	*outlen = sb.size;
	return 0;
}

int report_decode(const uint8_t *buf, size_t len, struct report *r, char *err, size_t errlen)
{
	static const char *allowed[REPORT_KEY_COUNT + 1];
	static int allowed_ready;
	if (!__atomic_load_n(&allowed_ready, __ATOMIC_ACQUIRE)) {
		size_t k = 0;
		allowed[k++] = "v";
		allowed[k++] = "kind";
		allowed[k++] = "drill";
		for (size_t i = 0; i < report_field_count; i++)
			allowed[k++] = report_fields[i].key;
		allowed[k] = NULL;
		__atomic_store_n(&allowed_ready, 1, __ATOMIC_RELEASE);
	}
	report_init(r);
	if (len > REPORT_MAX_BYTES)
		return seterr(err, errlen, "báo cáo lớn quá %d byte / report larger than %d bytes",
		              REPORT_MAX_BYTES, REPORT_MAX_BYTES);
	msgpack_zone zone;
	msgpack_zone_init(&zone, 2048);
	msgpack_object obj;
	int rc = -1;
	char *kind = NULL;
	uint64_t version = 0;
	if (mpack_decode(buf, len, 2, &zone, &obj, err, errlen) != 0)
		goto cleanup;
	if (mpack_map_check(&obj, allowed, "report", err, errlen) != 0)
		goto cleanup;
	if (mpack_get_uint(&obj, "v", true, UINT32_MAX, &version, err, errlen) != 0)
		goto cleanup;
	if (version != REPORT_VERSION) {
		seterr(err, errlen, "v: phiên bản %llu không được hỗ trợ / unsupported version",
		       (unsigned long long)version);
		goto cleanup;
	}
	if (mpack_get_str(&obj, "kind", true, 32, &kind, err, errlen) != 0)
		goto cleanup;
	int k = report_kind_from_name(kind);
	if (k < 0) {
		seterr(err, errlen, "kind: loại báo cáo không hợp lệ / unknown kind");
		goto cleanup;
	}
	r->kind = (enum report_kind)k;
	if (mpack_get_bool(&obj, "drill", true, &r->drill, err, errlen) != 0)
		goto cleanup;
	for (size_t i = 0; i < report_field_count; i++) {
		const struct report_field *f = &report_fields[i];
		switch (f->type) {
		case RF_STR:
		case RF_ENUM:
		case RF_TEXT:
			if (mpack_get_str(&obj, f->key, false,
			                  f->type == RF_TEXT ? REPORT_TEXT_MAX : REPORT_SHORT_MAX,
			                  str_at(r, f), err, errlen) != 0)
				goto cleanup;
			break;
		case RF_TIME:
		case RF_UINT:
			if (mpack_get_uint(&obj, f->key, false,
			                   f->type == RF_TIME             ? UINT32_MAX * 64ull
			                   : strcmp(f->key, "level") == 0 ? 5
			                                                  : 1000000000000000ull,
			                   uint_at(r, f), err, errlen) != 0)
				goto cleanup;
			break;
		case RF_BOOL:
			if (mpack_get_bool(&obj, f->key, false, bool_at(r, f), err, errlen) != 0)
				goto cleanup;
			break;
		case RF_LIST: {
			const msgpack_object *v = mpack_map_get(&obj, f->key);
			if (v == NULL)
				break;
			if (v->type != MSGPACK_OBJECT_ARRAY) {
				seterr(err, errlen, "%s: phải là mảng / must be an array", f->key);
				goto cleanup;
			}
			if (v->via.array.size > REPORT_LIST_MAX) {
				seterr(err, errlen, "%s: quá %d mục / more than %d items", f->key,
				       REPORT_LIST_MAX, REPORT_LIST_MAX);
				goto cleanup;
			}
			struct strlist *l = list_at(r, f);
			l->items = xcalloc(v->via.array.size, sizeof *l->items);
			for (uint32_t j = 0; j < v->via.array.size; j++) {
				const msgpack_object *e = &v->via.array.ptr[j];
				if (e->type != MSGPACK_OBJECT_STR ||
				    e->via.str.size > REPORT_SHORT_MAX ||
				    memchr(e->via.str.ptr, 0, e->via.str.size) != NULL) {
					seterr(
					    err, errlen,
					    "%s[%u]: phải là chuỗi ngắn / must be a short string",
					    f->key, j);
					goto cleanup;
				}
				char *s = xmalloc(e->via.str.size + 1);
				memcpy(s, e->via.str.ptr, e->via.str.size);
				s[e->via.str.size] = '\0';
				l->items[l->count++] = s;
			}
			break;
		}
		}
	}
	if (report_validate(r, err, errlen) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(kind);
	msgpack_zone_destroy(&zone);
	if (rc != 0)
		report_clear(r);
	return rc;
}
