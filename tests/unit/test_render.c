/* test_render.c: notification texts: templates, Vietnamese, SMS codings and segments, escaping,
 * secrecy. */
#include "notify.h"
#include "recipient.h"
#include "render.h"
#include "test_common.h"

#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>

static const char *templates_dir(void)
{
	const char *d = getenv("TBSC_TEMPLATES");
	return d != NULL ? d : "templates";
}

static struct renderer *load(void)
{
	char err[512];
	struct renderer *r = render_load(templates_dir(), err, sizeof err);
	ck_assert_msg(r != NULL, "%s", err);
	return r;
}

static void fixture_notification(struct notification *n, bool drill)
{
	memset(n, 0, sizeof *n);
	for (int i = 0; i < WIRE_HASH_BYTES; i++)
		n->report_hash[i] = (uint8_t)(0xa0 + i);
	report_id_from_hash(n->report_hash, n->report_id);
	snprintf(n->incident_id, sizeof n->incident_id, "SC-20261125-0001");
	snprintf(n->agency, sizeof n->agency, "tram-y-te");
	snprintf(n->recipient, sizeof n->recipient, "cong-an-xa");
	snprintf(n->channel, sizeof n->channel, "email");
	snprintf(n->kind, sizeof n->kind, "initial");
	n->drill = drill;
	n->received_ms = 1764000000123ULL; /* 2025-11-24 16:00:00 UTC = 23:00:00 in Hà Nội */
	n->log_index = 4242;
	notify_id(n->report_id, n->recipient, n->channel, n->nid);
}

static const char *const all_fields[] = {"incident_id",
                                         "category",
                                         "severity",
                                         "created",
                                         "detected",
                                         "reporter_name",
                                         "reporter_address",
                                         "reporter_phone",
                                         "reporter_email",
                                         "contact_name",
                                         "contact_position",
                                         "contact_phone",
                                         "contact_email",
                                         "operator",
                                         "owner",
                                         "system_name",
                                         "level",
                                         "os",
                                         "purpose",
                                         "services",
                                         "controls",
                                         "ips",
                                         "domains",
                                         "attachments",
                                         "notified",
                                         "status",
                                         "detection_method",
                                         "detection_detail",
                                         "confidential",
                                         "description",
                                         "measures",
                                         "recommendations"};

static struct render_options options(const char *lang, bool ucs2, const char *const *fields,
                                     size_t n)
{
	struct render_options o;
	memset(&o, 0, sizeof o);
	o.language = lang;
	o.sms_ucs2 = ucs2;
	o.clear_fields = fields;
	o.clear_count = n;
	o.agency_name = "Trạm Y tế xã Thạch Quảng";
	o.recipient_name = "Công an xã Thạch Quảng";
	o.verify_url = "https://relay.thachquang.example";
	return o;
}

#define NFIELDS(a)             (sizeof(a) / sizeof(a)[0])
#define STARTS_WITH(s, prefix) (strncmp((s), (prefix), strlen(prefix)) == 0)

