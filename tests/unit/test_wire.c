/* test_wire.c: keys, report codec, envelope, signed report and receipt. */
#include "keyfile.h"
#include "mpack.h"
#include "test_common.h"
#include "wire.h"

#include <sodium.h>
#include <sys/stat.h>

START_TEST(report_roundtrip)
{
	struct report r, d;
	uint8_t *buf;
	size_t len;
	char err[256];
	fixture_report(&r);
	ck_assert_int_eq(report_encode(&r, &buf, &len, err, sizeof err), 0);
	ck_assert_int_eq(report_decode(buf, len, &d, err, sizeof err), 0);
	ck_assert_str_eq(d.reporter_name, "Trạm Y tế xã Thạch Quảng");
	ck_assert_str_eq(d.category, "ransomware");
	ck_assert_int_eq(d.kind, REPORT_INITIAL);
	ck_assert_uint_eq(d.ips.count, 2);
	ck_assert_str_eq(d.ips.items[1], "203.0.113.8");
	uint8_t *again;
	size_t again_len;
	ck_assert_int_eq(report_encode(&d, &again, &again_len, err, sizeof err), 0);
	ck_assert_uint_eq(again_len, len);
	ck_assert(memcmp(again, buf, len) == 0); /* canonical */
	free(again);
	free(buf);
	report_clear(&r);
	report_clear(&d);
}
END_TEST

START_TEST(report_required_fields)
{
	struct report r;
	char err[256];
	fixture_report(&r);
	free(r.contact_phone);
	r.contact_phone = NULL;
	ck_assert_int_eq(report_validate(&r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "contact_phone"));
	/* The same field is optional in a notification. */
	r.kind = REPORT_NOTIFICATION;
	ck_assert_int_eq(report_set(&r, "system_name", "Cổng thông tin xã", err, sizeof err), 0);
	ck_assert_int_eq(report_validate(&r, err, sizeof err), 0);
	ck_assert_int_eq(report_set(&r, "category", "aliens", err, sizeof err), 0);
	ck_assert_int_eq(report_validate(&r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "category"));
	report_clear(&r);
}
END_TEST

