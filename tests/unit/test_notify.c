/* test_notify.c: relay-signed notifications, sealing to a recipient, SMS codes, Standard Webhooks
 * v1a. */
#include "keyfile.h"
#include "mpack.h"
#include "notify.h"
#include "test_common.h"
#include "wire.h"

#include <sodium.h>

/* Computed independently by tests/python/notify_vectors.py (python3-nacl); see
 * tests/fixtures/notify_vectors.txt. */
static const char V_PK_HEX[] = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char V_ID[] = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
static const int64_t V_TS = 1674087231;
static const char V_BODY[] =
    "{\"type\":\"contact.created\",\"timestamp\":\"2022-11-03T20:26:10.344522Z\",\"data\":{"
    "\"id\":\"1f81eb52-5198-4599-803e-771906343485\"}}";
static const char V_SIG[] =
    "v1a,9WMPN5fBW9vm1uGlvFzBO4lpdfFKN4AQCSr2vrWsFuOibXSOTWlcWrPRSWk+YpmD9fAwgYREKtLcYCyZrvXFBw==";
static const char V_SMS_INPUT[] = "hello notification";
static const char V_SMS_CODE[] = "EKTZMLAON4";
static const char V_NID[] = "ff3211221e9219bf952bfeb9b70076af";

/* A keypair from a fixed seed, laid out as keyfile.c lays it out (keypair_free frees it). */
static struct keypair *keypair_from_seed(const uint8_t seed[32])
{
	struct keypair *kp = xcalloc(1, sizeof *kp);
	kp->sk = sodium_malloc(KEY_SK_BYTES);
	kp->xsk = sodium_malloc(32);
	ck_assert_ptr_nonnull(kp->sk);
	ck_assert_ptr_nonnull(kp->xsk);
	crypto_sign_seed_keypair(kp->pk, kp->sk, seed);
	key_id(kp->pk, kp->kid);
	ck_assert_int_eq(crypto_sign_ed25519_pk_to_curve25519(kp->xpk, kp->pk), 0);
	ck_assert_int_eq(crypto_sign_ed25519_sk_to_curve25519(kp->xsk, kp->sk), 0);
	return kp;
}

struct world {
	struct keypair *relay, *agency, *recipient, *other;
	uint8_t *signed_report;
	size_t signed_report_len;
	uint8_t *encoded; /* the notification bytes */
	size_t encoded_len;
	struct notification n;
};

static void world_make(struct world *w, bool drill)
{
	struct report r;
	uint8_t *rep;
	size_t rep_len;
	char err[256];
	memset(w, 0, sizeof *w);
	w->relay = keypair_generate();
	w->agency = keypair_generate();
	w->recipient = keypair_generate();
	w->other = keypair_generate();
	fixture_report(&r);
	r.drill = drill;
	ck_assert_int_eq(report_encode(&r, &rep, &rep_len, err, sizeof err), 0);
	report_clear(&r);
	ck_assert_int_eq(signed_report_build(w->agency, "tram-y-te", rep, rep_len,
	                                     &w->signed_report, &w->signed_report_len),
	                 0);
	free(rep);
	struct notification *n = &w->n;
	randombytes_buf(n->report_hash, sizeof n->report_hash);
	report_id_from_hash(n->report_hash, n->report_id);
	snprintf(n->incident_id, sizeof n->incident_id, "SC-20261125-0001");
	snprintf(n->agency, sizeof n->agency, "tram-y-te");
	snprintf(n->recipient, sizeof n->recipient, "cong-an-xa");
	snprintf(n->channel, sizeof n->channel, "webhook");
	snprintf(n->kind, sizeof n->kind, "initial");
	n->drill = drill;
	n->received_ms = 1764000000123ULL;
	n->log_index = 42;
	notify_id(n->report_id, n->recipient, n->channel, n->nid);
	ck_assert_int_eq(notify_seal(n, w->recipient->pk, w->signed_report, w->signed_report_len,
	                             err, sizeof err),
	                 0);
	ck_assert_int_eq(notify_encode(n, w->relay, &w->encoded, &w->encoded_len), 0);
}

static void world_free(struct world *w)
{
	keypair_free(w->relay);
	keypair_free(w->agency);
	keypair_free(w->recipient);
	keypair_free(w->other);
	free(w->signed_report);
	free(w->encoded);
	notify_clear(&w->n);
}

