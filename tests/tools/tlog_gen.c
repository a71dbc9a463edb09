/* tlog_gen.c: test helper: writes transparency logs with the logwriter, tampers with them, prints
 * proofs. */
#include "logwriter.h"
#include "note.h"
#include "tlog.h"
#include "tlog_entries.h"
#include "util.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_text[] =
    "usage: tlog_gen gen DIR N [--key-seed S] [--origin O] [--batch B] [--checkpoint-every K]\n"
    "                          [--undelivered-every U] [--fork-at F --variant V]\n"
    "       tlog_gen vkey [--key-seed S] [--origin O]\n"
    "       tlog_gen proofs DIR INDEX SIZE OLD [--key-seed S] [--origin O]\n"
    "       tlog_gen append DIR HEX-ENTRY... (then signs a checkpoint)\n"
    "       tlog_gen tamper DIR flip-entry K | drop-entry K | swap-entries K L\n"
    "       tlog_gen tamper DIR flip-byte RELPATH OFFSET\n"
    "       tlog_gen tamper DIR bad-entry K KIND   (KIND: backwards, unaccepted, unrouted, "
    "twice)\n";

struct opts {
	const char *seed;
	const char *origin;
	size_t batch;
	uint64_t every;
	unsigned undelivered;
	uint64_t fork_at;
	unsigned variant;
};

static void usage(void)
{
	fputs(usage_text, stderr);
	exit(2);
}

static uint64_t num(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		usage();
	return v;
}

/* Options may follow the positional arguments; returns how many positionals there were. */
static int parse_opts(int argc, char **argv, struct opts *o, char **pos, int maxpos)
{
	int n = 0;
	o->seed = "tlog-test-key";
	o->origin = "relay.test.example/log";
	o->batch = 1000;
	o->every = 10000;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0) {
			if (n == maxpos)
				usage();
			pos[n++] = argv[i];
			continue;
		}
		if (i + 1 >= argc)
			usage();
		const char *v = argv[++i];
		if (!strcmp(argv[i - 1], "--key-seed"))
			o->seed = v;
		else if (!strcmp(argv[i - 1], "--origin"))
			o->origin = v;
		else if (!strcmp(argv[i - 1], "--batch"))
			o->batch = (size_t)num(v);
		else if (!strcmp(argv[i - 1], "--checkpoint-every"))
			o->every = num(v);
		else if (!strcmp(argv[i - 1], "--undelivered-every"))
			o->undelivered = (unsigned)num(v);
		else if (!strcmp(argv[i - 1], "--fork-at"))
			o->fork_at = num(v);
		else if (!strcmp(argv[i - 1], "--variant"))
			o->variant = (unsigned)num(v);
		else
			usage();
	}
	if (o->batch == 0 || o->batch > 100000 || o->every == 0)
		usage();
	return n;
}

