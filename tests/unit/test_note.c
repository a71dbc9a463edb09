/* test_note.c: signed-note and tlog-checkpoint tests, with the C2SP, Go and serverless-log vectors.
 */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "note.h"
#include "tlog.h"
#include "util.h"

static char err[ERRBUF_MAX];

/* signed-note.md example 1 */
static const char foo_vkey[] =
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
static const char foo_note[] = "This is an example message.\n"
                               "\n"
                               "\xe2\x80\x94 example.com/foo "
                               "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH"
                               "3mFXmRKuwHjG1Yu72IneyaQM=\n";

/* Go note.go documentation example (published secret key). */
static const char pn_seed_hex[] =
    "810a1402d5146c8d84f2443330f54080ebf98ee17d9c74f6252fc5d5c7283173";
static const char pn_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char pn_text[] = "If you think cryptography is the answer to your problem,\n"
                              "then you don't know what your problem is.\n";
static const char pn_sigline[] =
    "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

/* serverless-log testdata */
static const char astra_vkey[] = "astra+cad5a3d2+AZJqeuyE/GnknsCNh1eCtDtwdAwKBddOlS8M2eI1Jt4b";
static const char astra_cp3[] = "example.com/testdata\n"
                                "3\n"
                                "Wqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n"
                                "\n"
                                "\xe2\x80\x94 astra "
                                "ytWj0ueOKrf0tsoN1fnZzOcNi+KmijMdhv9niviS99k+"
                                "jv3beiTCfPK0CVbltoKci4j0gFT5Lmm2zDl5xF9aFg87+gc=\n";

static void pn_keys(unsigned char pk[32], unsigned char sk[64])
{
	unsigned char seed[32];
	ck_assert_int_eq(hex_decode(seed, 32, pn_seed_hex), 0);
	crypto_sign_seed_keypair(pk, sk, seed);
}

