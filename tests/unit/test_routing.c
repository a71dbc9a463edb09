/* test_routing.c: recipients.ini parsing (file:line errors) and route resolution. */
#include "channel.h"
#include "routing.h"
#include "test_common.h"

#include <stdio.h>

static char *write_text(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static const char RECIPIENTS[] =
    "[recipient vp-a]\nrole = commune_office\ngroup = xa-a\nemail = vp@a.vn\nphone = +84900000001\n"
    "[recipient vp-b]\nrole = commune_office\ngroup = xa-b\nemail = vp@b.vn\n"
    "[recipient ca-tinh]\nrole = provincial_police\ngroup =\nemail = pa05@tinh.vn\nwebhook = "
    "https://pa05.tinh.vn/hook\n"
    "drill = no\n"
    "[recipient ttanm]\nrole = national_centre\nemail = ir@ttanm.vn\n"
    "[route all]\nto = *\nchannels = email, webhook\n"
    "[route serious]\nseverity = serious\nto = commune_office\nchannels = sms\n"
    "[route drills]\ndrill = yes\nto = commune_office, provincial_police\nchannels = email\n";

static int has(const struct route_target *t, size_t n, const char *id, enum channel_kind ch)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].recipient->id, id) == 0 && t[i].channel == ch)
			return 1;
	return 0;
}

START_TEST(resolve)
{
	char *dir = fixture_tmpdir(), err[2048];
	char *path = write_text(dir, "r.ini", RECIPIENTS);
	struct routing *r = routing_load(path, err, sizeof err);
	ck_assert_msg(r != NULL, "%s", err);
	struct route_target t[32];
	/* A normal report from commune A: its own office, the province and the nation; not commune
	 * B. */
	size_t n = routing_resolve(r, "xa-a", "notification", "malware", "normal", false, t, 32);
	ck_assert_uint_eq(n, 4);
	ck_assert(has(t, n, "vp-a", CHANNEL_EMAIL));
	ck_assert(!has(t, n, "vp-b", CHANNEL_EMAIL));
	ck_assert(has(t, n, "ca-tinh", CHANNEL_EMAIL) && has(t, n, "ca-tinh", CHANNEL_WEBHOOK));
	ck_assert(has(t, n, "ttanm", CHANNEL_EMAIL));
	ck_assert(!has(t, n, "vp-a", CHANNEL_SMS));
	/* Serious: the office also by SMS. */
	n = routing_resolve(r, "xa-a", "initial", "ransomware", "serious", false, t, 32);
	ck_assert(has(t, n, "vp-a", CHANNEL_SMS));
	ck_assert_uint_eq(n, 5);
	/* A drill: only the drill route applies, and only participants (ca-tinh said drill = no).
	 */
	n = routing_resolve(r, "xa-a", "notification", "dos", "serious", true, t, 32);
	ck_assert_uint_eq(n, 1);
	ck_assert(has(t, n, "vp-a", CHANNEL_EMAIL));
	routing_free(r);
	free(path);
	free(dir);
}
END_TEST

START_TEST(errors_have_lines)
{
	char *dir = fixture_tmpdir(), err[4096];
	char *path = write_text(
	    dir, "bad.ini",
	    "[recipient x]\nrole = mayor\nemail = not-an-address\nphone = 0912\nsms = fancy\n"
	    "[route r]\nkinds = gossip\nseverity = extreme\nchannels = pigeon\nto = "
	    "recipient:nobody\n"
	    "[elsewhere]\nk = v\n");
	ck_assert_ptr_null(routing_load(path, err, sizeof err));
	const char *want[] = {"bad.ini:2: role",     "bad.ini:3: email", "bad.ini:4: phone",
	                      "bad.ini:5: sms",      "bad.ini:7: kinds", "bad.ini:8: severity",
	                      "bad.ini:9: channels", "bad.ini:12:",      "nobody"};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		ck_assert_msg(strstr(err, want[i]) != NULL, "missing \"%s\" in:\n%s", want[i], err);
	free(path);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("routing");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, resolve);
	tcase_add_test(tc, errors_have_lines);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
