/* test_common.h: helpers shared by the unit tests (fixtures built in memory or in a temp dir). */
#ifndef TBSC_TEST_COMMON_H
#define TBSC_TEST_COMMON_H

#include "report.h"
#include "util.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A valid initial report (Mẫu 03) with Vietnamese text. */
static inline void fixture_report(struct report *r)
{
	char err[256];
	report_init(r);
	const char *kv[][2] = {
	    {"kind", "initial"},
	    {"incident_id", "SC-20261125-0001"},
	    {"category", "ransomware"},
	    {"severity", "serious"},
	    {"created", "1764000000"},
	    {"detected", "1763990000"},
	    {"reporter_name", "Trạm Y tế xã Thạch Quảng"},
	    {"reporter_address", "Thôn Quảng Thịnh, xã Thạch Quảng, tỉnh Thanh Hóa"},
	    {"reporter_phone", "0237 3870 123"},
	    {"reporter_email", "tyt.thachquang@thanhhoa.gov.vn"},
	    {"contact_name", "Nguyễn Thị Hà"},
	    {"contact_phone", "0912 345 678"},
	    {"contact_email", "ha.nt@thanhhoa.gov.vn"},
	    {"operator", "Trạm Y tế xã Thạch Quảng"},
	    {"status", "not_handled"},
	    {"detection_method", "logs"},
	    {"notified", "network_member,coordinator"},
	    {"ips", "203.0.113.7, 203.0.113.8"},
	    {"description",
	     "Máy tính tiếp đón bị mã hóa dữ liệu; yêu cầu tiền chuộc.\nĐã cách ly khỏi mạng."},
	};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
		ck_assert_msg(report_set(r, kv[i][0], kv[i][1], err, sizeof err) == 0, "%s: %s",
		              kv[i][0], err);
}

/* A fresh temporary directory (caller removes it with rm -rf if it wants). */
static inline char *fixture_tmpdir(void)
{
	char *t = xstrdup("/tmp/tbsc-unit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t));
	return t;
}

static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