START_TEST(email_vietnamese)
{
	struct renderer *r = load();
	struct report rep;
	struct notification n;
	char *subject, *text, err[256];
	static const char *const fields[] = {"description", "contact_name", "detected", "notified",
	                                     "status"};
	fixture_report(&rep);
	fixture_notification(&n, false);
	struct render_options o = options("vi", true, fields, NFIELDS(fields));
	ck_assert_msg(render_email(r, &rep, &n, &o, &subject, &text, err, sizeof err) == 0, "%s",
	              err);
	ck_assert_msg(STARTS_WITH(subject, "[TBSC] "), "%s", subject);
	ck_assert_ptr_nonnull(strstr(subject, "Báo cáo ban đầu (Mẫu 03)"));
	ck_assert_ptr_nonnull(strstr(subject, "Mã hóa phần mềm, dữ liệu, thiết bị"));
	ck_assert_ptr_nonnull(strstr(subject, "Nghiêm trọng"));
	ck_assert_ptr_nonnull(strstr(subject, "Trạm Y tế xã Thạch Quảng"));
	ck_assert_ptr_nonnull(strstr(subject, "SC-20261125-0001"));
	ck_assert_ptr_null(strstr(subject, "DIỄN TẬP"));
	ck_assert_ptr_null(strchr(subject, '\n'));
	/* The text: ids, log index, time in Asia/Ho_Chi_Minh, how to verify and open. */
	ck_assert_ptr_nonnull(strstr(text, "Kính gửi: Công an xã Thạch Quảng"));
	ck_assert_ptr_nonnull(strstr(text, n.report_id));
	ck_assert_ptr_nonnull(strstr(text, "4242"));
	ck_assert_msg(strstr(text, "24/11/2025 23:00:00 (giờ Việt Nam, UTC+07:00)") != NULL, "%s",
	              text);
	ck_assert_ptr_nonnull(strstr(text, "incident verify"));
	ck_assert_ptr_nonnull(strstr(text, "incident open"));
	ck_assert_ptr_nonnull(strstr(text, n.nid));
	/* Clear fields, with Vietnamese labels; a multi-line description stays readable. */
	ck_assert_ptr_nonnull(strstr(text, "Người liên hệ: họ và tên: Nguyễn Thị Hà"));
	ck_assert_ptr_nonnull(strstr(
	    text, "Máy tính tiếp đón bị mã hóa dữ liệu; yêu cầu tiền chuộc.\n      Đã cách ly"));
	ck_assert_ptr_nonnull(strstr(text, "Chưa được xử lý"));
	ck_assert_ptr_nonnull(strstr(text, "Cơ quan điều phối"));
	/* Not configured: not shown. */
	ck_assert_ptr_null(strstr(text, "0912 345 678"));
	ck_assert_ptr_null(strstr(text, "203.0.113.7"));
	free(subject);
	free(text);
	report_clear(&rep);
	render_free(r);
}
END_TEST

