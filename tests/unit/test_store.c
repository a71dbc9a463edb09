/* test_store.c: registry parsing and lookup; the SQLite store's batches, duplicates, replays,
 * reopen. */
#include "committer.h"
#include "config.h"
#include "mpack.h"
#include "registry.h"
#include "store.h"
#include "test_common.h"

#include <sodium.h>
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

START_TEST(registry_parse_lookup_save)
{
	char *dir = fixture_tmpdir(), err[2048];
	struct keypair *a = keypair_generate(), *b = keypair_generate();
	char *la = keyfile_public_line(a->pk), *lb = keyfile_public_line(b->pk);
	char *text =
	    xasprintf("[agency tram-y-te]\nname = Trạm Y tế\nrole = unit\ngroup = thach-quang\n"
	              "key = %s 2020-01-01 2099-01-01\nkey = %s 2020-01-01 2021-01-01\n",
	              la, lb);
	char *path = write_text(dir, "reg.ini", text);
	struct registry *reg = registry_load(path, err, sizeof err);
	ck_assert_msg(reg != NULL, "%s", err);
	const struct registry_key *k;
	const struct agency *ag;
	ck_assert_int_eq(registry_lookup(reg, "tram-y-te", a->kid, 1764000000, &k, &ag),
	                 REGISTRY_OK);
	ck_assert_str_eq(ag->name, "Trạm Y tế");
	ck_assert(memcmp(k->pk, a->pk, 32) == 0);
	ck_assert_int_eq(registry_lookup(reg, "tram-y-te", b->kid, 1764000000, &k, NULL),
	                 REGISTRY_KEY_EXPIRED);
	ck_assert_int_eq(registry_lookup(reg, "tram-y-te", b->kid, 1500000000, &k, NULL),
	                 REGISTRY_KEY_NOT_YET_VALID);
	uint8_t none[8] = {0};
	ck_assert_int_eq(registry_lookup(reg, "tram-y-te", none, 1764000000, &k, NULL),
	                 REGISTRY_UNKNOWN_KEY);
	ck_assert_int_eq(registry_lookup(reg, "khac", a->kid, 1764000000, &k, NULL),
	                 REGISTRY_UNKNOWN_AGENCY);
	reg->agencies[0].keys[0].revoked = true;
	ck_assert_int_eq(registry_lookup(reg, "tram-y-te", a->kid, 1764000000, &k, NULL),
	                 REGISTRY_KEY_REVOKED);
	/* Save and load again: the same registry. */
	ck_assert_int_eq(registry_save(reg, path, err, sizeof err), 0);
	struct registry *again = registry_load(path, err, sizeof err);
	ck_assert_msg(again != NULL, "%s", err);
	ck_assert_uint_eq(again->agencies[0].key_count, 2);
	ck_assert(again->agencies[0].keys[0].revoked);
	ck_assert_int_eq(again->agencies[0].keys[1].valid_until,
	                 reg->agencies[0].keys[1].valid_until);
	registry_free(again);
	registry_free(reg);
	/* Each error names its line; the whole file is refused. */
	char *bad =
	    write_text(dir, "bad.ini",
	               "[agency ok]\nrole = unit\n[agency BAD ID]\nname = x\n[agency y]\nrole = "
	               "chief\nkey = zzz 2020-01-01 2021-01-01\ncolour = blue\n");
	ck_assert_ptr_null(registry_load(bad, err, sizeof err));
	ck_assert_msg(strstr(err, "bad.ini:4:") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "bad.ini:6: role") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "bad.ini:7: key") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "bad.ini:8:") != NULL, "%s", err);
	free(bad);
	free(path);
	free(text);
	free(la);
	free(lb);
	keypair_free(a);
	keypair_free(b);
	free(dir);
}
END_TEST

START_TEST(config_errors_and_defaults)
{
	char *dir = fixture_tmpdir(), err[2048];
	struct relay_config cfg;
	char *path =
	    write_text(dir, "relay.ini", "[relay]\nstore = data/r.db\n[limits]\nthreads = 4\n");
	config_defaults(&cfg);
	ck_assert_int_eq(config_load(path, &cfg, err, sizeof err), 0);
	char *want = xasprintf("%s/data/r.db", dir);
	ck_assert_str_eq(cfg.store, want);
	ck_assert_int_eq(cfg.threads, 4);
	ck_assert_int_eq(cfg.max_body, 65536);
	config_free(&cfg);
	free(want);
	char *bad =
	    write_text(dir, "bad.ini",
	               "[relay]\nlisten = x\n[limits]\nthreads = 0\nthreads = many\nnope = 1\n");
	config_defaults(&cfg);
	ck_assert_int_eq(config_load(bad, &cfg, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "bad.ini:4: [limits] threads") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "bad.ini:5:") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "bad.ini:6: [limits] nope") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "listen") != NULL, "%s", err);
	config_free(&cfg);
	free(bad);
	free(path);
	free(dir);
}
END_TEST

static void fill(struct accept_req *r, const char *agency, uint8_t nonce_byte, uint8_t hash_byte)
{
	memset(r, 0, sizeof *r);
	memset(r->hash, hash_byte, sizeof r->hash);
	report_id_from_hash(r->hash, r->report_id);
	snprintf(r->agency, sizeof r->agency, "%s", agency);
	memset(r->nonce, nonce_byte, sizeof r->nonce);
	snprintf(r->incident_id, sizeof r->incident_id, "SC-%u", hash_byte);
	r->kind = "notification";
	r->category = "malware";
	r->severity = "normal";
	r->envelope = (const uint8_t *)"sealed";
	r->envelope_len = 6;
}