START_TEST(id_vector)
{
	char nid[NOTIFY_ID_CHARS + 1];
	notify_id("0123456789abcdef0123456789abcdef", "cong-an-xa", "webhook", nid);
	ck_assert_str_eq(nid, V_NID);
	/* Each part of the triple matters. */
	char other[NOTIFY_ID_CHARS + 1];
	notify_id("0123456789abcdef0123456789abcdef", "cong-an-xa", "email", other);
	ck_assert_str_ne(nid, other);
	notify_id("0123456789abcdef0123456789abcdef", "cong-an-tinh", "webhook", other);
	ck_assert_str_ne(nid, other);
}
END_TEST

START_TEST(roundtrip)
{
	struct world w;
	struct notification d;
	char err[256];
	world_make(&w, false);
	ck_assert_msg(notify_verify(w.encoded, w.encoded_len, w.relay->pk, &d, err, sizeof err) ==
	                  0,
	              "%s", err);
	ck_assert_str_eq(d.nid, w.n.nid);
	ck_assert_str_eq(d.report_id, w.n.report_id);
	ck_assert_str_eq(d.incident_id, "SC-20261125-0001");
	ck_assert_str_eq(d.agency, "tram-y-te");
	ck_assert_str_eq(d.recipient, "cong-an-xa");
	ck_assert_str_eq(d.channel, "webhook");
	ck_assert_str_eq(d.kind, "initial");
	ck_assert(!d.drill);
	ck_assert_uint_eq(d.received_ms, 1764000000123ULL);
	ck_assert_uint_eq(d.log_index, 42);
	ck_assert(memcmp(d.report_hash, w.n.report_hash, WIRE_HASH_BYTES) == 0);
	ck_assert_uint_eq(d.sealed_len, w.signed_report_len + crypto_box_SEALBYTES);

	/* The recipient opens it and finds the agency's signed report, byte for byte. */
	uint8_t *plain;
	size_t plain_len;
	ck_assert_msg(notify_open(&d, w.recipient, &plain, &plain_len, err, sizeof err) == 0, "%s",
	              err);
	ck_assert_uint_eq(plain_len, w.signed_report_len);
	ck_assert(memcmp(plain, w.signed_report, plain_len) == 0);
	struct signed_report sr;
	ck_assert_int_eq(signed_report_decode(plain, plain_len, &sr, err, sizeof err), 0);
	ck_assert_int_eq(signed_report_verify(&sr, w.agency->pk), 0);
	struct report r;
	ck_assert_int_eq(report_decode(sr.report, sr.report_len, &r, err, sizeof err), 0);
	ck_assert_str_eq(r.reporter_name, "Trạm Y tế xã Thạch Quảng");
	report_clear(&r);
	free(plain);

	/* Encoding is deterministic: the same attestation gives the same bytes. */
	uint8_t *again;
	size_t again_len;
	ck_assert_int_eq(notify_encode(&d, w.relay, &again, &again_len), 0);
	ck_assert_uint_eq(again_len, w.encoded_len);
	ck_assert(memcmp(again, w.encoded, again_len) == 0);
	free(again);
	notify_clear(&d);
	world_free(&w);
}
END_TEST

START_TEST(drill_flag)
{
	struct world w;
	struct notification d;
	char err[256];
	world_make(&w, true);
	ck_assert_int_eq(notify_verify(w.encoded, w.encoded_len, w.relay->pk, &d, err, sizeof err),
	                 0);
	ck_assert(d.drill);
	notify_clear(&d);
	world_free(&w);
}
END_TEST

/* Every single-byte change anywhere in the notification is refused, with a reason. */
START_TEST(tamper_every_byte)
{
	struct world w;
	struct notification d;
	char err[256];
	world_make(&w, false);
	uint8_t *copy = xmalloc(w.encoded_len);
	for (size_t i = 0; i < w.encoded_len; i++) {
		memcpy(copy, w.encoded, w.encoded_len);
		copy[i] ^= 0x01;
		err[0] = '\0';
		ck_assert_msg(
		    notify_verify(copy, w.encoded_len, w.relay->pk, &d, err, sizeof err) == -1,
		    "byte %zu flipped but accepted", i);
		ck_assert_msg(err[0] != '\0', "byte %zu: no reason", i);
		ck_assert_ptr_null(d.sealed);
	}
	/* Truncated and extended copies too. */
	for (size_t n = 0; n < w.encoded_len; n += 7)
		ck_assert_int_eq(notify_verify(w.encoded, n, w.relay->pk, &d, err, sizeof err), -1);
	uint8_t *longer = xmalloc(w.encoded_len + 1);
	memcpy(longer, w.encoded, w.encoded_len);
	longer[w.encoded_len] = 0xc0;
	ck_assert_int_eq(notify_verify(longer, w.encoded_len + 1, w.relay->pk, &d, err, sizeof err),
	                 -1);
	free(longer);
	free(copy);
	world_free(&w);
}
END_TEST