static void keypair(const struct opts *o, unsigned char pk[32], unsigned char sk[64])
{
	unsigned char seed[32];
	crypto_hash_sha256(seed, (const unsigned char *)o->seed, strlen(o->seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof seed);
}

static struct logwriter *open_log(const char *dir, const struct opts *o)
{
	unsigned char pk[32], sk[64];
	char err[ERRBUF_MAX];
	keypair(o, pk, sk);
	struct logwriter *lw = logwriter_open(dir, o->origin, sk, err, sizeof err);
	sodium_memzero(sk, sizeof sk);
	if (lw == NULL) {
		fprintf(stderr, "tlog_gen: %s\n", err);
		exit(1);
	}
	return lw;
}

static int cmd_gen(const char *dir, uint64_t n, const struct opts *o)
{
	char err[ERRBUF_MAX];
	struct logwriter *lw = open_log(dir, o);
	struct gen g;
	gen_init(&g, o->undelivered);
	g.fork_at = o->fork_at;
	g.variant = o->variant;
	/* continue a log: regenerate what is there so the stream carries on */
	uint64_t have = logwriter_size(lw);
	for (uint64_t i = 0; i < have; i++) {
		const unsigned char *d;
		size_t l;
		gen_next(&g, &d, &l);
	}
	unsigned char **bufs = xcalloc(o->batch, sizeof *bufs);
	const unsigned char **ents = xcalloc(o->batch, sizeof *ents);
	size_t *lens = xcalloc(o->batch, sizeof *lens);
	uint64_t next_cp = have + o->every;
	while (logwriter_size(lw) < have + n) {
		size_t k = 0;
		uint64_t left = have + n - logwriter_size(lw);
		for (; k < o->batch && k < left; k++) {
			const unsigned char *d;
			gen_next(&g, &d, &lens[k]);
			bufs[k] = xrealloc(bufs[k], lens[k]);
			memcpy(bufs[k], d, lens[k]);
			ents[k] = bufs[k];
		}
		if (logwriter_append(lw, ents, lens, k, err, sizeof err) != 0) {
			fprintf(stderr, "tlog_gen: %s\n", err);
			return 1;
		}
		if (logwriter_size(lw) >= next_cp) {
			if (logwriter_checkpoint(lw, now_ms(), err, sizeof err) != 0) {
				fprintf(stderr, "tlog_gen: %s\n", err);
				return 1;
			}
			next_cp = logwriter_size(lw) + o->every;
		}
	}
	if (logwriter_checkpoint(lw, now_ms(), err, sizeof err) != 0) {
		fprintf(stderr, "tlog_gen: %s\n", err);
		return 1;
	}
	char *vkey = logwriter_vkey(lw);
	printf("%s\n", vkey);
	free(vkey);
	for (size_t k = 0; k < o->batch; k++)
		free(bufs[k]);
	free(bufs);
	free(ents);
	free(lens);
	gen_free(&g);
	logwriter_free(lw);
	return 0;
}

static int cmd_proofs(const char *dir, uint64_t index, uint64_t size, uint64_t old,
                      const struct opts *o)
{
	char err[ERRBUF_MAX];
	tlog_hash proof[TLOG_PROOF_MAX];
	size_t count;
	struct logwriter *lw = open_log(dir, o);
	if (logwriter_inclusion_proof(lw, index, size, proof, &count, err, sizeof err) != 0) {
		fprintf(stderr, "tlog_gen: %s\n", err);
		return 1;
	}
	printf("inclusion %llu %llu\n", (unsigned long long)index, (unsigned long long)size);
	for (size_t i = 0; i < count; i++) {
		char *b = b64_encode(proof[i], 32);
		printf("%s\n", b);
		free(b);
	}
	if (logwriter_consistency_proof(lw, old, size, proof, &count, err, sizeof err) != 0) {
		fprintf(stderr, "tlog_gen: %s\n", err);
		return 1;
	}
	printf("consistency %llu %llu\n", (unsigned long long)old, (unsigned long long)size);
	for (size_t i = 0; i < count; i++) {
		char *b = b64_encode(proof[i], 32);
		printf("%s\n", b);
		free(b);
	}
	logwriter_free(lw);
	return 0;
}

/* ---- tampering: edits every stored copy (full and partial bundles) of the entries ---- */

struct bundle {
	uint8_t *data;
	size_t len;
	const unsigned char *ents[TLOG_TILE_WIDTH];
	size_t lens[TLOG_TILE_WIDTH];
	size_t count;
};

static int load_bundle(const char *path, struct bundle *b)
{
	char err[ERRBUF_MAX];
	if (file_read_all(path, TLOG_BUNDLE_MAX, &b->data, &b->len, err, sizeof err) != 0)
		return -1;
	if (tlog_bundle_split(b->data, b->len, TLOG_TILE_WIDTH, 0, b->ents, b->lens, &b->count, err,
	                      sizeof err) != 0) {
		fprintf(stderr, "tlog_gen: %s: %s\n", path, err);
		exit(1);
	}
	return 0;
}

static void save_bundle(const char *path, const struct bundle *b, const int *order, size_t n)
{
	char err[ERRBUF_MAX];
	unsigned char *out = xmalloc(b->len + 2 * TLOG_TILE_WIDTH);
	size_t off = 0;
	for (size_t i = 0; i < n; i++)
		off += tlog_bundle_put(out + off, b->ents[order[i]], b->lens[order[i]]);
	if (file_write_atomic(path, out, off, 0644, err, sizeof err) != 0) {
		fprintf(stderr, "tlog_gen: %s\n", err);
		exit(1);
	}
	free(out);
}

/* Applies op to each bundle file holding entries k (and l). Returns how many files changed. */
static int tamper_entries(const char *dir, const char *op, uint64_t k, uint64_t l)
{
	uint64_t tile = k / TLOG_TILE_WIDTH;
	unsigned j = (unsigned)(k % TLOG_TILE_WIDTH), j2 = (unsigned)(l % TLOG_TILE_WIDTH);
	int changed = 0;
	if (!strcmp(op, "swap-entries") && l / TLOG_TILE_WIDTH != tile) {
		fprintf(stderr, "tlog_gen: swapped entries must share a bundle\n");
		exit(2);
	}
	for (unsigned w = 0; w < TLOG_TILE_WIDTH; w++) {
		char rel[TLOG_TILE_PATH_MAX];
		tlog_tile_path(rel, sizeof rel, TLOG_LEVEL_ENTRIES, tile,
		               w == 0 ? TLOG_TILE_WIDTH : w);
		char *path = xasprintf("%s/%s", dir, rel);
		struct bundle b;
		if (load_bundle(path, &b) != 0) {
			free(path);
			continue;
		}
		int order[TLOG_TILE_WIDTH];
		size_t n = b.count;
		for (size_t i = 0; i < n; i++)
			order[i] = (int)i;
		if (j < n && (strcmp(op, "swap-entries") != 0 || j2 < n)) {
			if (!strcmp(op, "flip-entry")) {
				((unsigned char *)b.ents[j])[b.lens[j] / 2] ^= 0x01;
			} else if (!strcmp(op, "drop-entry")) {
				for (size_t i = j; i + 1 < n; i++)
					order[i] = (int)i + 1;
				n--;
			} else {
				order[j] = (int)j2;
				order[j2] = (int)j;
			}
			save_bundle(path, &b, order, n);
			changed++;
		}
		free(b.data);
		free(path);
	}
	return changed;
}

static int tamper_byte(const char *dir, const char *rel, uint64_t offset)
{
	char err[ERRBUF_MAX];
	char *path = xasprintf("%s/%s", dir, rel);
	uint8_t *data;
	size_t len;
	if (file_read_all(path, 1 << 26, &data, &len, err, sizeof err) != 0 || offset >= len) {
		fprintf(stderr, "tlog_gen: %s: cannot flip byte %llu\n", path,
		        (unsigned long long)offset);
		exit(1);
	}
	data[offset] ^= 0x01;
	if (file_write_atomic(path, data, len, 0644, err, sizeof err) != 0) {
		fprintf(stderr, "tlog_gen: %s\n", err);
		exit(1);
	}
	free(data);
	free(path);
	return 1;
}

/*
 * Appends a semantically bad entry at the end of an existing log, signed properly: the tree
 * and checkpoint are fine, only what the entry says is wrong.
 */
static int bad_entry(const char *dir, const char *kind, const struct opts *o)
{
	char err[ERRBUF_MAX];
	struct logwriter *lw = open_log(dir, o);
	struct gen g;
	gen_init(&g, o->undelivered);
	uint64_t have = logwriter_size(lw);
	const unsigned char *d = NULL;
	size_t l = 0;
	for (uint64_t i = 0; i < have; i++)
		gen_next(&g, &d, &l);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (!strcmp(kind, "twice")) {
		/* the accept of the last report again, later */
		g.qpos = 0;
		const unsigned char *acc;
		size_t alen;
		g.index--;
		gen_next(&g, &acc, &alen);
		msgpack_unpacked u;
		msgpack_unpacked_init(&u);
		msgpack_unpack_next(&u, (const char *)acc, alen, NULL);
		msgpack_object m = u.data;
		m.via.map.ptr[7].val.via.u64 = g.now + 5000;
		msgpack_pack_object(&pk, m);
		msgpack_unpacked_destroy(&u);
	} else {
		msgpack_pack_map(&pk, 7);
		pack_str(&pk, "t");
		pack_str(&pk, "attempt");
		pack_str(&pk, "i");
		pack_str(&pk,
		         !strcmp(kind, "unaccepted") ? "0123456789abcdef0123456789abcdef" : g.id);
		pack_str(&pk, "r");
		pack_str(&pk, !strcmp(kind, "unrouted") ? "nobody-routed-this" : g.rcpt[0]);
		pack_str(&pk, "c");
		pack_str(&pk, g.chan[0]);
		pack_str(&pk, "o");
		pack_str(&pk, "delivered");
		pack_str(&pk, "n");
		msgpack_pack_uint64(&pk, 9);
		pack_str(&pk, "at");
		msgpack_pack_uint64(&pk, !strcmp(kind, "backwards") ? 1000 : g.now + 5000);
	}
	const unsigned char *e = (const unsigned char *)sb.data;
	size_t elen = sb.size;
	if (logwriter_append(lw, &e, &elen, 1, err, sizeof err) != 0 ||
	    logwriter_checkpoint(lw, now_ms(), err, sizeof err) != 0) {
		fprintf(stderr, "tlog_gen: %s\n", err);
		return 1;
	}
	msgpack_sbuffer_destroy(&sb);
	gen_free(&g);
	logwriter_free(lw);
	return 0;
}

/* Appends raw entries given in hex, then signs a checkpoint. */
static int cmd_append(const char *dir, char **hex, int n, const struct opts *o)
{
	char err[ERRBUF_MAX];
	struct logwriter *lw = open_log(dir, o);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(hex[i]) / 2;
		unsigned char *e = xmalloc(len + 1);
		if (len > TLOG_ENTRY_MAX || hex_decode(e, len, hex[i]) != 0) {
			fprintf(stderr, "tlog_gen: bad hex entry %d\n", i);
			return 2;
		}
		const unsigned char *ep = e;
		if (logwriter_append(lw, &ep, &len, 1, err, sizeof err) != 0) {
			fprintf(stderr, "tlog_gen: %s\n", err);
			return 1;
		}
		free(e);
	}
	if (logwriter_checkpoint(lw, now_ms(), err, sizeof err) != 0) {
		fprintf(stderr, "tlog_gen: %s\n", err);
		return 1;
	}
	logwriter_free(lw);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	char *pos[16];
	if (sodium_init() < 0)
		return 2;
	log_set_prefix("tlog_gen");
	log_set_level(LOG_LEVEL_WARN);
	if (argc < 2)
		usage();
	int n = parse_opts(argc - 2, argv + 2, &o, pos, 16);
	if (!strcmp(argv[1], "gen") && n == 2) {
		mkdir(pos[0], 0755);
		return cmd_gen(pos[0], num(pos[1]), &o);
	}
	if (!strcmp(argv[1], "vkey") && n == 0) {
		unsigned char pk[32], sk[64];
		keypair(&o, pk, sk);
		char *v = note_vkey(o.origin, pk);
		printf("%s\n", v);
		free(v);
		return 0;
	}
	if (!strcmp(argv[1], "append") && n >= 2) {
		mkdir(pos[0], 0755);
		return cmd_append(pos[0], pos + 1, n - 1, &o);
	}
	if (!strcmp(argv[1], "proofs") && n == 4)
		return cmd_proofs(pos[0], num(pos[1]), num(pos[2]), num(pos[3]), &o);
	if (!strcmp(argv[1], "tamper") && n >= 3) {
		const char *op = pos[1];
		if ((!strcmp(op, "flip-entry") || !strcmp(op, "drop-entry")) && n == 3)
			return tamper_entries(pos[0], op, num(pos[2]), 0) > 0 ? 0 : 1;
		if (!strcmp(op, "swap-entries") && n == 4)
			return tamper_entries(pos[0], op, num(pos[2]), num(pos[3])) > 0 ? 0 : 1;
		if (!strcmp(op, "flip-byte") && n == 4)
			return tamper_byte(pos[0], pos[2], num(pos[3])) > 0 ? 0 : 1;
		if (!strcmp(op, "bad-entry") && n == 4)
			return bad_entry(pos[0], pos[3], &o);
	}
	usage();
	return 2;
}
