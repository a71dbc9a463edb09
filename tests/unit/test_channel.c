/* test_channel.c: the channels' shared helpers (Retry-After, HTTP classes, detail lines, UTF-8)
 * and what the channels refuse before touching the network. The real servers are in
 * tests/integration/t_channel_*.sh. */
#include "channel_impl.h"
#include "test_common.h"

#include <signal.h>

START_TEST(names)
{
	ck_assert_str_eq(channel_names[CHANNEL_EMAIL], "email");
	ck_assert_str_eq(channel_names[CHANNEL_SMS], "sms");
	ck_assert_str_eq(channel_names[CHANNEL_WEBHOOK], "webhook");
	ck_assert_str_eq(delivery_outcome_name(DELIVERY_OK), "OK");
	ck_assert_str_eq(delivery_outcome_name(DELIVERY_TEMPORARY), "TEMPORARY");
	ck_assert_str_eq(delivery_outcome_name(DELIVERY_PERMANENT), "PERMANENT");
	ck_assert_str_eq(delivery_outcome_name(DELIVERY_GONE), "GONE");
}
END_TEST

START_TEST(http_classes)
{
	ck_assert_int_eq(channel_http_outcome(200), DELIVERY_OK);
	ck_assert_int_eq(channel_http_outcome(204), DELIVERY_OK);
	ck_assert_int_eq(channel_http_outcome(202), DELIVERY_OK);
	ck_assert_int_eq(channel_http_outcome(410), DELIVERY_GONE);
	ck_assert_int_eq(channel_http_outcome(408), DELIVERY_TEMPORARY);
	ck_assert_int_eq(channel_http_outcome(429), DELIVERY_TEMPORARY);
	ck_assert_int_eq(channel_http_outcome(500), DELIVERY_TEMPORARY);
	ck_assert_int_eq(channel_http_outcome(503), DELIVERY_TEMPORARY);
	ck_assert_int_eq(channel_http_outcome(301), DELIVERY_PERMANENT);
	ck_assert_int_eq(channel_http_outcome(302), DELIVERY_PERMANENT);
	ck_assert_int_eq(channel_http_outcome(400), DELIVERY_PERMANENT);
	ck_assert_int_eq(channel_http_outcome(401), DELIVERY_PERMANENT);
	ck_assert_int_eq(channel_http_outcome(404), DELIVERY_PERMANENT);
	ck_assert_int_eq(channel_http_outcome(0), DELIVERY_TEMPORARY);
}
END_TEST

START_TEST(retry_after)
{
	const int64_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
	ck_assert_int_eq(channel_parse_retry_after(NULL, now), 0);
	ck_assert_int_eq(channel_parse_retry_after("", now), 0);
	ck_assert_int_eq(channel_parse_retry_after("7", now), 7);
	ck_assert_int_eq(channel_parse_retry_after(" 120 ", now), 120);
	ck_assert_int_eq(channel_parse_retry_after("0", now), 0);
	ck_assert_int_eq(channel_parse_retry_after("99999999999999999999", now),
	                 CHANNEL_RETRY_AFTER_MAX);
	ck_assert_int_eq(channel_parse_retry_after("-5", now), 0);
	ck_assert_int_eq(channel_parse_retry_after("7s", now), 0);
	ck_assert_int_eq(channel_parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), 30);
	ck_assert_int_eq(channel_parse_retry_after("Sunday, 06-Nov-94 08:51:37 GMT", now), 120);
	ck_assert_int_eq(channel_parse_retry_after("Sun Nov  6 08:49:47 1994", now), 10);
	ck_assert_int_eq(channel_parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), 0);
	ck_assert_int_eq(channel_parse_retry_after("Sun, 06 Nov 1995 08:49:37 GMT", now),
	                 CHANNEL_RETRY_AFTER_MAX);
	ck_assert_int_eq(channel_parse_retry_after("Sun, 06 Xyz 1994 08:50:07 GMT", now), 0);
	ck_assert_int_eq(channel_parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT junk", now), 0);
	ck_assert_int_eq(channel_parse_retry_after("Sun, 06 Nov 1994 25:50:07 GMT", now), 0);
}
END_TEST