START_TEST(email_confidential_report)
{
	struct renderer *r = load();
	struct report rep;
	struct notification n;
	char *subject, *text, *json, err[256];
	fixture_report(&rep);
	rep.confidential = true;
	fixture_notification(&n, false);
	struct render_options o = options("vi", true, all_fields, NFIELDS(all_fields));
	ck_assert_int_eq(render_email(r, &rep, &n, &o, &subject, &text, err, sizeof err), 0);
	ck_assert_ptr_null(strstr(text, "Nguyễn Thị Hà"));
	ck_assert_ptr_null(strstr(text, "tiền chuộc"));
	ck_assert_ptr_null(strstr(text, "203.0.113"));
	ck_assert_ptr_null(strstr(text, "0237 3870 123"));
	ck_assert_ptr_nonnull(strstr(text, "giữ bí mật"));
	ck_assert_ptr_nonnull(strstr(text, "SC-20261125-0001"));
	uint8_t blob[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	n.channel[0] = '\0';
	snprintf(n.channel, sizeof n.channel, "webhook");
	ck_assert_int_eq(render_webhook(r, &rep, &n, &o, blob, sizeof blob, &json, err, sizeof err),
	                 0);
	ck_assert_ptr_null(strstr(json, "Nguyễn Thị Hà"));
	ck_assert_ptr_null(strstr(json, "tiền chuộc"));
	ck_assert_ptr_null(strstr(json, "203.0.113"));
	ck_assert_ptr_null(strstr(json, "reporter_name"));
	ck_assert_msg(
	    strstr(json,
	           "\"fields\":{\"incident_id\":\"SC-20261125-0001\",\"category\":\"ransomware\","
	           "\"severity\":\"serious\"}") != NULL,
	    "%s", json);
	free(json);
	free(subject);
	free(text);
	report_clear(&rep);
	render_free(r);
}
END_TEST

START_TEST(drill_everywhere)
{
	struct renderer *r = load();
	struct report rep;
	struct notification n;
	char *subject, *text, *sms, *json, err[256];
	unsigned seg;
	uint8_t blob[8] = {0};
	static const char *const langs[] = {"vi", "en"};
	fixture_report(&rep);
	rep.drill = true;
	fixture_notification(&n, true);
	for (size_t i = 0; i < 2; i++) {
		struct render_options o = options(langs[i], true, NULL, 0);
		ck_assert_int_eq(render_email(r, &rep, &n, &o, &subject, &text, err, sizeof err),
		                 0);
		ck_assert_msg(STARTS_WITH(subject, "[TBSC] [DIỄN TẬP"), "%s", subject);
		ck_assert_ptr_nonnull(strstr(text, "DIỄN TẬP"));
		ck_assert_int_eq(
		    render_sms(r, &rep, &n, &o, blob, sizeof blob, &sms, &seg, err, sizeof err), 0);
		ck_assert_msg(strstr(sms, "DIỄN TẬP") != NULL, "%s", sms);
		free(sms);
		o.sms_ucs2 = false;
		ck_assert_int_eq(
		    render_sms(r, &rep, &n, &o, blob, sizeof blob, &sms, &seg, err, sizeof err), 0);
		ck_assert_msg(strstr(sms, "DIEN TAP") != NULL, "%s", sms);
		free(sms);
		ck_assert_int_eq(
		    render_webhook(r, &rep, &n, &o, blob, sizeof blob, &json, err, sizeof err), 0);
		ck_assert_ptr_nonnull(strstr(json, "\"drill\":true"));
		ck_assert_ptr_nonnull(strstr(json, "\"drill_label\":\"DIỄN TẬP"));
		free(json);
		free(subject);
		free(text);
	}
	/* A drill flagged only in the report (or only in the notification) is still marked. */
	n.drill = false;
	struct render_options o = options("vi", true, NULL, 0);
	ck_assert_int_eq(render_email(r, &rep, &n, &o, &subject, &text, err, sizeof err), 0);
	ck_assert_ptr_nonnull(strstr(subject, "DIỄN TẬP"));
	free(subject);
	free(text);
	report_clear(&rep);
	render_free(r);
}
END_TEST

START_TEST(email_english)
{
	struct renderer *r = load();
	struct report rep;
	struct notification n;
	char *subject, *text, err[256];
	static const char *const fields[] = {"contact_name"};
	fixture_report(&rep);
	fixture_notification(&n, false);
	struct render_options o = options("en", true, fields, 1);
	ck_assert_int_eq(render_email(r, &rep, &n, &o, &subject, &text, err, sizeof err), 0);
	ck_assert_msg(STARTS_WITH(subject, "[TBSC] initial report (Mẫu 03) - Encryption"), "%s",
	              subject);
	ck_assert_ptr_nonnull(strstr(text, "2025-11-24 23:00:00 (Asia/Ho_Chi_Minh, UTC+07:00)"));
	ck_assert_ptr_nonnull(strstr(text, "Contact name: Nguyễn Thị Hà"));
	free(subject);
	free(text);
	/* Unknown language, unknown clear field: refused with a reason. */
	o.language = "fr";
	ck_assert_int_eq(render_email(r, &rep, &n, &o, &subject, &text, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "fr"));
	static const char *const bad[] = {"password"};
	o = options("vi", true, bad, 1);
	ck_assert_int_eq(render_email(r, &rep, &n, &o, &subject, &text, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "password"));
	ck_assert_int_eq(render_check_fields(all_fields, NFIELDS(all_fields), err, sizeof err), 0);
	report_clear(&rep);
	render_free(r);
}
END_TEST

START_TEST(header_safe_subject)
{
	struct renderer *r = load();
	struct report rep;
	struct notification n;
	char *subject, *text, err[256];
	fixture_report(&rep);
	fixture_notification(&n, false);
	struct render_options o = options("vi", true, NULL, 0);
	o.agency_name = "Evil\r\nBcc: victim@example.com\x07\xe2\x80\xae";
	ck_assert_int_eq(render_email(r, &rep, &n, &o, &subject, &text, err, sizeof err), 0);
	ck_assert_ptr_null(strpbrk(subject, "\r\n\x07"));
	ck_assert_ptr_null(strstr(subject, "\xe2\x80\xae"));
	ck_assert_ptr_nonnull(strstr(subject, "Evil Bcc: victim@example.com"));
	ck_assert_ptr_null(strpbrk(text, "\r\x07"));
	ck_assert_ptr_null(strstr(text, "\xe2\x80\xae"));
	free(subject);
	free(text);
	/* Long names are cut, the subject stays bounded. */
	char long_name[2000];
	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	o.agency_name = long_name;
	ck_assert_int_eq(render_email(r, &rep, &n, &o, &subject, &text, err, sizeof err), 0);
	ck_assert_uint_le(strlen(subject), 4 * 200 + 3);
	free(subject);
	free(text);
	report_clear(&rep);
	render_free(r);
}
END_TEST

START_TEST(sms_variants)
{
	struct renderer *r = load();
	struct report rep;
	struct notification n;
	char *sms, err[256], code[11];
	unsigned seg;
	uint8_t blob[32];
	for (size_t i = 0; i < sizeof blob; i++)
		blob[i] = (uint8_t)i;
	notify_sms_code(blob, sizeof blob, code);
	fixture_report(&rep);
	fixture_notification(&n, false);
	snprintf(n.channel, sizeof n.channel, "sms");
	struct render_options o = options("vi", true, all_fields, NFIELDS(all_fields));
	ck_assert_int_eq(
	    render_sms(r, &rep, &n, &o, blob, sizeof blob, &sms, &seg, err, sizeof err), 0);
	ck_assert_msg(
	    STARTS_WITH(
	        sms,
	        "[TBSC] BC ban đầu: Mã hóa phần mềm, dữ liệu, thiết bị, Nghiêm trọng. Trạm Y tế xã "
	        "Thạch Quảng. Sự cố SC-20261125-0001, BC "),
	    "%s", sms);
	ck_assert_ptr_nonnull(strstr(sms, code));
	char prefix[9];
	snprintf(prefix, sizeof prefix, "%.8s", n.report_id);
	ck_assert_ptr_nonnull(strstr(sms, prefix));
	ck_assert_uint_eq(seg, render_sms_segments(sms, true));
	ck_assert_uint_ge(seg, 2);
	/* NFC: a decomposed input comes out composed. */
	char *nfc = render_nfc("Tra\xcc\xa3m"); /* a + combining dot below */
	ck_assert_str_eq(nfc, "Trạm");
	free(nfc);
	/* Confidential fields never appear, whatever clear_fields says. */
	const char *secrets[] = {"Nguyễn",           "0912", "0237",  "203.0.113", "tiền chuộc",
	                         "Thôn Quảng Thịnh", "@",    "ha.nt", "cách ly"};
	for (size_t i = 0; i < NFIELDS(secrets); i++)
		ck_assert_msg(strstr(sms, secrets[i]) == NULL, "SMS carries \"%s\": %s", secrets[i],
		              sms);
	free(sms);
	/* The không dấu variant: GSM-7 only, same facts, same code. */
	o.sms_ucs2 = false;
	ck_assert_int_eq(
	    render_sms(r, &rep, &n, &o, blob, sizeof blob, &sms, &seg, err, sizeof err), 0);
	ck_assert_msg(
	    STARTS_WITH(
	        sms,
	        "[TBSC] BC ban dau: Ma hoa phan mem, du lieu, thiet bi, Nghiem trong. Tram Y te xa "
	        "Thach Quang. Su co SC-20261125-0001, BC "),
	    "%s", sms);
	ck_assert_ptr_nonnull(strstr(sms, code));
	for (const unsigned char *p = (const unsigned char *)sms; *p; p++)
		ck_assert_msg(*p < 0x80, "non-ASCII in GSM text: %s", sms);
	ck_assert_uint_eq(seg, render_sms_segments(sms, false));
	for (size_t i = 0; i < NFIELDS(secrets); i++)
		ck_assert_msg(strstr(sms, secrets[i]) == NULL, "SMS carries \"%s\": %s", secrets[i],
		              sms);
	free(sms);
	/* No notification bytes, no code: refused. */
	ck_assert_int_eq(render_sms(r, &rep, &n, &o, NULL, 0, &sms, &seg, err, sizeof err), -1);
	report_clear(&rep);
	render_free(r);
}
END_TEST

START_TEST(diacritics)
{
	char *s = render_gsm7("Sự cố nghiêm trọng tại Trạm Y tế xã Thạch Quảng");
	ck_assert_str_eq(s, "Su co nghiem trong tai Tram Y te xa Thach Quang");
	free(s);
	s = render_gsm7("Đội ứng cứu đã đến; “khẩn” – ổ đĩa hỏng… ưu tiên Ơ Ư ă â ê ô ơ ư đ");
	ck_assert_str_eq(s,
	                 "Doi ung cuu da den; \"khan\" - o dia hong... uu tien O U a a e o o u d");
	free(s);
	/* Composed or decomposed input gives the same result. */
	s = render_gsm7("Tra\xcc\xa3m");
	ck_assert_str_eq(s, "Tram");
	free(s);
	/* GSM characters stay; others become '?'; controls go. */
	s = render_gsm7("@£$ {€} 中\x01");
	ck_assert_str_eq(s, "@£$ {€} ?");
	free(s);
}
END_TEST

static char *repeat(const char *unit, size_t n)
{
	size_t u = strlen(unit);
	char *s = xmalloc(u * n + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	s[u * n] = '\0';
	return s;
}

START_TEST(segments)
{
	static const struct {
		const char *unit;
		size_t n;
		bool ucs2;
		unsigned want;
	} cases[] = {
	    {"a", 160, false, 1}, {"a", 161, false, 2},
	    {"a", 306, false, 2}, {"a", 307, false, 3},
	    {"{", 80, false, 1},  {"{", 81, false, 2}, /* extension characters count 2 */
	    {"€", 80, false, 1},  {"a", 1, false, 1},
	    {"ạ", 70, true, 1},   {"ạ", 71, true, 2},
	    {"ạ", 134, true, 2},  {"ạ", 135, true, 3},
	    {"a", 70, true, 1},   {"a", 71, true, 2},  /* UCS-2 chosen: 70 / 67 even for ASCII */
	    {"ạ", 70, false, 1},  {"ạ", 71, false, 2}, /* not GSM: counted as UCS-2 */
	    {"😀", 35, true, 1},   {"😀", 36, true, 2},  /* two UTF-16 units each */
	};
	for (size_t i = 0; i < NFIELDS(cases); i++) {
		char *s = repeat(cases[i].unit, cases[i].n);
		ck_assert_msg(render_sms_segments(s, cases[i].ucs2) == cases[i].want,
		              "case %zu: %u, want %u", i, render_sms_segments(s, cases[i].ucs2),
		              cases[i].want);
		free(s);
	}
	/* 152 'a' then '{': 154 septets in 2 parts; the escape pair does not straddle parts. */
	char *s = repeat("a", 152);
	char *t = xasprintf("%s{%s", s, "aaaaaaaaaa");
	ck_assert_uint_eq(render_sms_segments(t, false), 2);
	free(t);
	free(s);
	s = repeat("a", 152);
	char *u =
	    repeat("{", 77); /* 152 + 154 = 306 septets, but the first '{' cannot split: 3 parts */
	t = xasprintf("%s%s", s, u);
	ck_assert_uint_eq(render_sms_segments(t, false), 3);
	free(t);
	free(u);
	free(s);
}
END_TEST

START_TEST(json_escaping)
{
	char *e = render_json_escape(
	    "a\"b\\c\nd\re\tf\x01g\x1f\x7fh\xe2\x80\xa8i\xe2\x80\xaej \xc3\xa9 \xff");
	ck_assert_str_eq(
	    e, "a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001f\\u007fh\\u2028i\\u202ej é \\ufffd");
	free(e);
	struct renderer *r = load();
	struct report rep;
	struct notification n;
	char *json, err[256];
	uint8_t blob[3] = {0xfb, 0xff, 0x00};
	static const char *const fields[] = {"description", "ips", "level", "detected",
	                                     "confidential"};
	fixture_report(&rep);
	free(rep.description);
	rep.description = xstrdup("Dòng 1 \"trích\"\nDòng 2\x02</script>");
	rep.level = 3;
	fixture_notification(&n, false);
	snprintf(n.channel, sizeof n.channel, "webhook");
	notify_id(n.report_id, n.recipient, n.channel, n.nid);
	struct render_options o = options("vi", true, fields, NFIELDS(fields));
	ck_assert_int_eq(render_webhook(r, &rep, &n, &o, blob, sizeof blob, &json, err, sizeof err),
	                 0);
	ck_assert_msg(
	    STARTS_WITH(json,
	                "{\"type\":\"incident.report\",\"timestamp\":\"2025-11-24T16:00:00.123Z\","
	                "\"data\":{\"notification_id\":"),
	    "%s", json);
	ck_assert_ptr_nonnull(
	    strstr(json, "\"description\":\"Dòng 1 \\\"trích\\\"\\nDòng 2\\u0002</script>\""));
	ck_assert_ptr_nonnull(strstr(json, "\"ips\":[\"203.0.113.7\",\"203.0.113.8\"]"));
	ck_assert_ptr_nonnull(strstr(json, "\"level\":3"));
	ck_assert_ptr_nonnull(strstr(json, "\"detected\":\"2025-11-24T20:13:20+07:00\""));
	ck_assert_ptr_nonnull(strstr(json, "\"confidential\":false"));
	ck_assert_ptr_nonnull(strstr(json, "\"notification\":\"+/8A\"}}"));
	ck_assert_ptr_nonnull(strstr(json, n.nid));
	ck_assert_ptr_nonnull(strstr(json, "\"subject\":\"[TBSC] "));
	for (const char *p = json; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20, "raw control character in JSON");
	/* The body is a function of its inputs: a retry sends the same bytes. */
	char *again;
	ck_assert_int_eq(
	    render_webhook(r, &rep, &n, &o, blob, sizeof blob, &again, err, sizeof err), 0);
	ck_assert_str_eq(json, again);
	free(again);
	free(json);
	report_clear(&rep);
	render_free(r);
}
END_TEST

/* Through the webhook JSON and back with the recipient's strict parser: Vietnamese survives intact.
 */
START_TEST(json_roundtrip)
{
	struct renderer *r = load();
	struct report rep;
	struct notification n;
	char *json, *back, err[256];
	uint8_t blob[4] = {1, 2, 3, 4};
	fixture_report(&rep);
	fixture_notification(&n, false);
	struct render_options o = options("vi", true, NULL, 0);
	o.agency_name = "Trạm \"Y tế\" xã\tThạch Quảng \\ Đội ứng cứu 😀";
	ck_assert_int_eq(render_webhook(r, &rep, &n, &o, blob, sizeof blob, &json, err, sizeof err),
	                 0);
	ck_assert_msg(
	    webhook_data_string(json, strlen(json), "agency_name", &back, err, sizeof err) == 0,
	    "%s", err);
	ck_assert_str_eq(back, "Trạm \"Y tế\" xã Thạch Quảng \\ Đội ứng cứu 😀");
	free(back);
	ck_assert_int_eq(
	    webhook_data_string(json, strlen(json), "category_label", &back, err, sizeof err), 0);
	ck_assert_str_eq(back, "Mã hóa phần mềm, dữ liệu, thiết bị");
	free(back);
	uint8_t *bytes;
	size_t len;
	ck_assert_int_eq(webhook_notification(json, strlen(json), &bytes, &len, err, sizeof err),
	                 0);
	ck_assert_uint_eq(len, sizeof blob);
	ck_assert(memcmp(bytes, blob, len) == 0);
	free(bytes);
	ck_assert_int_eq(webhook_matches(json, strlen(json), &n, err, sizeof err), 0);
	free(json);
	report_clear(&rep);
	render_free(r);
}
END_TEST

static void write_file(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(p);
}

static void copy_file(const char *from, const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", from, name);
	uint8_t *buf;
	size_t len;
	char err[256];
	ck_assert_msg(file_read_all(p, 1 << 20, &buf, &len, err, sizeof err) == 0, "%s", err);
	char *s = xmalloc(len + 1);
	memcpy(s, buf, len);
	s[len] = '\0';
	write_file(dir, name, s);
	free(s);
	free(buf);
	free(p);
}

/* A copy of templates/vi with one file replaced; returns the error render_load gives. */
static int load_with(const char *name, const char *text, char *err, size_t errlen)
{
	char *root = fixture_tmpdir();
	char *vi = xasprintf("%s/vi", root);
	char *src = xasprintf("%s/vi", templates_dir());
	ck_assert_int_eq(mkdir(vi, 0700), 0);
	static const char *const files[] = {"email-subject.txt", "email-text.txt", "sms.txt",
	                                    "labels.txt"};
	for (size_t i = 0; i < 4; i++)
		copy_file(src, vi, files[i]);
	if (name != NULL)
		write_file(vi, name, text);
	struct renderer *r = render_load(root, err, errlen);
	int rc = r != NULL ? 0 : -1;
	render_free(r);
	char *cmd = xasprintf("rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(src);
	free(vi);
	free(root);
	return rc;
}

START_TEST(template_errors)
{
	char err[512];
	ck_assert_msg(load_with(NULL, NULL, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(
	    load_with("sms.txt", "[TBSC] {kind_label} {clear_fields}\n", err, sizeof err), -1);
	ck_assert_msg(strstr(err, "sms.txt:1") != NULL && strstr(err, "clear_fields") != NULL, "%s",
	              err);
	ck_assert_int_eq(load_with("sms.txt", "[TBSC] {description}\n", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "description"));
	ck_assert_int_eq(load_with("email-text.txt", "ok\nline two {nonsense}\n", err, sizeof err),
	                 -1);
	ck_assert_msg(strstr(err, "email-text.txt:2") != NULL, "%s", err);
	ck_assert_int_eq(load_with("email-subject.txt", "Sự cố {incident_id}\n", err, sizeof err),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "[TBSC]"));
	ck_assert_int_eq(load_with("email-subject.txt", "[TBSC] a\nb\n", err, sizeof err), -1);
	ck_assert_int_eq(load_with("labels.txt", "drill_mark = x\n", err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "missing label"));
	ck_assert_int_eq(load_with("labels.txt", "yes = a\nyes = b\n", err, sizeof err), -1);
	ck_assert_msg(strstr(err, "labels.txt:2") != NULL, "%s", err);
	/* "{{" is a literal brace. */
	ck_assert_msg(load_with("email-text.txt", "{{not a placeholder} {incident_id}\n", err,
	                        sizeof err) == 0,
	              "%s", err);
	/* No directory, no Vietnamese: refused. */
	ck_assert_ptr_null(render_load("/nonexistent/templates", err, sizeof err));
	char *empty = fixture_tmpdir();
	ck_assert_ptr_null(render_load(empty, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "vi"));
	rmdir(empty);
	free(empty);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("render");
	tcase_add_test(tc, email_vietnamese);
	tcase_add_test(tc, email_confidential_report);
	tcase_add_test(tc, drill_everywhere);
	tcase_add_test(tc, email_english);
	tcase_add_test(tc, header_safe_subject);
	tcase_add_test(tc, sms_variants);
	tcase_add_test(tc, diacritics);
	tcase_add_test(tc, segments);
	tcase_add_test(tc, json_escaping);
	tcase_add_test(tc, json_roundtrip);
	tcase_add_test(tc, template_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	return run_suite(suite());
}
