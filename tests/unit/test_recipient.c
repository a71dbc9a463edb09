/* test_recipient.c: the recipient's parsers: email attachments, webhook JSON, SMS codes. */
#include "recipient.h"
#include "test_common.h"

#include <sodium.h>

static int mime(const char *msg, uint8_t **out, size_t *len, char *err)
{
	return mime_notification(msg, strlen(msg), out, len, err, 256);
}

START_TEST(mime_variants)
{
	uint8_t *out;
	size_t len;
	char err[256];
	/* Nested multipart, folded headers, base64 in lines, LF line ends. */
	const char *nested =
	    "From: relay\nContent-Type: multipart/mixed;\n boundary=\"outer\"\n\npreamble\n"
	    "--outer\nContent-Type: multipart/alternative; boundary=inner\n\n"
	    "--inner\nContent-Type: text/plain\n\nhello\n--inner--\n"
	    "--outer\nContent-Type: application/octet-stream; name=\"thong-bao-x.TBSC\"\n"
	    "Content-Transfer-Encoding: base64\n\naGVs\nbG8g\ndGJzYw==\n--outer--\nepilogue\n";
	ck_assert_msg(mime(nested, &out, &len, err) == 0, "%s", err);
	ck_assert_uint_eq(len, 10);
	ck_assert(memcmp(out, "hello tbsc", 10) == 0);
	free(out);
	/* By content type, quoted-printable, CRLF. */
	const char *qp =
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: application/vnd.tbsc.notification\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n=00=FFab=\r\ncd\r\n--b--\r\n";
	ck_assert_msg(mime(qp, &out, &len, err) == 0, "%s", err);
	ck_assert_uint_eq(len, 6);
	ck_assert(memcmp(out,
	                 "\x00\xff"
	                 "abcd",
	                 6) == 0);
	free(out);
	/* A raw (8bit) attachment keeps its bytes; the CRLF before the delimiter is not part of it.
	 */
	const char *raw =
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Disposition: attachment; filename=a.tbsc\r\n\r\nxyz\r\n--b--\r\n";
	ck_assert_int_eq(mime(raw, &out, &len, err), 0);
	ck_assert_uint_eq(len, 3);
	free(out);
	/* The same notification attached twice is one; two different ones are refused. */
	const char *twice =
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Disposition: attachment; "
	    "filename=a.tbsc\n\nxyz\n--b\nContent-Disposition: attachment; "
	    "filename=b.tbsc\n\nxyz\n--b--\n";
	ck_assert_int_eq(mime(twice, &out, &len, err), 0);
	free(out);
	const char *two =
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Disposition: attachment; "
	    "filename=a.tbsc\n\nxyz\n--b\nContent-Disposition: attachment; "
	    "filename=b.tbsc\n\nxyw\n--b--\n";
	ck_assert_int_eq(mime(two, &out, &len, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "more than one"));
	/* Refusals, each with a reason. */
	const char *bad[] = {
	    "Subject: x\n\nno attachment\n",
	    "Content-Type: multipart/mixed\n\n--b\n\nx\n--b--\n",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
	    "application/vnd.tbsc.notification\n"
	    "Content-Transfer-Encoding: base64\n\n!!!!\n--b--\n",
	    "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: "
	    "application/vnd.tbsc.notification\n"
	    "Content-Transfer-Encoding: x-uuencode\n\nabc\n--b--\n",
	    "",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		out = NULL;
		ck_assert_msg(mime(bad[i], &out, &len, err) == -1, "case %zu accepted", i);
		ck_assert_ptr_null(out);
		ck_assert_msg(err[0] != '\0', "case %zu: no reason", i);
	}
	/* Nesting beyond the bound is refused, not recursed into. */
	char *deep = xstrdup("");
	for (int i = 0; i < 10; i++) {
		char *d = xasprintf("%sContent-Type: multipart/mixed; boundary=b%d\n\n--b%d\n",
		                    deep, i, i);
		free(deep);
		deep = d;
	}
	ck_assert_int_eq(mime(deep, &out, &len, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "deep"));
	free(deep);
}
END_TEST

