/* test_tlog.c: Merkle tree vectors (RFC 6962, transparency-dev), tiles, and the logwriter. */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logwriter.h"
#include "note.h"
#include "tlog.h"
#include "util.h"

static char err[ERRBUF_MAX];

/* ---- transparency-dev/merkle testonly vectors ---- */

static const char *leaf_inputs[8] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

static const char *root_hex[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static const char *l0_hex[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
};
static const char *l1_hex[4] = {
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
};
static const char *l2_hex[2] = {
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
};

static void from_hex(tlog_hash out, const char *hex)
{
	ck_assert_int_eq(hex_decode(out, TLOG_HASH_SIZE, hex), 0);
}

static size_t leaf_data(unsigned char *out, int i)
{
	size_t n = strlen(leaf_inputs[i]) / 2;
	if (n > 0)
		ck_assert_int_eq(hex_decode(out, n, leaf_inputs[i]), 0);
	return n;
}

static struct tlog_memtree *vector_tree(uint64_t n)
{
	struct tlog_memtree *t = tlog_memtree_new();
	for (uint64_t i = 0; i < n; i++) {
		unsigned char d[32];
		tlog_hash h;
		size_t len = leaf_data(d, (int)i);
		tlog_hash_leaf(h, d, len);
		tlog_memtree_append(t, h);
	}
	return t;
}

START_TEST(test_hasher_vectors)
{
	tlog_hash h, want;
	tlog_hash_empty(h);
	from_hex(want, root_hex[0]);
	ck_assert_mem_eq(h, want, 32);
	tlog_hash_leaf(h, (const unsigned char *)"", 0);
	from_hex(want, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
	ck_assert_mem_eq(h, want, 32);
	tlog_hash_leaf(h, (const unsigned char *)"L123456", 7);
	from_hex(want, "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56");
	ck_assert_mem_eq(h, want, 32);
	/* HashChildren("N123", "N456") hashes 0x01 || "N123" || "N456": not two 32-byte nodes,
	 * so check it with the raw bytes. */
	unsigned char raw[9] = {0x01, 'N', '1', '2', '3', 'N', '4', '5', '6'};
	crypto_hash_sha256(h, raw, sizeof raw);
	from_hex(want, "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb");
	ck_assert_mem_eq(h, want, 32);
	/* Go sumdb RecordHash("hello world") */
	tlog_hash_leaf(h, (const unsigned char *)"hello world", 11);
	char *b64 = b64_encode(h, 32);
	ck_assert_str_eq(b64, "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=");
	free(b64);
}
END_TEST

START_TEST(test_roots_and_nodes)
{
	for (uint64_t n = 0; n <= 8; n++) {
		struct tlog_memtree *t = vector_tree(n);
		tlog_hash root, want;
		ck_assert_int_eq(tlog_tree_root(tlog_memtree_read, t, n, root, err, sizeof err), 0);
		from_hex(want, root_hex[n]);
		ck_assert_msg(memcmp(root, want, 32) == 0, "root of size %llu",
		              (unsigned long long)n);
		/* the frontier agrees */
		struct tlog_frontier f;
		tlog_frontier_init(&f, NULL, NULL);
		for (uint64_t i = 0; i < n; i++) {
			tlog_hash h;
			tlog_memtree_read(t, 0, i, h, err, sizeof err);
			tlog_frontier_push(&f, h);
		}
		tlog_frontier_root(&f, root);
		ck_assert_mem_eq(root, want, 32);
		tlog_memtree_free(t);
	}
	struct tlog_memtree *t = vector_tree(8);
	const char **levels[3] = {l0_hex, l1_hex, l2_hex};
	for (unsigned l = 0; l < 3; l++) {
		for (uint64_t i = 0; i < (8u >> l); i++) {
			tlog_hash h, want;
			ck_assert_int_eq(tlog_memtree_read(t, l, i, h, err, sizeof err), 0);
			from_hex(want, levels[l][i]);
			ck_assert_mem_eq(h, want, 32);
		}
	}
	tlog_hash h, want;
	ck_assert_int_eq(tlog_memtree_read(t, 3, 0, h, err, sizeof err), 0);
	from_hex(want, root_hex[8]);
	ck_assert_mem_eq(h, want, 32);
	ck_assert_int_ne(tlog_memtree_read(t, 3, 1, h, err, sizeof err), 0);
	tlog_memtree_free(t);
}
END_TEST

struct incl_vector {
	uint64_t index, size;
	size_t n;
	const char *path[3];
};

static const struct incl_vector incl_vectors[] = {
    {0, 1, 0, {NULL}},
    {0,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     3,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     3,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

static int incl_ok(uint64_t index, uint64_t size, const tlog_hash leaf, const tlog_hash *p,
                   size_t n, const tlog_hash root)
{
	return tlog_verify_inclusion(index, size, leaf, p, n, root, err, sizeof err) == 0;
}

START_TEST(test_inclusion_vectors)
{
	for (size_t v = 0; v < sizeof incl_vectors / sizeof incl_vectors[0]; v++) {
		const struct incl_vector *iv = &incl_vectors[v];
		tlog_hash leaf, root, proof[TLOG_PROOF_MAX + 2], gen[TLOG_PROOF_MAX];
		size_t n = iv->n, count;
		from_hex(leaf, l0_hex[iv->index]);
		from_hex(root, root_hex[iv->size]);
		for (size_t i = 0; i < n; i++)
			from_hex(proof[i], iv->path[i]);
		/* generation gives exactly the published path */
		struct tlog_memtree *t = vector_tree(iv->size);
		ck_assert_int_eq(tlog_prove_inclusion(tlog_memtree_read, t, iv->index, iv->size,
		                                      gen, &count, err, sizeof err),
		                 0);
		tlog_memtree_free(t);
		ck_assert_uint_eq(count, n);
		if (n > 0)
			ck_assert_mem_eq(gen, proof, n * 32);
		ck_assert_msg(incl_ok(iv->index, iv->size, leaf, proof, n, root), "vector %zu: %s",
		              v, err);

		/* negative cases: each must fail */
		ck_assert(!incl_ok(iv->index + 1, iv->size, leaf, proof, n, root));
		if (iv->index > 0)
			ck_assert(!incl_ok(iv->index - 1, iv->size, leaf, proof, n, root));
		/* a wrong tree height (±1 can keep the shape of the path, so twice and half) */
		ck_assert(!incl_ok(iv->index, iv->size * 2, leaf, proof, n, root));
		ck_assert(!incl_ok(iv->index, iv->size / 2, leaf, proof, n, root));
		ck_assert(!incl_ok(iv->index, 0, leaf, proof, n, root));
		for (int bit = 0; bit < 256; bit += 37) {
			tlog_hash bad;
			memcpy(bad, leaf, 32);
			bad[bit / 8] ^= (unsigned char)(1 << (bit % 8));
			ck_assert(!incl_ok(iv->index, iv->size, bad, proof, n, root));
			memcpy(bad, root, 32);
			bad[bit / 8] ^= (unsigned char)(1 << (bit % 8));
			ck_assert(!incl_ok(iv->index, iv->size, leaf, proof, n, bad));
			for (size_t i = 0; i < n; i++) {
				proof[i][bit / 8] ^= (unsigned char)(1 << (bit % 8));
				ck_assert(!incl_ok(iv->index, iv->size, leaf, proof, n, root));
				proof[i][bit / 8] ^= (unsigned char)(1 << (bit % 8));
			}
		}
		/* truncated */
		if (n > 0) {
			ck_assert(!incl_ok(iv->index, iv->size, leaf, proof, n - 1, root));
			ck_assert(!incl_ok(iv->index, iv->size, leaf, proof + 1, n - 1, root));
		}
		/* extended: an extra hash after, or before */
		tlog_hash ext[TLOG_PROOF_MAX + 2];
		memcpy(ext, proof, n * 32);
		memset(ext[n], 0, 32);
		ck_assert(!incl_ok(iv->index, iv->size, leaf, ext, n + 1, root));
		memcpy(ext[n], leaf, 32);
		ck_assert(!incl_ok(iv->index, iv->size, leaf, ext, n + 1, root));
		memcpy(ext[n], root, 32);
		ck_assert(!incl_ok(iv->index, iv->size, leaf, ext, n + 1, root));
		memcpy(ext[0], leaf, 32);
		memcpy(ext + 1, proof, n * 32);
		ck_assert(!incl_ok(iv->index, iv->size, leaf, ext, n + 1, root));
		/* the root passed as the leaf, the leaf as the root */
		if (n > 0)
			ck_assert(!incl_ok(iv->index, iv->size, root, proof, n, leaf));
		/* absurd lengths */
		ck_assert(!incl_ok(iv->index, iv->size, leaf, proof, TLOG_PROOF_MAX + 1, root));
	}
}
END_TEST

struct cons_vector {
	uint64_t size1, size2;
	size_t n;
	const char *path[3];
};

static const struct cons_vector cons_vectors[] = {
    {1, 1, 0, {NULL}},
    {1,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     2,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     7,
     3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

static int cons_ok(uint64_t m, uint64_t n, const tlog_hash r1, const tlog_hash r2,
                   const tlog_hash *p, size_t count)
{
	return tlog_verify_consistency(m, n, r1, r2, p, count, err, sizeof err) == 0;
}

START_TEST(test_consistency_vectors)
{
	for (size_t v = 0; v < sizeof cons_vectors / sizeof cons_vectors[0]; v++) {
		const struct cons_vector *cv = &cons_vectors[v];
		tlog_hash r1, r2, proof[TLOG_PROOF_MAX + 2], gen[TLOG_PROOF_MAX];
		size_t n = cv->n, count;
		uint64_t m1 = cv->size1, m2 = cv->size2;
		from_hex(r1, root_hex[m1]);
		from_hex(r2, root_hex[m2]);
		for (size_t i = 0; i < n; i++)
			from_hex(proof[i], cv->path[i]);
		struct tlog_memtree *t = vector_tree(m2);
		ck_assert_int_eq(tlog_prove_consistency(tlog_memtree_read, t, m1, m2, gen, &count,
		                                        err, sizeof err),
		                 0);
		tlog_memtree_free(t);
		ck_assert_uint_eq(count, n);
		if (n > 0)
			ck_assert_mem_eq(gen, proof, n * 32);
		ck_assert_msg(cons_ok(m1, m2, r1, r2, proof, n), "vector %zu: %s", v, err);

		/* negative cases */
		ck_assert(!cons_ok(m1, m2, r2, r1, proof, n) || memcmp(r1, r2, 32) == 0);
		if (m1 != m2) {
			ck_assert(!cons_ok(m1 - 1, m2, r1, r2, proof, n));
			ck_assert(!cons_ok(m1 + 1, m2, r1, r2, proof, n));
			ck_assert(!cons_ok(m1, m2 * 2, r1, r2, proof, n));
			ck_assert(!cons_ok(m1, m2 / 2, r1, r2, proof, n));
			ck_assert(!cons_ok(m1, m2, r2, r1, proof, n));
			ck_assert(!cons_ok(m1, m2, r1, r2, proof, 0));
		}
		ck_assert(!cons_ok(m2 + 1, m2, r1, r2, proof, n));
		ck_assert(!cons_ok(0, m2, r1, r2, proof, n)); /* root of empty tree is not r1 */
		for (int bit = 0; bit < 256; bit += 29) {
			tlog_hash bad;
			memcpy(bad, r1, 32);
			bad[bit / 8] ^= (unsigned char)(1 << (bit % 8));
			ck_assert(!cons_ok(m1, m2, bad, r2, proof, n));
			memcpy(bad, r2, 32);
			bad[bit / 8] ^= (unsigned char)(1 << (bit % 8));
			ck_assert(!cons_ok(m1, m2, r1, bad, proof, n));
			for (size_t i = 0; i < n; i++) {
				proof[i][bit / 8] ^= (unsigned char)(1 << (bit % 8));
				ck_assert(!cons_ok(m1, m2, r1, r2, proof, n));
				proof[i][bit / 8] ^= (unsigned char)(1 << (bit % 8));
			}
		}
		if (n > 0) {
			ck_assert(!cons_ok(m1, m2, r1, r2, proof, n - 1));
			ck_assert(!cons_ok(m1, m2, r1, r2, proof + 1, n - 1));
		}
		tlog_hash ext[TLOG_PROOF_MAX + 2];
		memcpy(ext, proof, n * 32);
		memset(ext[n], 0, 32);
		ck_assert(!cons_ok(m1, m2, r1, r2, ext, n + 1));
		memcpy(ext[n], r1, 32);
		ck_assert(!cons_ok(m1, m2, r1, r2, ext, n + 1));
		memcpy(ext[0], r1, 32);
		memcpy(ext + 1, proof, n * 32);
		ck_assert(!cons_ok(m1, m2, r1, r2, ext, n + 1));
		ck_assert(!cons_ok(m1, m2, r1, r2, proof, TLOG_PROOF_MAX + 1));
	}
	/* the empty tree is consistent with every tree, with an empty proof only */
	tlog_hash empty, r8, p[1];
	tlog_hash_empty(empty);
	from_hex(r8, root_hex[8]);
	ck_assert(cons_ok(0, 8, empty, r8, NULL, 0));
	ck_assert(cons_ok(0, 0, empty, empty, NULL, 0));
	memcpy(p[0], r8, 32);
	ck_assert(!cons_ok(0, 8, empty, r8, p, 1));
}
END_TEST

/* RFC 6962 §2.1.3: the 7-leaf example with named nodes. */
START_TEST(test_rfc6962_example)
{
	struct tlog_memtree *t = vector_tree(7);
	tlog_hash a, b, c, d, e, f, g, h, i, j, k, l, gen[TLOG_PROOF_MAX];
	size_t count;
	tlog_memtree_read(t, 0, 0, a, err, sizeof err);
	tlog_memtree_read(t, 0, 1, b, err, sizeof err);
	tlog_memtree_read(t, 0, 2, c, err, sizeof err);
	tlog_memtree_read(t, 0, 3, d, err, sizeof err);
	tlog_memtree_read(t, 0, 4, e, err, sizeof err);
	tlog_memtree_read(t, 0, 5, f, err, sizeof err);
	tlog_memtree_read(t, 0, 6, j, err, sizeof err);
	tlog_hash_node(g, a, b);
	tlog_hash_node(h, c, d);
	tlog_hash_node(i, e, f);
	tlog_hash_node(k, g, h);
	tlog_hash_node(l, i, j);
	struct {
		uint64_t m;
		size_t n;
		const unsigned char *want[4];
	} incl[] = {{0, 3, {b, h, l}}, {3, 3, {c, g, l}}, {4, 3, {f, j, k}}, {6, 2, {i, k}}},
	  cons[] = {{3, 4, {c, d, g, l}}, {4, 1, {l}}, {6, 3, {i, j, k}}};
	for (size_t x = 0; x < 4; x++) {
		ck_assert_int_eq(tlog_prove_inclusion(tlog_memtree_read, t, incl[x].m, 7, gen,
		                                      &count, err, sizeof err),
		                 0);
		ck_assert_uint_eq(count, incl[x].n);
		for (size_t y = 0; y < count; y++)
			ck_assert_mem_eq(gen[y], incl[x].want[y], 32);
	}
	for (size_t x = 0; x < 3; x++) {
		ck_assert_int_eq(tlog_prove_consistency(tlog_memtree_read, t, cons[x].m, 7, gen,
		                                        &count, err, sizeof err),
		                 0);
		ck_assert_uint_eq(count, cons[x].n);
		for (size_t y = 0; y < count; y++)
			ck_assert_mem_eq(gen[y], cons[x].want[y], 32);
	}
	tlog_memtree_free(t);
}
END_TEST

/* Deterministic pseudo-random leaves. */
static void fake_leaf(tlog_hash out, uint64_t i)
{
	unsigned char buf[8];
	for (int k = 0; k < 8; k++)
		buf[k] = (unsigned char)(i >> (8 * k));
	tlog_hash_leaf(out, buf, sizeof buf);
}

START_TEST(test_all_small_proofs)
{
	struct tlog_memtree *t = tlog_memtree_new();
	tlog_hash roots[130];
	tlog_hash_empty(roots[0]);
	for (uint64_t n = 1; n < 130; n++) {
		tlog_hash leaf;
		fake_leaf(leaf, n - 1);
		tlog_memtree_append(t, leaf);
		ck_assert_int_eq(tlog_tree_root(tlog_memtree_read, t, n, roots[n], err, sizeof err),
		                 0);
	}
	for (uint64_t n = 1; n < 130; n++) {
		for (uint64_t m = 0; m < n; m++) {
			tlog_hash p[TLOG_PROOF_MAX], leaf;
			size_t count;
			fake_leaf(leaf, m);
			ck_assert_int_eq(tlog_prove_inclusion(tlog_memtree_read, t, m, n, p, &count,
			                                      err, sizeof err),
			                 0);
			ck_assert_msg(incl_ok(m, n, leaf, p, count, roots[n]), "incl %llu/%llu: %s",
			              (unsigned long long)m, (unsigned long long)n, err);
			ck_assert(!incl_ok(m, n, leaf, p, count, roots[n - 1]));
			ck_assert_int_eq(tlog_prove_consistency(tlog_memtree_read, t, m, n, p,
			                                        &count, err, sizeof err),
			                 0);
			ck_assert_msg(cons_ok(m, n, roots[m], roots[n], p, count),
			              "cons %llu->%llu: %s", (unsigned long long)m,
			              (unsigned long long)n, err);
			if (m > 0) {
				ck_assert(!cons_ok(m, n, roots[m - 1], roots[n], p, count));
				ck_assert(!cons_ok(m, n, roots[m], roots[n - 1], p, count));
			}
		}
	}
	/* out of range */
	tlog_hash p[TLOG_PROOF_MAX];
	size_t count;
	ck_assert_int_ne(
	    tlog_prove_inclusion(tlog_memtree_read, t, 5, 5, p, &count, err, sizeof err), 0);
	ck_assert_int_ne(
	    tlog_prove_consistency(tlog_memtree_read, t, 6, 5, p, &count, err, sizeof err), 0);
	ck_assert_int_ne(
	    tlog_prove_inclusion(tlog_memtree_read, t, 0, 200, p, &count, err, sizeof err), 0);
	tlog_memtree_free(t);
}
END_TEST

START_TEST(test_tile_paths)
{
	char buf[TLOG_TILE_PATH_MAX];
	struct {
		int level;
		uint64_t index;
		unsigned width;
		const char *path;
	} v[] = {
	    {0, 0, 256, "tile/0/000"},
	    {0, 1234067, 256, "tile/0/x001/x234/067"},
	    {0, 273, 112, "tile/0/273.p/112"},
	    {1, 1, 17, "tile/1/001.p/17"},
	    {2, 0, 1, "tile/2/000.p/1"},
	    {TLOG_LEVEL_ENTRIES, 1000, 256, "tile/entries/x001/000"},
	    {TLOG_LEVEL_ENTRIES, 5, 255, "tile/entries/005.p/255"},
	    {63, UINT64_MAX, 256, "tile/63/x018/x446/x744/x073/x709/x551/615"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		ck_assert_int_eq(
		    tlog_tile_path(buf, sizeof buf, v[i].level, v[i].index, v[i].width), 0);
		ck_assert_str_eq(buf, v[i].path);
		int level;
		uint64_t index;
		unsigned width;
		ck_assert_int_eq(tlog_tile_path_parse(v[i].path, &level, &index, &width), 0);
		ck_assert_int_eq(level, v[i].level);
		ck_assert_uint_eq(index, v[i].index);
		ck_assert_uint_eq(width, v[i].width);
	}
	ck_assert_int_ne(tlog_tile_path(buf, 8, 0, 0, 256), 0);
	ck_assert_int_ne(tlog_tile_path(buf, sizeof buf, 64, 0, 256), 0);
	ck_assert_int_ne(tlog_tile_path(buf, sizeof buf, 0, 0, 257), 0);
	const char *bad[] = {
	    "tile/0/x000/001",
	    "tile/0/1",
	    "tile/00/000",
	    "tile/0/000.p/0",
	    "tile/0/000.p/256",
	    "tile/0/000.p/07",
	    "tile/64/000",
	    "tile/entries/000.p/",
	    "tile/0/000/",
	    "tile/0/0001",
	    "tile/0/x001",
	    "tile/0/x001/",
	    "tile/-1/000",
	    "tile/data/000",
	    "tiles/0/000",
	    "tile/0/000.q/5",
	    "tile/0/x1000/000",
	    "tile//000",
	    "tile/0/000.p/5/x",
	    "tile/8/0/000",
	    "tile/0/x018/x446/x744/x073/x709/x551/616",
	    "tile/0/x001/x002/x003/x004/x005/x006/x007/000",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int level;
		uint64_t index;
		unsigned width;
		ck_assert_msg(tlog_tile_path_parse(bad[i], &level, &index, &width) != 0,
		              "accepted %s", bad[i]);
	}
	/* tlog-tiles example: a tree of 70,000 leaves */
	ck_assert_uint_eq(tlog_tile_full_count(70000, 0), 273);
	ck_assert_uint_eq(tlog_tile_partial_width(70000, 0), 112);
	ck_assert_uint_eq(tlog_tile_full_count(70000, 1), 1);
	ck_assert_uint_eq(tlog_tile_partial_width(70000, 1), 17);
	ck_assert_uint_eq(tlog_tile_full_count(70000, 2), 0);
	ck_assert_uint_eq(tlog_tile_partial_width(70000, 2), 1);
	ck_assert_uint_eq(tlog_tile_partial_width(256, 1), 1);
	ck_assert_uint_eq(tlog_tile_partial_width(256, 0), 0);
}
END_TEST

START_TEST(test_bundles)
{
	unsigned char buf[64];
	size_t off = 0;
	off += tlog_bundle_put(buf + off, (const unsigned char *)"abc", 3);
	off += tlog_bundle_put(buf + off, (const unsigned char *)"", 0);
	off += tlog_bundle_put(buf + off, (const unsigned char *)"hello", 5);
	ck_assert_uint_eq(off, 2 + 3 + 2 + 2 + 5);
	ck_assert_int_eq(buf[0], 0);
	ck_assert_int_eq(buf[1], 3);
	const unsigned char *e[4];
	size_t l[4], n;
	ck_assert_int_eq(tlog_bundle_split(buf, off, 3, 1, e, l, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(l[2], 5);
	ck_assert_mem_eq(e[2], "hello", 5);
	ck_assert_uint_eq(l[1], 0);
	/* exactness */
	ck_assert_int_ne(tlog_bundle_split(buf, off, 4, 1, e, l, &n, err, sizeof err), 0);
	ck_assert_int_ne(tlog_bundle_split(buf, off, 2, 1, e, l, &n, err, sizeof err), 0);
	ck_assert_int_eq(tlog_bundle_split(buf, off, 2, 0, e, l, &n, err, sizeof err), 0);
	ck_assert_uint_eq(n, 2);
	/* truncations everywhere */
	for (size_t cut = 1; cut < off; cut++) {
		int rc = tlog_bundle_split(buf, off - cut, 3, 1, e, l, &n, err, sizeof err);
		ck_assert_int_ne(rc, 0);
	}
	/* a huge announced length */
	unsigned char huge[3] = {0xff, 0xff, 'x'};
	ck_assert_int_ne(tlog_bundle_split(huge, 3, 1, 1, e, l, &n, err, sizeof err), 0);
}
END_TEST

/* Tiles built from a memtree, served through the tile cache. */
struct memtiles {
	struct tlog_memtree *t;
	uint64_t size;
	int fetches;
};

static int memtiles_fetch(void *ctx, unsigned level, uint64_t index, unsigned need,
                          tlog_hash *hashes, unsigned *width, char *e, size_t elen)
{
	struct memtiles *m = ctx;
	uint64_t avail = m->size >> (TLOG_TILE_HEIGHT * level);
	m->fetches++;
	if (index * 256 >= avail)
		return seterr(e, elen, "no such tile");
	unsigned w = avail - index * 256 >= 256 ? 256 : (unsigned)(avail - index * 256);
	if (w < need)
		return seterr(e, elen, "tile too narrow");
	for (unsigned j = 0; j < w; j++)
		if (tlog_memtree_read(m->t, TLOG_TILE_HEIGHT * level, index * 256 + j, hashes[j], e,
		                      elen) != 0)
			return -1;
	*width = w;
	return 0;
}

struct tile_hashes {
	struct tlog_memtree *t;
	uint64_t seen[3];
};

static int check_subtree(void *ctx, unsigned level, uint64_t index, const tlog_hash h)
{
	struct tile_hashes *th = ctx;
	tlog_hash want;
	ck_assert_uint_eq(level % 8, 0);
	ck_assert_uint_eq(index, th->seen[level / 8]);
	th->seen[level / 8]++;
	ck_assert_int_eq(tlog_memtree_read(th->t, level, index, want, err, sizeof err), 0);
	ck_assert_mem_eq(h, want, 32);
	return 0;
}

START_TEST(test_tilecache)
{
	const uint64_t total = 70000;
	struct memtiles m = {tlog_memtree_new(), total, 0};
	for (uint64_t i = 0; i < total; i++) {
		tlog_hash h;
		fake_leaf(h, i);
		tlog_memtree_append(m.t, h);
	}
	/* the frontier reports every tile hash in order */
	struct tile_hashes th = {m.t, {0, 0, 0}};
	struct tlog_frontier f;
	tlog_frontier_init(&f, check_subtree, &th);
	for (uint64_t i = 0; i < total; i++) {
		tlog_hash h;
		fake_leaf(h, i);
		ck_assert_int_eq(tlog_frontier_push(&f, h), 0);
	}
	ck_assert_uint_eq(th.seen[0], total);
	ck_assert_uint_eq(th.seen[1], total / 256);
	ck_assert_uint_eq(th.seen[2], total / 65536);

	struct tlog_tilecache *c = tlog_tilecache_new(memtiles_fetch, &m, 16);
	uint64_t sizes[] = {1, 2, 255, 256, 257, 65535, 65536, 65537, 69999, 70000};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		tlog_hash a, b;
		ck_assert_int_eq(
		    tlog_tree_root(tlog_memtree_read, m.t, sizes[s], a, err, sizeof err), 0);
		ck_assert_msg(
		    tlog_tree_root(tlog_tilecache_read, c, sizes[s], b, err, sizeof err) == 0, "%s",
		    err);
		ck_assert_mem_eq(a, b, 32);
	}
	tlog_hash root, fr;
	tlog_tree_root(tlog_memtree_read, m.t, total, root, err, sizeof err);
	tlog_frontier_root(&f, fr);
	ck_assert_mem_eq(root, fr, 32);
	for (uint64_t k = 0; k < 300; k++) {
		uint64_t idx = (k * 7919 * 7907) % total, old = (k * 104729) % total;
		tlog_hash p1[TLOG_PROOF_MAX], p2[TLOG_PROOF_MAX], leaf;
		size_t n1, n2;
		ck_assert_int_eq(tlog_prove_inclusion(tlog_memtree_read, m.t, idx, total, p1, &n1,
		                                      err, sizeof err),
		                 0);
		ck_assert_int_eq(tlog_prove_inclusion(tlog_tilecache_read, c, idx, total, p2, &n2,
		                                      err, sizeof err),
		                 0);
		ck_assert_uint_eq(n1, n2);
		ck_assert_mem_eq(p1, p2, n1 * 32);
		fake_leaf(leaf, idx);
		ck_assert(incl_ok(idx, total, leaf, p2, n2, root));
		ck_assert_int_eq(tlog_prove_consistency(tlog_memtree_read, m.t, old, total, p1, &n1,
		                                        err, sizeof err),
		                 0);
		ck_assert_int_eq(tlog_prove_consistency(tlog_tilecache_read, c, old, total, p2, &n2,
		                                        err, sizeof err),
		                 0);
		ck_assert_uint_eq(n1, n2);
		ck_assert_mem_eq(p1, p2, n1 * 32);
	}
	/* a read beyond the tree fails cleanly */
	tlog_hash h;
	ck_assert_int_ne(tlog_tilecache_read(c, 0, total, h, err, sizeof err), 0);
	ck_assert_int_ne(tlog_tilecache_read(c, 64, 0, h, err, sizeof err), 0);
	tlog_tilecache_free(c);
	tlog_memtree_free(m.t);
}
END_TEST

/* ---- logwriter ---- */

static const char origin[] = "relay.test.example/log";

static void test_key(unsigned char sk[64], unsigned char pk[32], int which)
{
	unsigned char seed[32];
	memset(seed, 0x42 + which, sizeof seed);
	crypto_sign_seed_keypair(pk, sk, seed);
}

static char *make_tmpdir(void)
{
	char *tmpl = xstrdup("/tmp/test_tlog.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	return tmpl;
}

static void rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* Entry i of a test log: variable length, derived from i and a variant byte. */
static size_t make_entry(unsigned char *buf, uint64_t i, unsigned char variant)
{
	size_t len = 1 + (size_t)((i * 37) % 200);
	for (size_t k = 0; k < len; k++)
		buf[k] = (unsigned char)(i + k * 13 + variant);
	return len;
}

/* Appends entries [from, to) in batches of the given size, mirroring them in t. */
static void append_range(struct logwriter *lw, struct tlog_memtree *t, uint64_t from, uint64_t to,
                         size_t batch, unsigned char variant)
{
	static unsigned char data[4096][256];
	const unsigned char *ents[4096];
	size_t lens[4096];
	ck_assert_uint_le(batch, 4096);
	for (uint64_t i = from; i < to;) {
		size_t n = 0;
		for (; n < batch && i < to; n++, i++) {
			lens[n] = make_entry(data[n], i, variant);
			ents[n] = data[n];
			if (t != NULL) {
				tlog_hash h;
				tlog_hash_leaf(h, data[n], lens[n]);
				tlog_memtree_append(t, h);
			}
		}
		ck_assert_msg(logwriter_append(lw, ents, lens, n, err, sizeof err) == 0, "%s", err);
	}
}

static void check_root(struct logwriter *lw, struct tlog_memtree *t, uint64_t size)
{
	tlog_hash a, b;
	ck_assert_int_eq(tlog_tree_root(tlog_memtree_read, t, size, a, err, sizeof err), 0);
	ck_assert_msg(logwriter_root(lw, size, b, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(memcmp(a, b, 32) == 0, "root of %llu differs", (unsigned long long)size);
}

static int file_exists(const char *dir, const char *rel)
{
	char *p = xasprintf("%s/%s", dir, rel);
	struct stat st;
	int ok = stat(p, &st) == 0;
	free(p);
	return ok;
}

/* Reads checkpoint or checkpoints/<n> and verifies it with the log key. */
static void check_signed(const char *dir, const char *rel, const unsigned char pk[32],
                         uint64_t size, struct tlog_memtree *t)
{
	char *p = xasprintf("%s/%s", dir, rel);
	uint8_t *data;
	size_t len;
	ck_assert_msg(file_read_all(p, NOTE_MAX_BYTES, &data, &len, err, sizeof err) == 0, "%s",
	              err);
	struct note_verifier v;
	struct note_checkpoint c;
	ck_assert_int_eq(note_verifier_from_key(&v, origin, pk, err, sizeof err), 0);
	ck_assert_msg(note_checkpoint_open((char *)data, len, &v, &c, err, sizeof err) == 0, "%s",
	              err);
	ck_assert_uint_eq(c.size, size);
	ck_assert_str_eq(c.origin, origin);
	tlog_hash root;
	tlog_tree_root(tlog_memtree_read, t, size, root, err, sizeof err);
	ck_assert_mem_eq(root, c.root, 32);
	free(data);
	free(p);
}

START_TEST(test_logwriter_batches)
{
	unsigned char sk[64], pk[32];
	test_key(sk, pk, 0);
	char *dir = make_tmpdir();
	struct tlog_memtree *t = tlog_memtree_new();
	struct logwriter *lw = logwriter_open(dir, origin, sk, err, sizeof err);
	ck_assert_msg(lw != NULL, "%s", err);
	ck_assert_uint_eq(logwriter_size(lw), 0);
	/* the first checkpoint signs the empty tree */
	ck_assert_int_eq(logwriter_checkpoint(lw, 1000, err, sizeof err), 0);
	check_signed(dir, "checkpoint", pk, 0, t);

	const size_t batches[] = {1, 7, 255, 256, 257, 1000, 3, 4096, 2, 511, 513};
	uint64_t size = 0;
	for (size_t k = 0; size < 66000; k++) {
		size_t b = batches[k % (sizeof batches / sizeof batches[0])];
		append_range(lw, t, size, size + b, b, 0);
		size += b;
		ck_assert_uint_eq(logwriter_size(lw), size);
		check_root(lw, t, size);
		if (k % 5 == 0) {
			ck_assert_msg(logwriter_checkpoint(lw, (int64_t)k, err, sizeof err) == 0,
			              "%s", err);
			ck_assert_uint_eq(logwriter_signed_size(lw), size);
			char rel[64];
			snprintf(rel, sizeof rel, "checkpoints/%llu", (unsigned long long)size);
			check_signed(dir, rel, pk, size, t);
		}
	}
	ck_assert_int_eq(logwriter_checkpoint(lw, 99, err, sizeof err), 0);
	check_signed(dir, "checkpoint", pk, size, t);
	/* nothing new: nothing signed */
	uint64_t signed_size = logwriter_signed_size(lw);
	ck_assert_int_eq(logwriter_checkpoint(lw, 100, err, sizeof err), 0);
	ck_assert_int_eq(logwriter_signed_ms(lw), 99);
	ck_assert_uint_eq(logwriter_signed_size(lw), signed_size);

	/* the layout tlog-tiles prescribes */
	char rel[TLOG_TILE_PATH_MAX];
	ck_assert(file_exists(dir, "tile/0/000"));
	ck_assert(file_exists(dir, "tile/entries/000"));
	ck_assert(file_exists(dir, "tile/1/000"));
	tlog_tile_path(rel, sizeof rel, 0, size / 256, size % 256);
	ck_assert(file_exists(dir, rel));
	tlog_tile_path(rel, sizeof rel, TLOG_LEVEL_ENTRIES, size / 256, size % 256);
	ck_assert(file_exists(dir, rel));
	tlog_tile_path(rel, sizeof rel, 1, 1, (size >> 8) % 256);
	ck_assert(file_exists(dir, rel));
	tlog_tile_path(rel, sizeof rel, 2, 0, 1);
	ck_assert(file_exists(dir, rel));
	/* partial tiles of full, signed tiles are gone */
	ck_assert(!file_exists(dir, "tile/0/000.p"));
	ck_assert(!file_exists(dir, "tile/entries/000.p"));

	/* the tiles on disk are exactly the memtree's hashes */
	char *p = xasprintf("%s/tile/0/001", dir);
	uint8_t *data;
	size_t len;
	ck_assert_int_eq(file_read_all(p, 1 << 20, &data, &len, err, sizeof err), 0);
	ck_assert_uint_eq(len, TLOG_TILE_BYTES);
	for (unsigned j = 0; j < 256; j++) {
		tlog_hash h;
		tlog_memtree_read(t, 0, 256 + j, h, err, sizeof err);
		ck_assert_mem_eq(data + 32 * j, h, 32);
	}
	free(data);
	free(p);

	/* proofs from the tiles match the in-memory ones and verify */
	tlog_hash root;
	tlog_tree_root(tlog_memtree_read, t, size, root, err, sizeof err);
	for (uint64_t k = 0; k < 200; k++) {
		uint64_t idx = (k * 7919 * 31) % size, old = (k * 104729) % size;
		tlog_hash p1[TLOG_PROOF_MAX], p2[TLOG_PROOF_MAX], leaf, oldroot;
		size_t n1, n2;
		ck_assert_int_eq(logwriter_inclusion_proof(lw, idx, size, p1, &n1, err, sizeof err),
		                 0);
		ck_assert_int_eq(
		    tlog_prove_inclusion(tlog_memtree_read, t, idx, size, p2, &n2, err, sizeof err),
		    0);
		ck_assert_uint_eq(n1, n2);
		ck_assert_mem_eq(p1, p2, 32 * n1);
		tlog_memtree_read(t, 0, idx, leaf, err, sizeof err);
		ck_assert(incl_ok(idx, size, leaf, p1, n1, root));
		ck_assert_int_eq(
		    logwriter_consistency_proof(lw, old, size, p1, &n1, err, sizeof err), 0);
		tlog_tree_root(tlog_memtree_read, t, old, oldroot, err, sizeof err);
		ck_assert(cons_ok(old, size, oldroot, root, p1, n1));
	}
	tlog_hash pr[TLOG_PROOF_MAX];
	size_t n;
	ck_assert_int_ne(logwriter_inclusion_proof(lw, size, size, pr, &n, err, sizeof err), 0);
	ck_assert_int_ne(logwriter_inclusion_proof(lw, 0, size + 1, pr, &n, err, sizeof err), 0);
	ck_assert_int_ne(logwriter_consistency_proof(lw, 5, size + 1, pr, &n, err, sizeof err), 0);

	/* an entry too large is refused, nothing appended */
	unsigned char *big = xcalloc(1, 70000);
	const unsigned char *bp = big;
	size_t bl = 70000;
	ck_assert_int_ne(logwriter_append(lw, &bp, &bl, 1, err, sizeof err), 0);
	ck_assert_uint_eq(logwriter_size(lw), size);
	free(big);

	char *vkey = logwriter_vkey(lw);
	char *want = note_vkey(origin, pk);
	ck_assert_str_eq(vkey, want);
	free(vkey);
	free(want);
	logwriter_free(lw);
	tlog_memtree_free(t);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_logwriter_reopen)
{
	unsigned char sk[64], pk[32];
	test_key(sk, pk, 0);
	char *dir = make_tmpdir();
	struct tlog_memtree *t = tlog_memtree_new();
	struct logwriter *lw = logwriter_open(dir, origin, sk, err, sizeof err);
	ck_assert_msg(lw != NULL, "%s", err);
	append_range(lw, t, 0, 1000, 333, 0);
	ck_assert_int_eq(logwriter_checkpoint(lw, 1, err, sizeof err), 0);
	/* a second writer on the same directory is refused */
	struct logwriter *other = logwriter_open(dir, origin, sk, err, sizeof err);
	ck_assert_ptr_null(other);
	ck_assert_ptr_nonnull(strstr(err, "in use"));
	append_range(lw, t, 1000, 1100, 17, 0); /* appended, not yet signed */
	logwriter_free(lw);

	/* reopen: size and roots survive, and appending continues */
	lw = logwriter_open(dir, origin, sk, err, sizeof err);
	ck_assert_msg(lw != NULL, "%s", err);
	ck_assert_uint_eq(logwriter_size(lw), 1100);
	ck_assert_uint_eq(logwriter_signed_size(lw), 1000);
	check_root(lw, t, 1000);
	check_root(lw, t, 1100);
	append_range(lw, t, 1100, 2000, 99, 0);
	ck_assert_int_eq(logwriter_checkpoint(lw, 2, err, sizeof err), 0);
	check_signed(dir, "checkpoint", pk, 2000, t);
	logwriter_free(lw);

	/* a crash between the two checkpoint writes: checkpoint behind checkpoints/ */
	char *a = xasprintf("%s/checkpoints/1000", dir), *b = xasprintf("%s/checkpoint", dir);
	uint8_t *data;
	size_t len;
	ck_assert_int_eq(file_read_all(a, NOTE_MAX_BYTES, &data, &len, err, sizeof err), 0);
	ck_assert_int_eq(file_write_atomic(b, data, len, 0644, err, sizeof err), 0);
	free(data);
	/* a crash in the middle of a batch: an upper tile missing, a stale wider partial */
	char *l1 = xasprintf("%s/tile/1/000.p/7", dir);
	ck_assert_int_eq(unlink(l1), 0);
	char *stale = xasprintf("%s/tile/0/007.p/250", dir);
	ck_assert_int_eq(file_write_atomic(stale, "junk", 4, 0644, err, sizeof err), 0);
	lw = logwriter_open(dir, origin, sk, err, sizeof err);
	ck_assert_msg(lw != NULL, "%s", err);
	ck_assert_uint_eq(logwriter_signed_size(lw), 2000);
	check_signed(dir, "checkpoint", pk, 2000, t);
	struct stat st;
	ck_assert_int_eq(stat(l1, &st), 0);
	ck_assert_int_ne(stat(stale, &st), 0);
	check_root(lw, t, 2000);
	append_range(lw, t, 2000, 2100, 100, 0);
	ck_assert_int_eq(logwriter_checkpoint(lw, 3, err, sizeof err), 0);
	check_signed(dir, "checkpoint", pk, 2100, t);
	logwriter_free(lw);

	/* the wrong key cannot open it: the signed checkpoint does not verify */
	unsigned char sk2[64], pk2[32];
	test_key(sk2, pk2, 1);
	ck_assert_ptr_null(logwriter_open(dir, origin, sk2, err, sizeof err));
	/* nor another origin */
	ck_assert_ptr_null(logwriter_open(dir, "other.example/log", sk, err, sizeof err));
	free(a);
	free(b);
	free(l1);
	free(stale);
	tlog_memtree_free(t);
	rm_rf(dir);
	free(dir);
}
END_TEST

static void copy_file(const char *from, const char *to)
{
	uint8_t *data;
	size_t len;
	ck_assert_int_eq(file_read_all(from, 1 << 24, &data, &len, err, sizeof err), 0);
	ck_assert_int_eq(file_write_atomic(to, data, len, 0644, err, sizeof err), 0);
	free(data);
}

START_TEST(test_logwriter_refuses_rollback)
{
	unsigned char sk[64], pk[32];
	test_key(sk, pk, 0);
	char *dir = make_tmpdir();
	struct logwriter *lw = logwriter_open(dir, origin, sk, err, sizeof err);
	ck_assert_ptr_nonnull(lw);
	append_range(lw, NULL, 0, 300, 100, 0);
	ck_assert_int_eq(logwriter_checkpoint(lw, 1, err, sizeof err), 0);
	logwriter_free(lw);
	/* roll the tiles back to 200 entries: the signed checkpoint covers 300 */
	char *cmd = xasprintf("rm -f %s/tile/0/001.p/44 %s/tile/entries/001.p/44", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	ck_assert_ptr_null(logwriter_open(dir, origin, sk, err, sizeof err));
	ck_assert_msg(strstr(err, "covers 300 entries") != NULL, "%s", err);
	rm_rf(dir);
	free(dir);
}
END_TEST

START_TEST(test_logwriter_refuses_fork)
{
	unsigned char sk[64], pk[32];
	test_key(sk, pk, 0);
	char *a = make_tmpdir(), *b = make_tmpdir();
	/* two logs with one key, differing from entry 150 on */
	struct logwriter *lw = logwriter_open(a, origin, sk, err, sizeof err);
	ck_assert_ptr_nonnull(lw);
	append_range(lw, NULL, 0, 300, 100, 0);
	ck_assert_int_eq(logwriter_checkpoint(lw, 1, err, sizeof err), 0);
	logwriter_free(lw);
	lw = logwriter_open(b, origin, sk, err, sizeof err);
	ck_assert_ptr_nonnull(lw);
	append_range(lw, NULL, 0, 150, 150, 0);
	append_range(lw, NULL, 150, 400, 50, 1);
	logwriter_free(lw);
	/* b's tiles under a's checkpoint: refused */
	char *from = xasprintf("%s/checkpoint", a), *to = xasprintf("%s/checkpoint", b);
	copy_file(from, to);
	ck_assert_ptr_null(logwriter_open(b, origin, sk, err, sizeof err));
	ck_assert_msg(strstr(err, "do not match the root") != NULL, "%s", err);
	free(from);
	free(to);
	/* only a's kept copy in checkpoints/: refused too */
	to = xasprintf("%s/checkpoint", b);
	unlink(to);
	free(to);
	from = xasprintf("%s/checkpoints/300", a);
	to = xasprintf("%s/checkpoints/300", b);
	copy_file(from, to);
	ck_assert_ptr_null(logwriter_open(b, origin, sk, err, sizeof err));
	free(from);
	free(to);
	rm_rf(a);
	rm_rf(b);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_logwriter_refuses_inconsistent_signing)
{
	unsigned char sk[64], pk[32];
	test_key(sk, pk, 0);
	char *dir = make_tmpdir();
	struct logwriter *lw = logwriter_open(dir, origin, sk, err, sizeof err);
	ck_assert_ptr_nonnull(lw);
	append_range(lw, NULL, 0, 100, 100, 0);
	ck_assert_int_eq(logwriter_checkpoint(lw, 1, err, sizeof err), 0);
	logwriter_free(lw);
	lw = logwriter_open(dir, origin, sk, err, sizeof err);
	ck_assert_ptr_nonnull(lw);
	append_range(lw, NULL, 100, 600, 500, 0);
	/* someone rewrites the first tile under the running writer */
	char *p = xasprintf("%s/tile/0/000", dir);
	int fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "XXXXXXXX", 8, 0), 8);
	close(fd);
	free(p);
	ck_assert_int_ne(logwriter_checkpoint(lw, 2, err, sizeof err), 0);
	ck_assert_msg(strstr(err, "not consistent with the last signed checkpoint") != NULL, "%s",
	              err);
	ck_assert_uint_eq(logwriter_signed_size(lw), 100);
	ck_assert(!file_exists(dir, "checkpoints/600"));
	logwriter_free(lw);
	/* and a restart does not launder it */
	ck_assert_ptr_null(logwriter_open(dir, origin, sk, err, sizeof err));
	rm_rf(dir);
	free(dir);
}
END_TEST

static Suite *tlog_suite(void)
{
	Suite *s = suite_create("tlog");
	TCase *tc = tcase_create("merkle");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_hasher_vectors);
	tcase_add_test(tc, test_roots_and_nodes);
	tcase_add_test(tc, test_inclusion_vectors);
	tcase_add_test(tc, test_consistency_vectors);
	tcase_add_test(tc, test_rfc6962_example);
	tcase_add_test(tc, test_all_small_proofs);
	tcase_add_test(tc, test_tile_paths);
	tcase_add_test(tc, test_bundles);
	tcase_add_test(tc, test_tilecache);
	suite_add_tcase(s, tc);
	TCase *lw = tcase_create("logwriter");
	tcase_set_timeout(lw, 300);
	tcase_add_test(lw, test_logwriter_batches);
	tcase_add_test(lw, test_logwriter_reopen);
	tcase_add_test(lw, test_logwriter_refuses_rollback);
	tcase_add_test(lw, test_logwriter_refuses_fork);
	tcase_add_test(lw, test_logwriter_refuses_inconsistent_signing);
	suite_add_tcase(s, lw);
	return s;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	log_set_level(LOG_LEVEL_ERROR);
	SRunner *sr = srunner_create(tlog_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