START_TEST(wrong_relay_key)
{
	struct world w;
	struct notification d;
	char err[256];
	world_make(&w, false);
	ck_assert_int_eq(notify_verify(w.encoded, w.encoded_len, w.other->pk, &d, err, sizeof err),
	                 -1);
	ck_assert_msg(strstr(err, "not the relay key") != NULL, "%s", err);
	world_free(&w);
}
END_TEST

START_TEST(wrong_recipient_key)
{
	struct world w;
	struct notification d;
	char err[256];
	uint8_t *plain = (uint8_t *)1;
	size_t plain_len = 1;
	world_make(&w, false);
	ck_assert_int_eq(notify_verify(w.encoded, w.encoded_len, w.relay->pk, &d, err, sizeof err),
	                 0);
	ck_assert_int_eq(notify_open(&d, w.other, &plain, &plain_len, err, sizeof err), -1);
	ck_assert_ptr_null(plain);
	ck_assert_ptr_nonnull(strstr(err, "cong-an-xa"));
	notify_clear(&d);
	world_free(&w);
}
END_TEST

/* A relay that signs an inconsistent attestation (id not derived from its triple) is still refused.
 */
START_TEST(inconsistent_ids)
{
	struct world w;
	struct notification d;
	uint8_t *bad;
	size_t bad_len;
	char err[256];
	world_make(&w, false);
	snprintf(w.n.channel, sizeof w.n.channel, "email"); /* nid still names webhook */
	ck_assert_int_eq(notify_encode(&w.n, w.relay, &bad, &bad_len), 0);
	ck_assert_int_eq(notify_verify(bad, bad_len, w.relay->pk, &d, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "nid"));
	free(bad);
	snprintf(w.n.channel, sizeof w.n.channel, "webhook");
	w.n.report_id[0] =
	    w.n.report_id[0] == 'a' ? 'b' : 'a'; /* report id no longer from the hash */
	notify_id(w.n.report_id, w.n.recipient, w.n.channel, w.n.nid);
	ck_assert_int_eq(notify_encode(&w.n, w.relay, &bad, &bad_len), 0);
	ck_assert_int_eq(notify_verify(bad, bad_len, w.relay->pk, &d, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "report_id"));
	free(bad);
	world_free(&w);
}
END_TEST

/* Hand-made msgpack around a valid signature scheme: each refused with a reason. */
START_TEST(decode_hostile)
{
	struct keypair *relay = keypair_generate();
	struct notification d;
	char err[256];
	static const uint8_t cases[][16] = {
	    {0xc0},                                                    /* nil */
	    {0x80},                                                    /* empty map */
	    {0x91, 0x01},                                              /* array */
	    {0x81, 0xa1, 'x', 0x01},                                   /* unknown key */
	    {0x81, 0xa1, 'v', 0x02},                                   /* wrong version */
	    {0x83, 0xa1, 'v', 0x01, 0xa1, 'v', 0x01, 0xa1, 'v', 0x01}, /* duplicate keys */
	    {0xc6, 0xff, 0xff, 0xff, 0xff},                            /* huge bin */
	    {0xdf, 0xff, 0xff, 0xff, 0xff},                            /* huge map */
	};
	static const size_t lens[] = {1, 1, 2, 4, 4, 10, 5, 5};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		err[0] = '\0';
		ck_assert_int_eq(notify_verify(cases[i], lens[i], relay->pk, &d, err, sizeof err),
		                 -1);
		ck_assert_msg(err[0] != '\0', "case %zu: no reason", i);
	}
	/* A well-formed outer map whose sig does not verify. */
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint8_t sig[64] = {0};
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	mpack_pack_str(&pk, "v");
	msgpack_pack_uint64(&pk, 1);
	mpack_pack_str(&pk, "body");
	mpack_pack_bin(&pk, (const uint8_t *)"\x80", 1);
	mpack_pack_str(&pk, "sig");
	mpack_pack_bin(&pk, sig, 64);
	ck_assert_int_eq(notify_verify((uint8_t *)sb.data, sb.size, relay->pk, &d, err, sizeof err),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "relay signature"));
	msgpack_sbuffer_destroy(&sb);
	keypair_free(relay);
}
END_TEST

