/* tlog_bench.c: benchmark of durable log appends and of inclusion proof generation and
 * verification. */
#include "logwriter.h"
#include "tlog.h"
#include "tlog_entries.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define BATCH 1000

static double now_s_f(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char err[ERRBUF_MAX];
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: tlog_bench EMPTY-DIR [ENTRIES]\n");
		return 2;
	}
	uint64_t total = argc == 3 ? strtoull(argv[2], NULL, 10) : 500000;
	if (sodium_init() < 0 || total < BATCH)
		return 2;
	log_set_level(LOG_LEVEL_WARN);
	unsigned char seed[32], pk[32], sk[64];
	memset(seed, 7, sizeof seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	mkdir(argv[1], 0755);
	struct logwriter *lw = logwriter_open(argv[1], "bench.example/log", sk, err, sizeof err);
	if (lw == NULL) {
		fprintf(stderr, "tlog_bench: %s\n", err);
		return 1;
	}

	/* durable appends, batches of BATCH, a checkpoint every second as the relay does */
	struct gen g;
	gen_init(&g, 0);
	static unsigned char store[BATCH][512];
	const unsigned char *ents[BATCH];
	size_t lens[BATCH];
	double spent = 0, last_cp = now_s_f();
	for (uint64_t done = 0; done < total;) {
		size_t n = 0;
		for (; n < BATCH && done + n < total; n++) {
			const unsigned char *d;
			gen_next(&g, &d, &lens[n]);
			memcpy(store[n], d, lens[n]);
			ents[n] = store[n];
		}
		double t0 = now_s_f();
		if (logwriter_append(lw, ents, lens, n, err, sizeof err) != 0) {
			fprintf(stderr, "tlog_bench: %s\n", err);
			return 1;
		}
		double t1 = now_s_f();
		if (t1 - last_cp >= 1.0) {
			if (logwriter_checkpoint(lw, now_ms(), err, sizeof err) != 0) {
				fprintf(stderr, "tlog_bench: %s\n", err);
				return 1;
			}
			last_cp = now_s_f();
			t1 = last_cp;
		}
		spent += t1 - t0;
		done += n;
	}
	double t0 = now_s_f();
	if (logwriter_checkpoint(lw, now_ms(), err, sizeof err) != 0) {
		fprintf(stderr, "tlog_bench: %s\n", err);
		return 1;
	}
	spent += now_s_f() - t0;
	printf("BENCH tlog_append_entries_per_s %.0f entries/s\n", (double)total / spent);

	/* inclusion proofs at random indexes of the whole tree, from the tiles */
	const int rounds = 20000;
	tlog_hash root;
	if (logwriter_root(lw, total, root, err, sizeof err) != 0) {
		fprintf(stderr, "tlog_bench: %s\n", err);
		return 1;
	}
	tlog_hash(*proofs)[TLOG_PROOF_MAX] = xmalloc((size_t)rounds * sizeof *proofs);
	size_t *counts = xmalloc((size_t)rounds * sizeof *counts);
	uint64_t *idx = xmalloc((size_t)rounds * sizeof *idx);
	for (int i = 0; i < rounds; i++)
		idx[i] = randombytes_uniform(UINT32_MAX) % total;
	t0 = now_s_f();
	for (int i = 0; i < rounds; i++)
		if (logwriter_inclusion_proof(lw, idx[i], total, proofs[i], &counts[i], err,
		                              sizeof err) != 0) {
			fprintf(stderr, "tlog_bench: %s\n", err);
			return 1;
		}
	double gen_us = (now_s_f() - t0) * 1e6 / rounds;
	printf("BENCH tlog_inclusion_proof_gen_us %.1f us\n", gen_us);

	/* the leaf hashes, read back from the level-0 tiles, to verify against */
	tlog_hash *leaves = xmalloc((size_t)rounds * sizeof *leaves);
	for (int i = 0; i < rounds; i++) {
		char rel[TLOG_TILE_PATH_MAX];
		unsigned w = idx[i] / 256 < total / 256 ? 256 : (unsigned)(total % 256);
		tlog_tile_path(rel, sizeof rel, 0, idx[i] / 256, w);
		char *path = xasprintf("%s/%s", argv[1], rel);
		uint8_t *data;
		size_t len;
		if (file_read_all(path, TLOG_TILE_BYTES, &data, &len, err, sizeof err) != 0) {
			fprintf(stderr, "tlog_bench: %s\n", err);
			return 1;
		}
		memcpy(leaves[i], data + 32 * (idx[i] % 256), 32);
		free(data);
		free(path);
	}
	t0 = now_s_f();
	for (int i = 0; i < rounds; i++)
		if (tlog_verify_inclusion(idx[i], total, leaves[i], proofs[i], counts[i], root, err,
		                          sizeof err) != 0) {
			fprintf(stderr, "tlog_bench: proof %d: %s\n", i, err);
			return 1;
		}
	double verify_us = (now_s_f() - t0) * 1e6 / rounds;
	printf("BENCH tlog_inclusion_proof_verify_us %.1f us\n", verify_us);

	free(leaves);
	free(idx);
	free(counts);
	free(proofs);
	gen_free(&g);
	logwriter_free(lw);
	return 0;
}