START_TEST(test_vkey_parse)
{
	struct note_verifier v;
	ck_assert_int_eq(note_verifier_parse(&v, foo_vkey, err, sizeof err), 0);
	ck_assert_str_eq(v.name, "example.com/foo");
	ck_assert_uint_eq(v.keyid, 0x530d903a);
	unsigned char pk[32];
	ck_assert_int_eq(
	    hex_decode(pk, 32, "e932791ae6e7a840a46164c904786426d5e7821dd8b29a00d61cae72afdd4da4"),
	    0);
	ck_assert_mem_eq(v.pk, pk, 32);
	char *again = note_vkey(v.name, v.pk);
	ck_assert_str_eq(again, foo_vkey);
	free(again);

	/* malformed ones */
	const char *bad[] = {
	    "",
	    "example.com/foo",
	    "example.com/foo+530d903a",
	    "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", /* id */
	    "example.com/fo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  /* name */
	    "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  /* short id */
	    "example.com/foo+530d903g+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", /* hex */
	    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",  /* b64 */
	    "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", /* alg */
	    "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	    "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(note_verifier_parse(&v, bad[i], err, sizeof err) != 0, "accepted %s",
		              bad[i]);
}
END_TEST

START_TEST(test_open_example)
{
	struct note_verifier v;
	size_t tlen;
	ck_assert_int_eq(note_verifier_parse(&v, foo_vkey, err, sizeof err), 0);
	ck_assert_msg(note_open(foo_note, strlen(foo_note), &v, &tlen, err, sizeof err) == 0, "%s",
	              err);
	ck_assert_uint_eq(tlen, strlen("This is an example message.\n"));
}
END_TEST

START_TEST(test_sign_go_example)
{
	unsigned char pk[32], sk[64];
	pn_keys(pk, sk);
	char *vkey = note_vkey("PeterNeumann", pk);
	ck_assert_str_eq(vkey, pn_vkey);
	free(vkey);
	ck_assert_uint_eq(note_keyid("PeterNeumann", pk), 0xc74f20a3);

	char *out;
	size_t outlen;
	ck_assert_int_eq(
	    note_sign(pn_text, strlen(pn_text), "PeterNeumann", sk, &out, &outlen, err, sizeof err),
	    0);
	char *want = xasprintf("%s\n%s", pn_text, pn_sigline);
	ck_assert_uint_eq(outlen, strlen(want));
	ck_assert_str_eq(out, want);

	struct note_verifier v;
	size_t tlen;
	ck_assert_int_eq(note_verifier_parse(&v, pn_vkey, err, sizeof err), 0);
	ck_assert_int_eq(note_open(out, outlen, &v, &tlen, err, sizeof err), 0);
	ck_assert_uint_eq(tlen, strlen(pn_text));
	free(want);
	free(out);
	sodium_memzero(sk, sizeof sk);
}
END_TEST

/* Builds a variant of the Go example note and expects note_open to reject it. */
static void expect_reject(const char *msg, const struct note_verifier *v, const char *what)
{
	size_t tlen;
	ck_assert_msg(note_open(msg, strlen(msg), v, &tlen, err, sizeof err) != 0, "accepted: %s",
	              what);
}

START_TEST(test_open_rejects)
{
	struct note_verifier v, foo;
	size_t tlen;
	ck_assert_int_eq(note_verifier_parse(&v, pn_vkey, err, sizeof err), 0);
	ck_assert_int_eq(note_verifier_parse(&foo, foo_vkey, err, sizeof err), 0);
	char *good = xasprintf("%s\n%s", pn_text, pn_sigline);
	ck_assert_int_eq(note_open(good, strlen(good), &v, &tlen, err, sizeof err), 0);

	/* each byte of the text flipped */
	for (size_t i = 0; i < strlen(pn_text); i++) {
		char *m = xstrdup(good);
		m[i] ^= 0x01;
		expect_reject(m, &v, "flipped text byte");
		free(m);
	}
	/* a flipped bit in the signature */
	char *m = xstrdup(good);
	m[strlen(m) - 10] = m[strlen(m) - 10] == 'A' ? 'B' : 'A';
	expect_reject(m, &v, "flipped signature");
	free(m);
	/* wrong key: no signature by it */
	expect_reject(good, &foo, "other key");
	/* hyphen instead of em dash */
	m = xasprintf("%s\n- PeterNeumann %s", pn_text, pn_sigline + 17);
	expect_reject(m, &v, "hyphen");
	free(m);
	/* no blank line */
	m = xasprintf("%s%s", pn_text, pn_sigline);
	expect_reject(m, &v, "no blank line");
	free(m);
	/* missing final newline */
	m = xstrdup(good);
	m[strlen(m) - 1] = '\0';
	expect_reject(m, &v, "unterminated");
	free(m);
	/* control character and invalid UTF-8 */
	m = xasprintf("a\tb\n\n%s", pn_sigline);
	expect_reject(m, &v, "tab");
	free(m);
	m = xasprintf("a\xff\n\n%s", pn_sigline);
	expect_reject(m, &v, "bad utf-8");
	free(m);
	m = xasprintf("a\xc0\x80\n\n%s", pn_sigline);
	expect_reject(m, &v, "overlong utf-8");
	free(m);
	/* empty signature block */
	m = xasprintf("%s\n", pn_text);
	expect_reject(m, &v, "no signatures");
	free(m);
	/* text changed: signature no longer valid */
	m = xasprintf("If you think cryptography is the answer to your problem,\n\n%s", pn_sigline);
	expect_reject(m, &v, "other text");
	free(m);
	/* truncated signature (fewer than 5 bytes) */
	m = xasprintf("%s\n\xe2\x80\x94 PeterNeumann AAAA\n", pn_text);
	expect_reject(m, &v, "short signature");
	free(m);

	/* an unknown signer is ignored when ours is present, in either order */
	m = xasprintf("%s\n%s%s", pn_text, "\xe2\x80\x94 someone.example AAAAAAAAAAAAAAA=\n",
	              pn_sigline);
	ck_assert_int_eq(note_open(m, strlen(m), &v, &tlen, err, sizeof err), 0);
	free(m);
	m = xasprintf("%s\n%s%s", pn_text, pn_sigline,
	              "\xe2\x80\x94 someone.example AAAAAAAAAAAAAAA=\n");
	ck_assert_int_eq(note_open(m, strlen(m), &v, &tlen, err, sizeof err), 0);
	free(m);
	/* but a bad signature by our key rejects even next to a good one */
	char *badsig = xstrdup(pn_sigline);
	badsig[strlen(badsig) - 10] = badsig[strlen(badsig) - 10] == 'A' ? 'B' : 'A';
	m = xasprintf("%s\n%s%s", pn_text, badsig, pn_sigline);
	expect_reject(m, &v, "bad signature first");
	free(m);
	free(badsig);
	free(good);
}
END_TEST

START_TEST(test_checkpoint_serverless)
{
	struct note_verifier v;
	struct note_checkpoint c;
	ck_assert_int_eq(note_verifier_parse(&v, astra_vkey, err, sizeof err), 0);
	ck_assert_msg(note_checkpoint_open(astra_cp3, strlen(astra_cp3), &v, &c, err, sizeof err) ==
	                  0,
	              "%s", err);
	ck_assert_str_eq(c.origin, "example.com/testdata");
	ck_assert_uint_eq(c.size, 3);
	ck_assert_str_eq(c.ext, "");

	/* recompute the roots of the serverless-log test entries */
	static const char *words[] = {"one",    "two",   "three",    "four",    "five",
	                              "six",    "seven", "eit",      "nain",    "ten",
	                              "ileven", "twelf", "threeten", "fourten", "fivten"};
	struct tlog_memtree *t = tlog_memtree_new();
	tlog_hash root;
	char *b64;
	ck_assert_int_eq(tlog_tree_root(tlog_memtree_read, t, 0, root, err, sizeof err), 0);
	b64 = b64_encode(root, 32);
	ck_assert_str_eq(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	free(b64);
	for (size_t i = 0; i < 15; i++) {
		tlog_hash leaf;
		tlog_hash_leaf(leaf, (const unsigned char *)words[i], strlen(words[i]));
		tlog_memtree_append(t, leaf);
		ck_assert_int_eq(tlog_tree_root(tlog_memtree_read, t, i + 1, root, err, sizeof err),
		                 0);
		b64 = b64_encode(root, 32);
		if (i + 1 == 1)
			ck_assert_str_eq(b64, "0Nc2CrefWKseHj/mStd+LqC8B+NrX0btIiPt2SmN+ek=");
		if (i + 1 == 3)
			ck_assert_mem_eq(root, c.root, 32);
		if (i + 1 == 15)
			ck_assert_str_eq(b64, "rKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=");
		free(b64);
	}
	tlog_memtree_free(t);

	/* re-signing with the published secret key reproduces the checkpoint byte for byte */
	/* PRIVATE+KEY+astra+cad5a3d2+<base64(0x01 || seed)> */
	unsigned char skey[33], pk[32], sk[64];
	ck_assert_int_eq(
	    b64_decode(skey, sizeof skey, "ASgwwenlc0uuYcdy7kI44pQvuz1fw8cS5NqS8RkZBXoy", 44), 33);
	crypto_sign_seed_keypair(pk, sk, skey + 1);
	ck_assert_mem_eq(pk, v.pk, 32);
	char *out;
	size_t outlen;
	ck_assert_int_eq(note_checkpoint_sign(&c, "astra", sk, &out, &outlen, err, sizeof err), 0);
	ck_assert_str_eq(out, astra_cp3);
	free(out);
	sodium_memzero(sk, sizeof sk);
}
END_TEST

START_TEST(test_checkpoint_roundtrip)
{
	struct note_checkpoint c, d;
	char buf[2048];
	size_t len;
	memset(&c, 0, sizeof c);
	strcpy(c.origin, "relay.example.vn/log");
	c.size = 20852163;
	for (int i = 0; i < 32; i++)
		c.root[i] = (unsigned char)(i * 7);
	ck_assert_int_eq(note_checkpoint_format(&c, buf, sizeof buf, &len, err, sizeof err), 0);
	ck_assert_int_eq(note_checkpoint_parse(buf, len, &d, err, sizeof err), 0);
	ck_assert_str_eq(d.origin, c.origin);
	ck_assert_uint_eq(d.size, c.size);
	ck_assert_mem_eq(d.root, c.root, 32);

	strcpy(c.ext, "extension one\nsecond: ext\n");
	ck_assert_int_eq(note_checkpoint_format(&c, buf, sizeof buf, &len, err, sizeof err), 0);
	ck_assert_int_eq(note_checkpoint_parse(buf, len, &d, err, sizeof err), 0);
	ck_assert_str_eq(d.ext, c.ext);

	/* an origin with spaces (Go sumdb style) is allowed */
	strcpy(c.origin, "go.sum database tree");
	c.ext[0] = '\0';
	ck_assert_int_eq(note_checkpoint_format(&c, buf, sizeof buf, &len, err, sizeof err), 0);
	ck_assert_int_eq(note_checkpoint_parse(buf, len, &d, err, sizeof err), 0);
	ck_assert_str_eq(d.origin, "go.sum database tree");

	/* the empty tree */
	memset(&c, 0, sizeof c);
	strcpy(c.origin, "o");
	tlog_hash_empty(c.root);
	ck_assert_int_eq(note_checkpoint_format(&c, buf, sizeof buf, &len, err, sizeof err), 0);
	ck_assert_str_eq(buf, "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");

	/* a bad extension line is refused at formatting time */
	strcpy(c.ext, "no newline");
	ck_assert_int_ne(note_checkpoint_format(&c, buf, sizeof buf, &len, err, sizeof err), 0);
}
END_TEST

START_TEST(test_checkpoint_rejects)
{
	const char *root = "Wqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=";
	struct note_checkpoint c;
	const char *bad[] = {
	    "",
	    "example.com/testdata\n",
	    "example.com/testdata\n3\n",
	    "example.com/testdata\n3\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=",    /* no \n */
	    "\n3\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n",                      /* origin */
	    "example.com/testdata\n03\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n", /* 0 */
	    "example.com/testdata\n+3\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n",
	    "example.com/testdata\n-3\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n",
	    "example.com/testdata\n 3\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n",
	    "example.com/testdata\n\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n",
	    "example.com/testdata\n99999999999999999999\nWqx3HImawpLnS/"
	    "Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n",
	    "example.com/testdata\n3\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk\n", /* unpadded */
	    "example.com/testdata\n3\nWqx3HImawpLnS_Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n",   /* url-safe
	                                                                                  */
	    "example.com/testdata\n3\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKl=\n",   /* bits */
	    "example.com/testdata\n3\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n\n", /* empty */
	    "example.com/"
	    "testdata\n3\n5aa77c1c89a2c292e74bf1afe2e6e302f8b55883b2d1bf197b46a6bea6dabca9\n",
	    "example.com/testdata\n0\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n", /* 0 root */
	    "example.com/testdata\r\n3\nWqx3HImawpLnS/Gv4ubjAvi1WIOy0b8Ze0amvqbavKk=\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(note_checkpoint_parse(bad[i], strlen(bad[i]), &c, err, sizeof err) !=
		                  0,
		              "accepted #%zu", i);
	char *good = xasprintf("example.com/testdata\n3\n%s\n", root);
	ck_assert_int_eq(note_checkpoint_parse(good, strlen(good), &c, err, sizeof err), 0);
	free(good);
	/* an origin longer than we accept */
	char *longo = xmalloc(400);
	memset(longo, 'a', 300);
	longo[300] = '\0';
	good = xasprintf("%s\n3\n%s\n", longo, root);
	ck_assert_int_ne(note_checkpoint_parse(good, strlen(good), &c, err, sizeof err), 0);
	free(good);
	free(longo);
}
END_TEST

START_TEST(test_name_valid)
{
	ck_assert(note_name_valid("example.com/foo", 15));
	ck_assert(
	    note_name_valid("tr\xc3\xacnh-b\xc3\xa1o.vn", strlen("tr\xc3\xacnh-b\xc3\xa1o.vn")));
	ck_assert(!note_name_valid("", 0));
	ck_assert(!note_name_valid("a b", 3));
	ck_assert(!note_name_valid("a+b", 3));
	ck_assert(!note_name_valid("a\xc2\xa0"
	                           "b",
	                           4)); /* NBSP */
	ck_assert(!note_name_valid("a\xe3\x80\x80"
	                           "b",
	                           5)); /* ideographic space */
	ck_assert(!note_name_valid("a\xe2\x80\x82"
	                           "b",
	                           5)); /* en space */
	ck_assert(!note_name_valid("a\xff", 2));
}
END_TEST

static Suite *note_suite(void)
{
	Suite *s = suite_create("note");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_vkey_parse);
	tcase_add_test(tc, test_open_example);
	tcase_add_test(tc, test_sign_go_example);
	tcase_add_test(tc, test_open_rejects);
	tcase_add_test(tc, test_checkpoint_serverless);
	tcase_add_test(tc, test_checkpoint_roundtrip);
	tcase_add_test(tc, test_checkpoint_rejects);
	tcase_add_test(tc, test_name_valid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	SRunner *sr = srunner_create(note_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