START_TEST(sms_code)
{
	char code[11], again[11];
	notify_sms_code((const uint8_t *)V_SMS_INPUT, strlen(V_SMS_INPUT), code);
	ck_assert_str_eq(code, V_SMS_CODE);
	notify_sms_code((const uint8_t *)V_SMS_INPUT, strlen(V_SMS_INPUT), again);
	ck_assert_str_eq(code, again);
	notify_sms_code((const uint8_t *)"hello notificatioN", strlen(V_SMS_INPUT), again);
	ck_assert_str_ne(code, again);
	ck_assert_uint_eq(strspn(again, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 10);
}
END_TEST

START_TEST(v1a_vector)
{
	uint8_t seed[32], pk[32];
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	struct keypair *kp = keypair_from_seed(seed);
	ck_assert_int_eq(hex_decode(pk, sizeof pk, V_PK_HEX), 0);
	ck_assert(memcmp(pk, kp->pk, 32) == 0);
	char *sig = webhook_signature(kp, V_ID, V_TS, V_BODY, strlen(V_BODY));
	ck_assert_str_eq(sig, V_SIG);
	free(sig);
	ck_assert_int_eq(webhook_verify(pk, V_ID, "1674087231", V_BODY, strlen(V_BODY), V_SIG), 0);
	/* Rotation: any entry may verify; v1 entries are skipped. */
	char *multi =
	    xasprintf("v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1a,AAAA %s", V_SIG);
	ck_assert_int_eq(webhook_verify(pk, V_ID, "1674087231", V_BODY, strlen(V_BODY), multi), 0);
	free(multi);
	/* Any change to id, timestamp, body or signature is refused. */
	ck_assert_int_eq(webhook_verify(pk, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4X", "1674087231", V_BODY,
	                                strlen(V_BODY), V_SIG),
	                 -1);
	ck_assert_int_eq(webhook_verify(pk, V_ID, "1674087232", V_BODY, strlen(V_BODY), V_SIG), -1);
	ck_assert_int_eq(webhook_verify(pk, V_ID, "1674087231", V_BODY, strlen(V_BODY) - 1, V_SIG),
	                 -1);
	char *spaced = xasprintf("%s ", V_BODY);
	ck_assert_int_eq(webhook_verify(pk, V_ID, "1674087231", spaced, strlen(spaced), V_SIG), -1);
	free(spaced);
	char *bad = xstrdup(V_SIG);
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(webhook_verify(pk, V_ID, "1674087231", V_BODY, strlen(V_BODY), bad), -1);
	free(bad);
	/* Malformed inputs. */
	ck_assert_int_eq(webhook_verify(pk, V_ID, "1674087231", V_BODY, strlen(V_BODY), ""), -1);
	ck_assert_int_eq(webhook_verify(pk, V_ID, "1674087231", V_BODY, strlen(V_BODY), "v1a,"),
	                 -1);
	ck_assert_int_eq(webhook_verify(pk, V_ID, "-1", V_BODY, strlen(V_BODY), V_SIG), -1);
	ck_assert_int_eq(webhook_verify(pk, V_ID, "", V_BODY, strlen(V_BODY), V_SIG), -1);
	ck_assert_int_eq(webhook_verify(pk, "a.b", "1674087231", V_BODY, strlen(V_BODY), V_SIG),
	                 -1);
	ck_assert_int_eq(webhook_verify(pk, V_ID, "1674087231", V_BODY, strlen(V_BODY), NULL), -1);
	/* An id with a dot cannot be signed (it would make the signed string ambiguous). */
	ck_assert_ptr_null(webhook_signature(kp, "a.b", V_TS, V_BODY, strlen(V_BODY)));
	/* A different key does not verify. */
	struct keypair *other = keypair_generate();
	ck_assert_int_eq(
	    webhook_verify(other->pk, V_ID, "1674087231", V_BODY, strlen(V_BODY), V_SIG), -1);
	keypair_free(other);
	keypair_free(kp);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, id_vector);
	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, drill_flag);
	tcase_add_test(tc, tamper_every_byte);
	tcase_add_test(tc, wrong_relay_key);
	tcase_add_test(tc, wrong_recipient_key);
	tcase_add_test(tc, inconsistent_ids);
	tcase_add_test(tc, decode_hostile);
	tcase_add_test(tc, sms_code);
	tcase_add_test(tc, v1a_vector);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	return run_suite(suite());
}
