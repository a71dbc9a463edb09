/* test_summary.c: Mẫu 05 from sealed envelopes in a store: counts, CSV, HTML, signature. */
#include "note.h"
#include "store.h"
#include "summary.h"
#include "test_common.h"

#include <sodium.h>
#include <stdio.h>
#include <time.h>

static const char *template_path(void)
{
	const char *d = getenv("TBSC_TEMPLATES");
	static char path[512];
	snprintf(path, sizeof path, "%s/vi/mau05.html", d != NULL ? d : "templates");
	return path;
}

/* Unix ms of a local time in Asia/Ho_Chi_Minh (UTC+7). */
static int64_t local_ms(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return ((int64_t)timegm(&tm) - 7 * 3600) * 1000;
}

struct fixture {
	char *dir, *store_path;
	struct store *st;
	struct keypair *relay;
	struct registry *reg;
	struct keypair *keys[3]; /* tram-y-te, ubnd-thach-quang, truong-khac */
};

static const char *const agency_ids[3] = {"tram-y-te", "ubnd-thach-quang", "truong-khac"};

enum { TRAM, UBND, TRUONG };

/* Files one report through the store as intake would: a real envelope sealed to the relay. */
static void submit(struct fixture *fx, int who, int64_t at_ms, const char *kind,
                   const char *incident, const char *category, bool drill, const char *handling,
                   const char *loss, const char *supporters)
{
	char err[256], ts[32];
	struct report r;
	report_init(&r);
	snprintf(ts, sizeof ts, "%lld", (long long)(at_ms / 1000));
	const char *kv[][2] = {
	    {"kind", kind},
	    {"incident_id", incident},
	    {"category", category},
	    {"severity", "normal"},
	    {"created", ts},
	    {"detected", ts},
	    {"reporter_name", "Đơn vị báo cáo"},
	    {"reporter_address", "xã Thạch Quảng"},
	    {"reporter_phone", "0237 3870 123"},
	    {"reporter_email", "don-vi@thanhhoa.gov.vn"},
	    {"system_name", "Máy tính"},
	    {"operator", "Đơn vị vận hành"},
	    {"description", "Mô tả sự cố"},
	    {"result", "Đã xử lý xong"},
	    {"response_ended", ts},
	    {"handling", handling},
	    {"estimated_loss", loss},
	    {"supporters", supporters},
	};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
		if (kv[i][1] != NULL)
			ck_assert_msg(report_set(&r, kv[i][0], kv[i][1], err, sizeof err) == 0,
			              "%s: %s", kv[i][0], err);
	r.drill = drill;
	uint8_t *bytes, *env_bytes;
	size_t len, env_len;
	ck_assert_msg(report_encode(&r, &bytes, &len, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(envelope_create(fx->keys[who], agency_ids[who], fx->relay->xpk, bytes, len,
	                              (uint64_t)(at_ms / 1000), &env_bytes, &env_len, err,
	                              sizeof err) == 0,
	              "%s", err);
	struct envelope env;
	memset(&env, 0, sizeof env);
	ck_assert_msg(envelope_decode(env_bytes, env_len, &env, err, sizeof err) == 0, "%s", err);
	struct accept_req req;
	memset(&req, 0, sizeof req);
	envelope_hash(&env, req.hash);
	report_id_from_hash(req.hash, req.report_id);
	snprintf(req.agency, sizeof req.agency, "%s", agency_ids[who]);
	memcpy(req.nonce, env.nonce, sizeof req.nonce);
	snprintf(req.incident_id, sizeof req.incident_id, "%s", incident);
	req.kind = kind;
	req.category = category;
	req.severity = "normal";
	req.drill = drill;
	req.envelope = env_bytes;
	req.envelope_len = env_len;
	struct accept_req *batch[] = {&req};
	ck_assert_msg(store_accept_batch(fx->st, batch, 1, (uint64_t)at_ms, err, sizeof err) == 0,
	              "%s", err);
	ck_assert_int_eq(req.outcome, STORE_ACCEPTED);
	ck_assert_int_eq((int64_t)req.received_ms, at_ms);
	envelope_clear(&env);
	free(env_bytes);
	free(bytes);
	report_clear(&r);
}

static void fixture_setup(struct fixture *fx)
{
	char err[256];
	memset(fx, 0, sizeof *fx);
	fx->dir = fixture_tmpdir();
	fx->store_path = xasprintf("%s/relay.db", fx->dir);
	fx->st = store_open(fx->store_path, err, sizeof err);
	ck_assert_msg(fx->st != NULL, "%s", err);
	fx->relay = keypair_generate();
	fx->reg = registry_new();
	static const char *const names[3] = {"Trạm Y tế xã Thạch Quảng", "UBND xã Thạch Quảng",
	                                     "Trường Tiểu học xã Khác"};
	static const char *const roles[3] = {"unit", "commune_office", "unit"};
	static const char *const groups[3] = {"thach-quang", "thach-quang", "xa-khac"};
	for (int i = 0; i < 3; i++) {
		fx->keys[i] = keypair_generate();
		struct agency *a = registry_add(fx->reg, agency_ids[i], names[i], roles[i],
		                                groups[i], err, sizeof err);
		ck_assert_msg(a != NULL, "%s", err);
		agency_add_key(a, fx->keys[i]->pk, 0, INT64_MAX);
	}

	/* In time order: the store never lets received_ms go backwards. */
	submit(fx, TRAM, local_ms(2025, 12, 31, 23, 59, 59), "notification", "SC-OLD", "defacement",
	       false, NULL, NULL, NULL);
	submit(fx, TRAM, local_ms(2026, 1, 1, 0, 0, 0), "notification", "SC-NEW", "phishing", false,
	       NULL, NULL, NULL);
	submit(fx, TRAM, local_ms(2026, 2, 10, 9, 0, 0), "notification", "SC-A", "phishing", false,
	       NULL, NULL, NULL);
	submit(fx, TRUONG, local_ms(2026, 2, 11, 9, 0, 0), "notification", "SC-A", "dos", false,
	       NULL, NULL, NULL);
	submit(fx, TRAM, local_ms(2026, 2, 15, 9, 0, 0), "closing", "SC-OLD", "defacement", false,
	       "in_house", "100000", NULL);
	submit(fx, TRAM, local_ms(2026, 3, 1, 9, 0, 0), "closing", "SC-A", "phishing", false,
	       "in_house", "1000000", NULL);
	submit(fx, TRAM, local_ms(2026, 3, 2, 9, 0, 0), "notification", "SC-B", "malware", false,
	       NULL, NULL, NULL);
	submit(fx, TRAM, local_ms(2026, 3, 5, 9, 0, 0), "notification", "SC-DRILL", "ransomware",
	       true, NULL, NULL, NULL);
	submit(fx, TRAM, local_ms(2026, 3, 6, 9, 0, 0), "closing", "SC-DRILL", "ransomware", true,
	       "foreign_org", "9999", "Đối tác diễn tập");
	submit(fx, TRAM, local_ms(2026, 3, 10, 9, 0, 0), "closing", "SC-B", "malware", false,
	       "other_org", "2500000", "Đội ứng cứu sự cố tỉnh Thanh Hóa, Công ty ABC");
	submit(fx, TRUONG, local_ms(2026, 3, 12, 9, 0, 0), "closing", "SC-A", "dos", false,
	       "other_org", "700000", "=cmd|' /C calc'!A0,Bold <b>& Co</b>");
	submit(fx, UBND, local_ms(2026, 4, 1, 9, 0, 0), "notification", "SC-C", "malware", false,
	       NULL, NULL, NULL);
	submit(fx, UBND, local_ms(2026, 4, 10, 9, 0, 0), "closing", "SC-C", "ransomware", false,
	       "foreign_org", "10000000", "Kaspersky Lab");
	submit(fx, UBND, local_ms(2026, 4, 20, 9, 0, 0), "closing", "SC-C", "ransomware", false,
	       "foreign_org", "12000000", "Kaspersky Lab,Group-IB");
	submit(fx, UBND, local_ms(2026, 5, 1, 9, 0, 0), "notification", "SC-D", "dos", false, NULL,
	       NULL, NULL);
	submit(fx, UBND, local_ms(2026, 5, 3, 9, 0, 0), "closing", "SC-D", "dos", false,
	       "coordinator", NULL, "VNCERT");
	submit(fx, TRAM, local_ms(2026, 5, 5, 9, 0, 0), "notification", "SC-E", "intrusion", false,
	       NULL, NULL, NULL);
	submit(fx, TRAM, local_ms(2026, 5, 6, 9, 0, 0), "notification", "SC-J", "other_attack",
	       false, NULL, NULL, NULL);
	submit(fx, TRAM, local_ms(2026, 5, 7, 9, 0, 0), "closing", "SC-J", "other_attack", false,
	       NULL, NULL, NULL);
	submit(fx, TRAM, local_ms(2026, 5, 8, 9, 0, 0), "notification", "SC-K", "system_fault",
	       false, NULL, NULL, NULL);
	submit(fx, TRAM, local_ms(2026, 5, 9, 9, 0, 0), "closing", "SC-K", "system_fault", false,
	       "in_house", "500000", NULL);
	submit(fx, TRAM, local_ms(2026, 6, 30, 23, 0, 0), "notification", "SC-H", "malware", false,
	       NULL, NULL, NULL);
	submit(fx, TRAM, local_ms(2026, 7, 2, 10, 0, 0), "closing", "SC-H", "malware", false,
	       "in_house", "300000", NULL);
	submit(fx, TRAM, local_ms(2026, 7, 5, 9, 0, 0), "notification", "SC-Q", "phishing", false,
	       NULL, NULL, NULL);
}

static void fixture_teardown(struct fixture *fx)
{
	store_close(fx->st);
	for (int i = 0; i < 3; i++)
		keypair_free(fx->keys[i]);
	keypair_free(fx->relay);
	registry_free(fx->reg);
	char *cmd = xasprintf("rm -rf %s", fx->dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(fx->store_path);
	free(fx->dir);
}

static struct summary *build(struct fixture *fx, const char *period, const char *filter,
                             int64_t as_of)
{
	char err[256];
	struct summary *s = NULL;
	ck_assert_msg(summary_build_as_of(fx->store_path, fx->relay, fx->reg, period, filter, as_of,
	                                  &s, err, sizeof err) == 0,
	              "%s", err);
	return s;
}

/* count, then the six columns: in-house, other org, foreign, coordinator, unstated, not closed;
 * then loss. */
static void check_row(const struct summary_row *r, uint64_t count,
                      const uint64_t by[SUMMARY_COLUMN_COUNT], uint64_t loss)
{
	ck_assert_msg(r->count == count, "%s: count %llu, want %llu", r->category,
	              (unsigned long long)r->count, (unsigned long long)count);
	for (int c = 0; c < SUMMARY_COLUMN_COUNT; c++)
		ck_assert_msg(r->by[c] == by[c], "%s: column %d is %llu, want %llu", r->category, c,
		              (unsigned long long)r->by[c], (unsigned long long)by[c]);
	ck_assert_msg(r->loss == loss, "%s: loss %llu, want %llu", r->category,
	              (unsigned long long)r->loss, (unsigned long long)loss);
}

#define ROW(s, i, count, a, b, c, d, e, f, loss)                                                   \
	do {                                                                                       \
		const uint64_t by_[SUMMARY_COLUMN_COUNT] = {a, b, c, d, e, f};                     \
		check_row(&(s)->rows[i], count, by_, loss);                                        \
	} while (0)

START_TEST(periods_in_vietnam_time)
{
	int64_t from, until;
	ck_assert_int_eq(summary_period("2026H1", &from, &until), 0);
	ck_assert_int_eq(from * 1000, local_ms(2026, 1, 1, 0, 0, 0));
	ck_assert_int_eq(from, 1767200400); /* 2025-12-31 17:00:00 UTC */
	ck_assert_int_eq(until * 1000, local_ms(2026, 7, 1, 0, 0, 0));
	ck_assert_int_eq(summary_period("2026H2", &from, &until), 0);
	ck_assert_int_eq(from * 1000, local_ms(2026, 7, 1, 0, 0, 0));
	ck_assert_int_eq(until * 1000, local_ms(2027, 1, 1, 0, 0, 0));
	ck_assert_int_eq(summary_period("2026", &from, &until), 0);
	ck_assert_int_eq(from * 1000, local_ms(2026, 1, 1, 0, 0, 0));
	ck_assert_int_eq(until * 1000, local_ms(2027, 1, 1, 0, 0, 0));
	const char *bad[] = {"2026H3", "2026h1", "26H1", "2026H", "2026H12",
	                     "",       "20261",  "abcd", "2026 ", "1969"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(summary_period(bad[i], &from, &until) == -1, "accepted \"%s\"",
		              bad[i]);
}
END_TEST

START_TEST(counts_handling_losses_supporters)
{
	struct fixture fx;
	fixture_setup(&fx);
	struct summary *s = build(&fx, "2026H1", NULL, local_ms(2026, 7, 10, 0, 0, 0));
	/*                        count in  oth  for  crd  uns  open  loss */
	ROW(s, 0, 2, 0, 1, 0, 1, 0, 0,
	    700000); /* dos: SC-D (coordinator) + the other commune's SC-A */
	ROW(s, 1, 2, 1, 0, 0, 0, 0, 1,
	    1000000); /* phishing: SC-A closed, SC-NEW at 00:00 on 1 Jan, open */
	ROW(s, 2, 2, 1, 1, 0, 0, 0, 0,
	    2800000); /* malware: SC-B, and SC-H first seen 30 June, closed in July */
	ROW(s, 3, 1, 0, 0, 0, 0, 0, 1, 0); /* intrusion: no closing report */
	ROW(s, 4, 0, 0, 0, 0, 0, 0, 0, 0); /* defacement: SC-OLD began 23:59:59 on 31 Dec 2025 */
	ROW(s, 5, 1, 0, 0, 1, 0, 0, 0,
	    12000000); /* ransomware: SC-C reclassified; the later closing wins */
	ROW(s, 9, 1, 0, 0, 0, 0, 1, 0, 0);       /* other attacks: closed without handling */
	ROW(s, 10, 1, 1, 0, 0, 0, 0, 0, 500000); /* system fault, outside the form's total */
	const uint64_t total[SUMMARY_COLUMN_COUNT] = {2, 2, 1, 1, 1, 2};
	check_row(&s->attack_total, 9, total, 16500000);
	const uint64_t other[SUMMARY_COLUMN_COUNT] = {1, 0, 0, 0, 0, 0};
	check_row(&s->other_total, 1, other, 500000);
	ck_assert_uint_eq(s->drills_excluded, 1);
	ck_assert_uint_eq(s->unreadable, 0);
	ck_assert_str_eq(s->scope, "*");
	ck_assert_str_eq(s->rows[0].label_vi, "Từ chối dịch vụ");
	ck_assert_str_eq(s->rows[8].label_vi, "Tấn công tổng hợp sử dụng kết hợp nhiều hình thức");
	ck_assert_str_eq(s->rows[9].label_vi, "Các hình thức tấn công khác");
	/* Supporters: distinct and sorted per row; foreign ones apart; the drill's partner nowhere.
	 */
	ck_assert_uint_eq(s->rows[5].supporters.count, 2);
	ck_assert_str_eq(s->rows[5].supporters.items[0], "Group-IB");
	ck_assert_str_eq(s->rows[5].supporters.items[1], "Kaspersky Lab");
	ck_assert_uint_eq(s->rows[2].supporters.count, 2);
	ck_assert_str_eq(s->rows[2].supporters.items[0], "Công ty ABC");
	ck_assert_str_eq(s->rows[2].supporters.items[1], "Đội ứng cứu sự cố tỉnh Thanh Hóa");
	ck_assert_uint_eq(s->supporter_count, 7);
	size_t foreign = 0;
	for (size_t i = 0; i < s->supporter_count; i++) {
		ck_assert_msg(strcmp(s->supporters[i].name, "Đối tác diễn tập") != 0,
		              "a drill's supporter counted");
		foreign += s->supporters[i].foreign;
		ck_assert_uint_eq(s->supporters[i].incidents, 1);
	}
	ck_assert_uint_eq(foreign, 2);
	summary_free(s);

	/* As of the end of June, SC-H has no closing report yet. */
	s = build(&fx, "2026H1", NULL, local_ms(2026, 6, 30, 23, 59, 59));
	ROW(s, 2, 2, 0, 1, 0, 0, 0, 1, 2500000);
	summary_free(s);
	/* Before SC-C's correction the first closing report counts. */
	s = build(&fx, "2026H1", NULL, local_ms(2026, 4, 15, 0, 0, 0));
	ROW(s, 5, 1, 0, 0, 1, 0, 0, 0, 10000000);
	ROW(s, 2, 1, 0, 1, 0, 0, 0, 0, 2500000);
	summary_free(s);

	/* The group, one agency, the other commune. */
	s = build(&fx, "2026H1", "thach-quang", local_ms(2026, 7, 10, 0, 0, 0));
	ROW(s, 0, 1, 0, 0, 0, 1, 0, 0, 0);
	ck_assert_uint_eq(s->attack_total.count, 8);
	ck_assert_str_eq(s->org_name, "UBND xã Thạch Quảng");
	ck_assert_str_eq(s->scope, "thach-quang");
	summary_free(s);
	s = build(&fx, "2026H1", "tram-y-te", local_ms(2026, 7, 10, 0, 0, 0));
	ck_assert_uint_eq(s->rows[0].count, 0);
	ck_assert_uint_eq(s->rows[5].count, 0);
	ck_assert_uint_eq(s->attack_total.count, 6);
	ck_assert_uint_eq(s->drills_excluded, 1);
	ck_assert_str_eq(s->org_name, "Trạm Y tế xã Thạch Quảng");
	summary_free(s);
	s = build(&fx, "2026H1", "xa-khac", local_ms(2026, 7, 10, 0, 0, 0));
	ROW(s, 0, 1, 0, 1, 0, 0, 0, 0, 700000);
	ck_assert_uint_eq(s->attack_total.count, 1);
	ck_assert_uint_eq(s->drills_excluded, 0);
	summary_free(s);

	/* Other periods: SC-OLD in 2025H2 (closed later), SC-Q alone in 2026H2, everything in 2026.
	 */
	s = build(&fx, "2025H2", NULL, local_ms(2026, 7, 10, 0, 0, 0));
	ROW(s, 4, 1, 1, 0, 0, 0, 0, 0, 100000);
	ck_assert_uint_eq(s->attack_total.count, 1);
	summary_free(s);
	s = build(&fx, "2026H2", NULL, local_ms(2026, 7, 10, 0, 0, 0));
	ROW(s, 1, 1, 0, 0, 0, 0, 0, 1, 0);
	ck_assert_uint_eq(s->attack_total.count, 1);
	summary_free(s);
	s = build(&fx, "2026", NULL, local_ms(2026, 7, 10, 0, 0, 0));
	ck_assert_uint_eq(s->rows[1].count, 3);
	ck_assert_uint_eq(s->attack_total.count, 10);
	summary_free(s);

	char err[256];
	ck_assert_int_eq(
	    summary_build(fx.store_path, fx.relay, fx.reg, "2026H3", NULL, &s, err, sizeof err),
	    -1);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(summary_build("/nonexistent/relay.db", fx.relay, fx.reg, "2026H1", NULL,
	                               &s, err, sizeof err),
	                 -1);
	ck_assert_msg(strstr(err, "/nonexistent/relay.db") != NULL, "%s", err);
	fixture_teardown(&fx);
}
END_TEST

START_TEST(closing_reports_sealed_to_another_key)
{
	struct fixture fx;
	fixture_setup(&fx);
	/* After a relay key change the old envelopes cannot be opened: counted, but as unstated. */
	struct keypair *other = keypair_generate();
	char err[256];
	struct summary *s = NULL;
	ck_assert_int_eq(summary_build_as_of(fx.store_path, other, fx.reg, "2026H1", NULL,
	                                     local_ms(2026, 7, 10, 0, 0, 0), &s, err, sizeof err),
	                 0);
	ck_assert_uint_eq(s->attack_total.count, 9);
	ck_assert_uint_eq(s->attack_total.by[SUMMARY_UNSTATED], 7);
	ck_assert_uint_eq(s->attack_total.by[SUMMARY_NOT_CLOSED], 2);
	ck_assert_uint_eq(s->unreadable, 8);
	ck_assert_uint_eq(s->attack_total.loss, 0);
	summary_free(s);
	keypair_free(other);
	fixture_teardown(&fx);
}
END_TEST

START_TEST(csv_text_and_round_trip)
{
	struct fixture fx;
	fixture_setup(&fx);
	struct summary *s = build(&fx, "2026H1", NULL, local_ms(2026, 7, 10, 0, 0, 0));
	char *csv, err[256];
	size_t len;
	summary_render_csv(s, &csv, &len);
	ck_assert_uint_eq(strlen(csv), len);
	ck_assert(
	    memcmp(csv,
	           "\xef\xbb\xbf"
	           "period,scope,row,category,label_vi,label_en,count,in_house,other_org,"
	           "foreign_org,coordinator,unstated,not_closed,estimated_loss_vnd,supporters\r\n",
	           3 + 144) == 0);
	ck_assert_msg(strstr(csv, "\r\n2026H1,*,2,phishing,Tấn công giả mạo,Spoofing / "
	                          "phishing,2,1,0,0,0,0,1,1000000,\r\n") != NULL,
	              "%s", csv);
	/* A supporter that would be a spreadsheet formula is defused; commas and quotes are quoted.
	 */
	ck_assert_msg(
	    strstr(csv, "\r\n2026H1,*,1,dos,Từ chối dịch vụ,Denial of service,2,0,1,0,1,0,0,700000,"
	                "'=cmd|' /C calc'!A0; Bold <b>& Co</b>; VNCERT\r\n") != NULL,
	    "%s", csv);
	ck_assert_msg(
	    strstr(csv, "\r\n2026H1,*,6,ransomware,\"Mã hóa phần mềm, dữ liệu, thiết bị\","
	                "\"Encryption of software, data, "
	                "devices\",1,0,0,1,0,0,0,12000000,Group-IB; Kaspersky Lab\r\n") != NULL,
	    "%s", csv);
	ck_assert_msg(
	    strstr(csv, "\r\n2026H1,*,total,attack_total,Tổng số,Total,9,2,2,1,1,1,2,16500000,") !=
	        NULL,
	    "%s", csv);
	ck_assert_msg(strstr(csv, "\r\n2026H1,*,total_non_attack,non_attack_total,") != NULL, "%s",
	              csv);
	/* 1 header + 10 + total + 3 + total, each ending CRLF. */
	size_t lines = 0;
	for (const char *p = csv; (p = strstr(p, "\r\n")) != NULL; p += 2)
		lines++;
	ck_assert_uint_eq(lines, 16);
	/* Read back and written again: the same bytes. */
	struct summary *back = NULL;
	ck_assert_msg(summary_parse_csv(csv, len, &back, err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(back->rows[5].loss, 12000000);
	ck_assert_uint_eq(back->attack_total.count, 9);
	char *again;
	size_t again_len;
	summary_render_csv(back, &again, &again_len);
	ck_assert_uint_eq(again_len, len);
	ck_assert(memcmp(again, csv, len) == 0);
	char *text;
	summary_render_text(back, &text);
	ck_assert_msg(strstr(text, "Tấn công giả mạo") != NULL &&
	                  strstr(text, "16.500.000") != NULL,
	              "%s", text);
	free(text);
	free(again);
	summary_free(back);
	/* Damaged CSV is refused. */
	csv[len - 5] = ',';
	ck_assert_int_eq(summary_parse_csv(csv, len, &back, err, sizeof err), -1);
	ck_assert_int_eq(summary_parse_csv("period\r\n", 8, &back, err, sizeof err), -1);
	free(csv);
	summary_free(s);
	fixture_teardown(&fx);
}
END_TEST

START_TEST(html_document)
{
	struct fixture fx;
	fixture_setup(&fx);
	struct summary *s = build(&fx, "2026H1", "thach-quang", local_ms(2026, 7, 10, 0, 0, 0));
	char *html, err[512];
	size_t len;
	ck_assert_msg(summary_render_html(s, template_path(), &html, &len, err, sizeof err) == 0,
	              "%s", err);
	ck_assert_uint_eq(strlen(html), len);
	const char *want[] = {
	    "BÁO CÁO TỔNG HỢP 06 THÁNG VỀ HOẠT ĐỘNG TIẾP NHẬN VÀ XỬ LÝ SỰ CỐ",
	    "Từ tháng 01/2026 đến tháng 06/2026",
	    "Kính gửi: Trung tâm Ứng cứu khẩn cấp máy tính Việt Nam",
	    "Tên cơ quan/tổ chức: <b>UBND xã Thạch Quảng</b>",
	    "Số sự cố tự xử lý",
	    "Số sự cố có sự hỗ trợ xử lý từ các tổ chức khác",
	    "Số sự cố có hỗ trợ xử lý từ tổ chức nước ngoài",
	    "Thiệt hại ước tính",
	    "Nghe trộm, gián điệp, lấy cắp thông tin, dữ liệu",
	    "12.000.000",
	    "15.800.000", /* the group's attack total */
	    "2. Danh sách các tổ chức hỗ trợ xử lý sự cố",
	    "3. Danh sách các tổ chức nước ngoài hỗ trợ xử lý sự cố",
	    "4. Đề xuất kiến nghị",
	    "NGƯỜI ĐẠI DIỆN THEO PHÁP LUẬT",
	    "10/07/2026 00:00 (UTC+7)",
	    "Không tính 1 sự cố diễn tập",
	    "@page { size: A4 landscape;", /* CSS braces pass through */
	    "class=\"en\"",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		ck_assert_msg(strstr(html, want[i]) != NULL, "missing \"%s\"", want[i]);
	ck_assert_msg(strstr(html, "{org_name}") == NULL && strstr(html, "{attack_rows}") == NULL,
	              "placeholder left");
	summary_free(s);
	free(html);

	/* Text from reports is escaped; the annual title. */
	s = build(&fx, "2026", NULL, local_ms(2026, 7, 10, 0, 0, 0));
	ck_assert_msg(summary_render_html(s, template_path(), &html, &len, err, sizeof err) == 0,
	              "%s", err);
	ck_assert_msg(strstr(html, "Bold &lt;b&gt;&amp; Co&lt;/b&gt;") != NULL, "not escaped");
	ck_assert_msg(strstr(html, "<b>& Co") == NULL, "raw markup from a report");
	ck_assert_msg(strstr(html, "BÁO CÁO TỔNG HỢP 01 NĂM") != NULL, "annual title");
	ck_assert_msg(strstr(html, "Từ tháng 01/2026 đến tháng 12/2026") != NULL, "annual months");
	free(html);

	/* A template with an unknown placeholder names its file and line. */
	char *bad = xasprintf("%s/bad.html", fx.dir);
	FILE *f = fopen(bad, "w");
	ck_assert_ptr_nonnull(f);
	fputs("<p>{period}</p>\n<style>a { color: red }</style>\n<p>{peroid}</p>\n", f);
	fclose(f);
	ck_assert_int_eq(summary_render_html(s, bad, &html, &len, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "bad.html:3:") != NULL && strstr(err, "{peroid}") != NULL, "%s",
	              err);
	ck_assert_int_eq(
	    summary_render_html(s, "/nonexistent/mau05.html", &html, &len, err, sizeof err), -1);
	free(bad);
	summary_free(s);
	fixture_teardown(&fx);
}
END_TEST

START_TEST(signature_verifies_and_refuses_edits)
{
	struct fixture fx;
	fixture_setup(&fx);
	struct summary *s = build(&fx, "2026H1", "thach-quang", local_ms(2026, 7, 10, 0, 0, 0));
	char *csv, *html, *sig, err[512];
	size_t csv_len, html_len, sig_len;
	summary_render_csv(s, &csv, &csv_len);
	ck_assert_msg(summary_render_html(s, template_path(), &html, &html_len, err, sizeof err) ==
	                  0,
	              "%s", err);
	ck_assert_msg(summary_sign(s, fx.relay, csv, csv_len, html, html_len, &sig, &sig_len, err,
	                           sizeof err) == 0,
	              "%s", err);
	ck_assert_msg(
	    strncmp(sig, "tbsc-summary-v1\nperiod 2026H1\nscope thach-quang\nas-of ", 53) == 0,
	    "%s", sig);
	ck_assert_msg(strstr(sig, "\n\n— tbsc-summary ") != NULL, "%s", sig);

	struct summary_note note;
	ck_assert_msg(summary_verify(sig, sig_len, fx.relay->pk, "csv", (const uint8_t *)csv,
	                             csv_len, &note, err, sizeof err) == 0,
	              "%s", err);
	ck_assert_str_eq(note.period, "2026H1");
	ck_assert_str_eq(note.scope, "thach-quang");
	ck_assert_int_eq(note.as_of_ms, local_ms(2026, 7, 10, 0, 0, 0));
	ck_assert_msg(summary_verify(sig, sig_len, fx.relay->pk, "html", (const uint8_t *)html,
	                             html_len, NULL, err, sizeof err) == 0,
	              "%s", err);
	ck_assert_int_eq(
	    summary_verify(sig, sig_len, fx.relay->pk, NULL, NULL, 0, NULL, err, sizeof err), 0);

	/* One figure changed in the CSV, a word in the HTML, or the files swapped: refused. */
	char *p = strstr(csv, ",12000000,");
	ck_assert_ptr_nonnull(p);
	p[1] = '2';
	ck_assert_int_eq(summary_verify(sig, sig_len, fx.relay->pk, "csv", (const uint8_t *)csv,
	                                csv_len, NULL, err, sizeof err),
	                 -1);
	ck_assert_msg(strstr(err, "csv") != NULL, "%s", err);
	p[1] = '1';
	p = strstr(html, "12.000.000");
	ck_assert_ptr_nonnull(p);
	p[0] = '9';
	ck_assert_int_eq(summary_verify(sig, sig_len, fx.relay->pk, "html", (const uint8_t *)html,
	                                html_len, NULL, err, sizeof err),
	                 -1);
	p[0] = '1';
	ck_assert_int_eq(summary_verify(sig, sig_len, fx.relay->pk, "html", (const uint8_t *)csv,
	                                csv_len, NULL, err, sizeof err),
	                 -1);
	ck_assert_int_eq(summary_verify(sig, sig_len, fx.relay->pk, "pdf", (const uint8_t *)csv,
	                                csv_len, NULL, err, sizeof err),
	                 -1);

	/* Another relay's key; the note's text edited (the period); a truncated signature. */
	struct keypair *other = keypair_generate();
	ck_assert_int_eq(summary_verify(sig, sig_len, other->pk, "csv", (const uint8_t *)csv,
	                                csv_len, NULL, err, sizeof err),
	                 -1);
	keypair_free(other);
	char *edited = xstrdup(sig);
	memcpy(strstr(edited, "2026H1"), "2026H2", 6);
	ck_assert_int_eq(
	    summary_verify(edited, sig_len, fx.relay->pk, NULL, NULL, 0, NULL, err, sizeof err),
	    -1);
	free(edited);
	ck_assert_int_eq(
	    summary_verify(sig, sig_len - 10, fx.relay->pk, NULL, NULL, 0, NULL, err, sizeof err),
	    -1);

	/* A note validly signed by the relay's key under the same name but not a summary: refused.
	 */
	char *odd = NULL;
	size_t odd_len = 0;
	ck_assert_int_eq(note_sign("tbsc-summary-v1\nperiod 2026H1\n", 30, SUMMARY_NOTE_NAME,
	                           fx.relay->sk, &odd, &odd_len, err, sizeof err),
	                 0);
	ck_assert_int_eq(
	    summary_verify(odd, odd_len, fx.relay->pk, NULL, NULL, 0, NULL, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "tbsc-summary-v1") != NULL, "%s", err);
	free(odd);

	free(sig);
	free(csv);
	free(html);
	summary_free(s);
	fixture_teardown(&fx);
}
END_TEST

START_TEST(reminders_before_each_deadline)
{
	char which[16];
	int64_t s = 0;
	/* The 6-monthly report: before 20 June; the window opens 13 June 00:00 in Hà Nội (12 June
	 * 17:00 UTC). */
	ck_assert_int_eq(
	    summary_reminder_due(local_ms(2026, 6, 12, 23, 59, 59) / 1000, 0, which, sizeof which),
	    0);
	ck_assert_int_eq(summary_reminder_due(1781283600, 0, which, sizeof which),
	                 1); /* 2026-06-12 17:00:00 UTC */
	ck_assert_str_eq(which, "2026H1");
	s = local_ms(2026, 6, 13, 8, 0, 0) / 1000;
	ck_assert_int_eq(
	    summary_reminder_due(local_ms(2026, 6, 15, 9, 0, 0) / 1000, s, which, sizeof which), 0);
	ck_assert_int_eq(summary_reminder_due(local_ms(2026, 6, 19, 23, 59, 0) / 1000,
	                                      local_ms(2026, 1, 1, 0, 0, 0) / 1000, which,
	                                      sizeof which),
	                 1);
	ck_assert_int_eq(
	    summary_reminder_due(local_ms(2026, 6, 20, 0, 0, 0) / 1000, 0, which, sizeof which), 0);
	/* The annual report: before 15 December; a June reminder does not count for it. */
	ck_assert_int_eq(
	    summary_reminder_due(local_ms(2026, 12, 7, 23, 59, 59) / 1000, s, which, sizeof which),
	    0);
	ck_assert_int_eq(
	    summary_reminder_due(local_ms(2026, 12, 8, 0, 0, 0) / 1000, s, which, sizeof which), 1);
	ck_assert_str_eq(which, "2026");
	ck_assert_int_eq(summary_reminder_due(local_ms(2026, 12, 14, 12, 0, 0) / 1000,
	                                      local_ms(2026, 12, 8, 1, 0, 0) / 1000, which,
	                                      sizeof which),
	                 0);
	ck_assert_int_eq(
	    summary_reminder_due(local_ms(2026, 12, 15, 0, 0, 0) / 1000, 0, which, sizeof which),
	    0);
	ck_assert_int_eq(
	    summary_reminder_due(local_ms(2027, 3, 1, 0, 0, 0) / 1000, 0, which, sizeof which), 0);
	ck_assert_int_eq(summary_reminder_due(local_ms(2027, 6, 14, 0, 0, 0) / 1000,
	                                      local_ms(2026, 12, 8, 0, 0, 0) / 1000, which,
	                                      sizeof which),
	                 1);
	ck_assert_str_eq(which, "2027H1");
}
END_TEST

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	Suite *s = suite_create("summary");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, periods_in_vietnam_time);
	tcase_add_test(tc, counts_handling_losses_supporters);
	tcase_add_test(tc, closing_reports_sealed_to_another_key);
	tcase_add_test(tc, csv_text_and_round_trip);
	tcase_add_test(tc, html_document);
	tcase_add_test(tc, signature_verifies_and_refuses_edits);
	tcase_add_test(tc, reminders_before_each_deadline);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