START_TEST(store_batches)
{
	char *dir = fixture_tmpdir(), err[256];
	char *path = xasprintf("%s/s.db", dir);
	struct store *st = store_open(path, err, sizeof err);
	ck_assert_msg(st != NULL, "%s", err);
	struct accept_req a, b, c, d;
	fill(&a, "unit-a", 1, 0x11);
	fill(&b, "unit-b", 1, 0x22); /* the same nonce from another agency is fine */
	fill(&c, "unit-a", 1, 0x11); /* the very same envelope again in the same batch */
	fill(&d, "unit-a", 1, 0x33); /* the same nonce, another envelope: a replay */
	struct accept_req *batch[] = {&a, &b, &c, &d};
	ck_assert_int_eq(store_accept_batch(st, batch, 4, 1764000000000ull, err, sizeof err), 0);
	ck_assert_int_eq(a.outcome, STORE_ACCEPTED);
	ck_assert_int_eq(b.outcome, STORE_ACCEPTED);
	ck_assert_int_eq(c.outcome, STORE_DUPLICATE);
	ck_assert_int_eq(d.outcome, STORE_REPLAY);
	ck_assert_uint_eq(a.log_index, 0);
	ck_assert_uint_eq(b.log_index, 1);
	ck_assert_uint_eq(c.log_index, 0);
	/* Log times never go backwards even if the clock does. */
	struct accept_req e;
	fill(&e, "unit-a", 2, 0x44);
	struct accept_req *one[] = {&e};
	ck_assert_int_eq(store_accept_batch(st, one, 1, 1000, err, sizeof err), 0);
	ck_assert_uint_eq(e.received_ms, 1764000000000ull);
	store_close(st);

	/* Reopen: everything is there and indexes continue. */
	st = store_open(path, err, sizeof err);
	ck_assert_ptr_nonnull(st);
	struct stored_report sr;
	ck_assert_int_eq(store_report_get(st, a.report_id, true, &sr, err, sizeof err), 1);
	ck_assert_str_eq(sr.agency, "unit-a");
	ck_assert_uint_eq(sr.envelope_len, 6);
	stored_report_clear(&sr);
	ck_assert_int_eq(
	    store_report_get(st, "00000000000000000000000000000000", false, &sr, err, sizeof err),
	    0);
	uint64_t n;
	store_log_count(st, &n, err, sizeof err);
	ck_assert_uint_eq(n, 3);
	uint8_t **entries;
	size_t *lens, count;
	ck_assert_int_eq(store_log_read(st, 1, 10, &entries, &lens, &count, err, sizeof err), 0);
	ck_assert_uint_eq(count, 2);
	/* The canonical acceptance entry names the report, never its content. */
	size_t want_len;
	uint8_t *want = store_accept_entry(&b, &want_len);
	ck_assert_uint_eq(lens[0], want_len);
	ck_assert(memcmp(entries[0], want, want_len) == 0);
	/* ... and is exactly one msgpack map with the documented keys, nothing trailing. */
	static const char *const entry_keys[] = {"t", "i", "h",  "a",      "inc",
	                                         "k", "d", "at", "routes", NULL};
	msgpack_zone zone;
	msgpack_object obj;
	msgpack_zone_init(&zone, 1024);
	ck_assert_msg(mpack_decode(want, want_len, 3, &zone, &obj, err, sizeof err) == 0, "%s",
	              err);
	ck_assert_int_eq(mpack_map_check(&obj, entry_keys, "entry", err, sizeof err), 0);
	ck_assert_uint_eq(obj.via.map.size, 9);
	msgpack_zone_destroy(&zone);
	free(want);
	for (size_t i = 0; i < count; i++)
		free(entries[i]);
	free(entries);
	free(lens);
	struct store_reader *rd = store_reader_open(path, err, sizeof err);
	uint8_t h[32];
	uint64_t ms, idx;
	char inc[65];
	ck_assert_int_eq(store_reader_nonce(rd, "unit-b", b.nonce, h, &ms, &idx, inc), 1);
	ck_assert_uint_eq(idx, 1);
	ck_assert_int_eq(store_reader_nonce(rd, "unit-c", b.nonce, h, &ms, &idx, inc), 0);
	store_reader_close(rd);
	store_close(st);
	free(path);
	free(dir);
}
END_TEST

static int done_count;
static void on_done(struct accept_req *r)
{
	(void)r;
	__atomic_add_fetch(&done_count, 1, __ATOMIC_SEQ_CST);
}

START_TEST(committer_groups)
{
	char *dir = fixture_tmpdir(), err[256];
	char *path = xasprintf("%s/c.db", dir);
	struct store *st = store_open(path, err, sizeof err);
	struct committer *c = committer_start(st, 64, NULL, NULL);
	enum { N = 500 };
	struct accept_req *reqs = xcalloc(N, sizeof *reqs);
	for (int i = 0; i < N; i++) {
		fill(&reqs[i], "unit-a", 0, 0);
		randombytes_buf(reqs[i].nonce, 16);
		randombytes_buf(reqs[i].hash, 32);
		report_id_from_hash(reqs[i].hash, reqs[i].report_id);
		reqs[i].done = on_done;
		committer_submit(c, &reqs[i]);
	}
	committer_stop(c); /* commits what is queued first */
	ck_assert_int_eq(done_count, N);
	uint64_t n = 0;
	store_report_count(st, &n);
	ck_assert_uint_eq(n, N);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(reqs[i].outcome, STORE_ACCEPTED);
	free(reqs);
	store_close(st);
	free(path);
	free(dir);
}
END_TEST

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, registry_parse_lookup_save);
	tcase_add_test(tc, config_errors_and_defaults);
	tcase_add_test(tc, store_batches);
	tcase_add_test(tc, committer_groups);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