START_TEST(json_strict)
{
	char *s, err[256];
	const char *good =
	    " {\"type\":\"x\",\"data\":{\"a\":[1,2.5e3,-0.1,true,false,null,{\"b\":\"c\"}],"
	    "\"notification_id\":\"\\u0041\\ud83d\\ude00\\n\\\"\"}} ";
	ck_assert_msg(
	    webhook_data_string(good, strlen(good), "notification_id", &s, err, sizeof err) == 0,
	    "%s", err);
	ck_assert_str_eq(s, "A😀\n\"");
	free(s);
	/* A member elsewhere than data.<member> does not count. */
	const char *elsewhere =
	    "{\"notification_id\":\"x\",\"data\":{\"inner\":{\"notification_id\":\"y\"}}}";
	ck_assert_int_eq(webhook_data_string(elsewhere, strlen(elsewhere), "notification_id", &s,
	                                     err, sizeof err),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "missing"));
	const char *bad[] = {
	    "",
	    "[]",
	    "{\"data\":{\"notification_id\":\"a\",\"notification_id\":\"b\"}}", /* duplicate */
	    "{\"data\":{\"notification_id\":\"a\"},\"data\":{\"notification_id\":\"b\"}}",
	    "{\"data\":{\"notification_id\":1}}",
	    "{\"data\":{\"notification_id\":\"a\"}} x",
	    "{\"data\":{\"notification_id\":\"a\x01\"}}",
	    "{\"data\":{\"notification_id\":\"\\ud800\"}}",
	    "{\"data\":{\"notification_id\":\"\\x\"}}",
	    "{\"data\":{\"notification_id\":\"a\",}}",
	    "{\"data\":{\"notification_id\":\"a\"}",
	    "{\"data\":{\"notification_id\":\"\xc3\x28\"}}", /* invalid UTF-8 */
	    "{\"data\":{\"n\":01x,\"notification_id\":\"a\"}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		s = NULL;
		ck_assert_msg(webhook_data_string(bad[i], strlen(bad[i]), "notification_id", &s,
		                                  err, sizeof err) == -1,
		              "case %zu accepted", i);
		ck_assert_ptr_null(s);
		ck_assert_msg(err[0] != '\0', "case %zu: no reason", i);
	}
	/* Deep nesting is bounded. */
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	char *doc = xasprintf("{\"data\":{\"x\":%.*s,\"notification_id\":\"a\"}}", 200, deep);
	ck_assert_int_eq(
	    webhook_data_string(doc, strlen(doc), "notification_id", &s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "deeply"));
	free(doc);
}
END_TEST

START_TEST(sms_codes)
{
	char found[11];
	ck_assert(
	    sms_text_has_code("[TBSC] Sự cố SC-1. Mã kiểm tra EKTZMLAON4", "EKTZMLAON4", found));
	ck_assert(
	    sms_text_has_code("ma kiem tra ektzmlaon4.", "EKTZMLAON4", found)); /* typed by hand */
	ck_assert(!sms_text_has_code("Mã kiểm tra EKTZMLAON5", "EKTZMLAON4", found));
	ck_assert_str_eq(found, "EKTZMLAON5");
	ck_assert(
	    !sms_text_has_code("EKTZMLAON4X", "EKTZMLAON4", found)); /* part of a longer word */
	ck_assert(!sms_text_has_code("no code here", "EKTZMLAON4", found));
	ck_assert_str_eq(found, "");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("recipient");
	TCase *tc = tcase_create("recipient");
	tcase_add_test(tc, mime_variants);
	tcase_add_test(tc, json_strict);
	tcase_add_test(tc, sms_codes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	return run_suite(suite());
}