START_TEST(detail_line)
{
	struct delivery_result r;
	channel_result(&r, DELIVERY_TEMPORARY, 451, 3, "451 4.3.0  line one\r\nline\ttwo\x01 ");
	ck_assert_int_eq(r.outcome, DELIVERY_TEMPORARY);
	ck_assert_int_eq(r.code, 451);
	ck_assert_int_eq(r.retry_after, 3);
	ck_assert_str_eq(r.detail, "451 4.3.0 line one line two");
	channel_result(&r, DELIVERY_OK, 0, -4, "bad \xff\xfe utf8 \xc3");
	ck_assert_int_eq(r.retry_after, 0);
	ck_assert_str_eq(r.detail, "bad ?? utf8 ?");

	/* Long Vietnamese text is cut on a character boundary and stays valid UTF-8. */
	char big[1000] = "";
	while (strlen(big) + 4 < sizeof big)
		strcat(big, "ệ");
	channel_result(&r, DELIVERY_OK, 200, 0, "%s", big);
	ck_assert_uint_lt(strlen(r.detail), sizeof r.detail);
	ck_assert(channel_utf8_valid(r.detail, strlen(r.detail)));
	ck_assert_uint_eq(strlen(r.detail) % 3, 0);
}
END_TEST

START_TEST(utf8_and_tokens)
{
	const char *vi = "Sự cố nghiêm trọng tại Trạm Y tế xã";
	ck_assert(channel_utf8_valid(vi, strlen(vi)));
	ck_assert(!channel_utf8_valid("\xc0\xaf", 2));         /* overlong */
	ck_assert(!channel_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	ck_assert(!channel_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
	ck_assert(!channel_utf8_valid("\xe1\xbb", 2));         /* cut */
	ck_assert(channel_token_valid("3f0c9a-b_1.x", 64));
	ck_assert(!channel_token_valid("", 64));
	ck_assert(!channel_token_valid("a b", 64));
	ck_assert(!channel_token_valid("a>b", 64));
	ck_assert(!channel_token_valid("abcdef", 5));
	ck_assert(channel_header_value_valid("v1a,abc= v1a,def="));
	ck_assert(!channel_header_value_valid("x\r\nInjected: 1"));
	ck_assert(channel_opt("") == NULL && channel_opt(NULL) == NULL);
}
END_TEST

START_TEST(http_reply_callbacks)
{
	struct channel_http_reply r = {0};
	char h1[] = "HTTP/1.1 429 Too Many Requests\r\n", h2[] = "retry-after:  7 \r\n";
	char h3[] = "Location: /next\r\n", body[] = "slow down";
	channel_http_on_header(h1, 1, strlen(h1), &r);
	channel_http_on_header(h2, 1, strlen(h2), &r);
	channel_http_on_header(h3, 1, strlen(h3), &r);
	ck_assert_uint_eq(channel_http_on_body(body, 1, strlen(body), &r), strlen(body));
	ck_assert_str_eq(r.retry_after, "7");
	ck_assert_str_eq(r.location, "/next");
	ck_assert_str_eq(r.body, "slow down");
	char big[1000];
	memset(big, 'x', sizeof big);
	ck_assert_uint_eq(channel_http_on_body(big, 1, sizeof big, &r), sizeof big);
	ck_assert_uint_eq(r.body_len, CHANNEL_BODY_SNIP);
	channel_http_on_header(h1, 1, strlen(h1), &r); /* a new response starts clean */
	ck_assert_str_eq(r.retry_after, "");
	ck_assert_uint_eq(r.body_len, 0);
}
END_TEST

START_TEST(config_refused)
{
	char err[256];
	struct email_config ec = {.host = "127.0.0.1", .port = 25, .from = "a@b"};
	struct email_channel *e;
	ec.from = "not an address";
	ck_assert_ptr_null(email_channel_new(&ec, err, sizeof err));
	ec.from = "relay@test.example";
	ec.starttls = 3;
	ck_assert_ptr_null(email_channel_new(&ec, err, sizeof err));
	ec.starttls = 2;
	ec.ca_file = "/nonexistent/ca.pem";
	ck_assert_ptr_null(email_channel_new(&ec, err, sizeof err));
	ck_assert(strstr(err, "/nonexistent/ca.pem") != NULL);
	ec.ca_file = NULL;
	ec.username = "u";
	ck_assert_ptr_null(email_channel_new(&ec, err, sizeof err)); /* no password */
	ec.password = "p";
	e = email_channel_new(&ec, err, sizeof err);
	ck_assert_ptr_nonnull(e);
	email_channel_free(e);
	email_channel_free(NULL);

	struct sms_config sc = {.profile = "kannel", .url = "http://127.0.0.1:1/cgi-bin/sendsms"};
	ck_assert_ptr_null(sms_channel_new(&sc, err, sizeof err)); /* no sendsms user */
	sc.profile = "smpp";
	ck_assert_ptr_null(sms_channel_new(&sc, err, sizeof err));
	sc.profile = "http";
	sc.method = "PUT";
	ck_assert_ptr_null(sms_channel_new(&sc, err, sizeof err));
	sc.method = "POST";
	ck_assert_ptr_null(sms_channel_new(&sc, err, sizeof err)); /* POST without template */
	sc.body_template = "{\"to\":\"{to}\"}";
	sc.headers = "Bad header line";
	ck_assert_ptr_null(sms_channel_new(&sc, err, sizeof err));
	sc.headers = "Authorization: Bearer x\nX-Id: 1\n";
	struct sms_channel *s = sms_channel_new(&sc, err, sizeof err);
	ck_assert_ptr_nonnull(s);
	sms_channel_free(s);
	sms_channel_free(NULL);

	struct webhook_config wc = {.per_endpoint_concurrency = 0, .max_total_connections = 8};
	ck_assert_ptr_null(webhook_channel_new(&wc, err, sizeof err));
	wc.per_endpoint_concurrency = 2;
	wc.ca_file = "/nonexistent/ca.pem";
	ck_assert_ptr_null(webhook_channel_new(&wc, err, sizeof err));
	webhook_channel_free(NULL);
}
END_TEST

/* Deliveries the channels refuse as given, without a server: PERMANENT, with a reason. */
START_TEST(deliveries_refused)
{
	char err[256];
	struct webhook_config wc = {
	    .timeout_s = 2, .per_endpoint_concurrency = 2, .max_total_connections = 8};
	struct webhook_channel *w = webhook_channel_new(&wc, err, sizeof err);
	ck_assert_ptr_nonnull(w);
	struct delivery d[5];
	memset(d, 0, sizeof d);
	for (int i = 0; i < 5; i++) {
		d[i].kind = CHANNEL_WEBHOOK;
		d[i].notification_id = "abc123";
		d[i].address = "https://127.0.0.1:1/hook";
		d[i].body = "{}";
		d[i].body_len = 2;
		d[i].timestamp = 1764000000;
		d[i].signature = "v1a,AAAA";
	}
	d[0].address = "http://127.0.0.1:1/hook";
	d[1].notification_id = "has.dot";
	d[2].signature = "v1a,x\r\nX-Evil: 1";
	d[3].timestamp = 0;
	/* d[4] is fine: nobody listens on port 1, a temporary failure */
	const struct delivery *dp[5] = {&d[0], &d[1], &d[2], &d[3], &d[4]};
	struct delivery_result res[5];
	ck_assert_int_eq(webhook_send(w, dp, 5, res), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(res[i].outcome == DELIVERY_PERMANENT, "%d: %s", i, res[i].detail);
	ck_assert_int_eq(res[4].outcome, DELIVERY_TEMPORARY);
	ck_assert_int_eq(res[4].code, 0);
	webhook_channel_free(w);

	struct email_config ec = {
	    .host = "127.0.0.1", .port = 1, .from = "relay@test.example", .timeout_s = 2};
	struct email_channel *e = email_channel_new(&ec, err, sizeof err);
	ck_assert_ptr_nonnull(e);
	struct delivery m[3];
	memset(m, 0, sizeof m);
	for (int i = 0; i < 3; i++) {
		m[i].kind = CHANNEL_EMAIL;
		m[i].notification_id = "n1";
		m[i].address = "ops@test.example";
		m[i].subject = "[TBSC] x";
		m[i].text = "t";
	}
	m[0].address = "ops@test.example>\r\nRCPT TO:<evil@x";
	m[1].subject = "[TBSC] \xff";
	const struct delivery *mp[3] = {&m[0], &m[1], &m[2]};
	struct delivery_result mr[3];
	ck_assert_int_eq(email_send(e, mp, 3, mr), -1); /* nothing listens on port 1 */
	ck_assert_int_eq(mr[0].outcome, DELIVERY_PERMANENT);
	ck_assert_int_eq(mr[1].outcome, DELIVERY_PERMANENT);
	ck_assert_int_eq(mr[2].outcome, DELIVERY_TEMPORARY);
	email_channel_free(e);
}
END_TEST

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	Suite *s = suite_create("channel");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, names);
	tcase_add_test(tc, http_classes);
	tcase_add_test(tc, retry_after);
	tcase_add_test(tc, detail_line);
	tcase_add_test(tc, utf8_and_tokens);
	tcase_add_test(tc, http_reply_callbacks);
	tcase_add_test(tc, config_refused);
	tcase_add_test(tc, deliveries_refused);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