/* Hand-made msgpack: each must be refused with a reason, never crash. */
START_TEST(decode_hostile)
{
	char err[256];
	struct report r;
	static const struct {
		const char *bytes;
		size_t len;
		const char *why;
	} cases[] = {
	    {"", 0, "rỗng"},
	    {"\xc1", 1, "type"},
	    {"\x81\xa1v", 3, "truncated"},
	    {"\x81\xa1v\x01\x00", 5, "trailing"},
	    {"\xdb\xff\xff\xff\xf0", 5, "length"},
	    {"\xdd\x7f\xff\xff\xff\x00", 6, "element count"},
	    {"\x91\x91\x91\x91\x91\x91\x91\x91\x01", 9, "nesting"},
	    {"\x81\xa1v\xa2\xc3\x28", 6, "UTF-8"},
	    {"\x81\xa1v\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 12, "floats"},
	    {"\x81\xa1v\xa1x", 5, "integer"},
	    {"\x82\xa1v\x01\xa1v\x01", 7, "duplicate"},
	    {"\x81\xa3zzz\x01", 6, "unknown field"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err[0] = '\0';
		ck_assert_int_eq(report_decode((const uint8_t *)cases[i].bytes, cases[i].len, &r,
		                               err, sizeof err),
		                 -1);
		ck_assert_msg(strstr(err, cases[i].why) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
		              err, cases[i].why);
	}
}
END_TEST

START_TEST(keyfile_roundtrip)
{
	char *dir = fixture_tmpdir(), err[256];
	char *sec = xasprintf("%s/a.sec", dir), *pub = xasprintf("%s/a.pub", dir);
	struct keypair *kp = keypair_generate();
	ck_assert_int_eq(keyfile_write_secret(sec, kp, NULL, false, err, sizeof err), 0);
	ck_assert_int_eq(keyfile_write_public(pub, kp, "test", false, err, sizeof err), 0);
	struct stat sb;
	ck_assert_int_eq(stat(sec, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	/* Never overwritten without force. */
	ck_assert_int_eq(keyfile_write_secret(sec, kp, NULL, false, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "--force"));
	struct keypair *back = keyfile_read_secret(sec, NULL, err, sizeof err);
	ck_assert_ptr_nonnull(back);
	ck_assert(memcmp(back->sk, kp->sk, 64) == 0);
	ck_assert(memcmp(back->xpk, kp->xpk, 32) == 0);
	uint8_t pk[32], kid[8];
	ck_assert_int_eq(keyfile_read_public(pub, pk, kid, err, sizeof err), 0);
	ck_assert(memcmp(pk, kp->pk, 32) == 0);
	uint8_t h[32];
	crypto_hash_sha256(h, kp->pk, 32);
	ck_assert(memcmp(kid, h, 8) == 0); /* key id derived from the key */
	keypair_free(back);
	/* Passphrase-protected. */
	ck_assert_int_eq(keyfile_write_secret(sec, kp, "mật khẩu", true, err, sizeof err), 0);
	ck_assert(keyfile_is_protected(sec));
	ck_assert_ptr_null(keyfile_read_secret(sec, NULL, err, sizeof err));
	ck_assert_ptr_null(keyfile_read_secret(sec, "wrong", err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "wrong passphrase"));
	back = keyfile_read_secret(sec, "mật khẩu", err, sizeof err);
	ck_assert_ptr_nonnull(back);
	ck_assert(memcmp(back->sk, kp->sk, 64) == 0);
	keypair_free(back);
	keypair_free(kp);
	free(sec);
	free(pub);
	free(dir);
}
END_TEST

static uint8_t *make_envelope(const struct keypair *agency, const struct keypair *relay,
                              size_t *len)
{
	struct report r;
	uint8_t *rb, *env;
	size_t rlen;
	char err[256];
	fixture_report(&r);
	ck_assert_int_eq(report_encode(&r, &rb, &rlen, err, sizeof err), 0);
	ck_assert_int_eq(envelope_create(agency, "tram-y-te", relay->xpk, rb, rlen, 1764000000,
	                                 &env, len, err, sizeof err),
	                 0);
	free(rb);
	report_clear(&r);
	return env;
}

START_TEST(envelope_sign_seal_open)
{
	struct keypair *agency = keypair_generate(), *relay = keypair_generate(),
	               *other = keypair_generate();
	size_t len;
	uint8_t *env = make_envelope(agency, relay, &len);
	struct envelope e;
	char err[256];
	ck_assert_int_eq(envelope_decode(env, len, &e, err, sizeof err), 0);
	ck_assert_str_eq(e.agency, "tram-y-te");
	ck_assert_int_eq(envelope_verify(&e, agency->pk), 0);
	ck_assert_int_eq(envelope_verify(&e, other->pk), -1);
	uint8_t *plain;
	size_t plain_len;
	ck_assert_int_eq(envelope_open(&e, other, &plain, &plain_len, err, sizeof err), -1);
	ck_assert_int_eq(envelope_open(&e, relay, &plain, &plain_len, err, sizeof err), 0);
	struct signed_report sr;
	ck_assert_int_eq(signed_report_decode(plain, plain_len, &sr, err, sizeof err), 0);
	ck_assert_int_eq(signed_report_verify(&sr, agency->pk), 0);
	ck_assert_int_eq(signed_report_verify(&sr, other->pk), -1);
	struct report r;
	ck_assert_int_eq(report_decode(sr.report, sr.report_len, &r, err, sizeof err), 0);
	ck_assert_str_eq(r.incident_id, "SC-20261125-0001");
	report_clear(&r);
	free(plain);
	/* Every single-byte change of the envelope breaks it: decode or signature. */
	for (size_t i = 0; i < len; i += 7) {
		env[i] ^= 0x01;
		struct envelope t;
		if (envelope_decode(env, len, &t, err, sizeof err) == 0) {
			ck_assert_msg(envelope_verify(&t, agency->pk) != 0,
			              "byte %zu flipped still verifies", i);
			envelope_clear(&t);
		}
		env[i] ^= 0x01;
	}
	envelope_clear(&e);
	free(env);
	keypair_free(agency);
	keypair_free(relay);
	keypair_free(other);
}
END_TEST

START_TEST(receipt_roundtrip)
{
	struct keypair *relay = keypair_generate(), *other = keypair_generate();
	struct receipt rc, back;
	memset(&rc, 0, sizeof rc);
	randombytes_buf(rc.hash, sizeof rc.hash);
	strcpy(rc.agency, "tram-y-te");
	strcpy(rc.incident_id, "SC-1");
	rc.received_ms = 1764000000123ull;
	rc.log_index = 42;
	receipt_sign(&rc, relay);
	uint8_t *buf;
	size_t len;
	char err[256];
	receipt_encode(&rc, &buf, &len);
	ck_assert_int_eq(receipt_decode(buf, len, &back, err, sizeof err), 0);
	ck_assert_int_eq(receipt_verify(&back, relay->pk), 0);
	ck_assert_int_eq(receipt_verify(&back, other->pk), -1);
	back.log_index = 43;
	ck_assert_int_eq(receipt_verify(&back, relay->pk), -1);
	/* Deterministic: signing again gives the same bytes (the relay relies on it for
	 * resubmissions). */
	struct receipt again = rc;
	receipt_sign(&again, relay);
	ck_assert(memcmp(again.sig, rc.sig, sizeof rc.sig) == 0);
	free(buf);
	keypair_free(relay);
	keypair_free(other);
}
END_TEST

START_TEST(request_auth)
{
	struct keypair *kp = keypair_generate();
	char *h = request_auth_sign(kp, "ubnd-xa", "GET", "/v1/reports/00", 1764000000);
	struct request_auth ra;
	char err[256];
	ck_assert_int_eq(request_auth_parse(h, &ra, err, sizeof err), 0);
	ck_assert_int_eq(request_auth_verify(&ra, "GET", "/v1/reports/00", kp->pk), 0);
	ck_assert_int_eq(request_auth_verify(&ra, "GET", "/v1/reports/01", kp->pk), -1);
	ck_assert_int_eq(request_auth_parse("TBSC agency=x", &ra, err, sizeof err), -1);
	free(h);
	keypair_free(kp);
}
END_TEST

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, report_roundtrip);
	tcase_add_test(tc, report_required_fields);
	tcase_add_test(tc, decode_hostile);
	tcase_add_test(tc, keyfile_roundtrip);
	tcase_add_test(tc, envelope_sign_seal_open);
	tcase_add_test(tc, receipt_roundtrip);
	tcase_add_test(tc, request_auth);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
