/* tlog.c: RFC 6962/9162 Merkle tree hashing and proofs, C2SP tlog-tiles paths and entry bundles. */
#include "tlog.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void tlog_hash_leaf(tlog_hash out, const unsigned char *data, size_t len)
{
	static const unsigned char prefix = 0x00;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	if (len > 0)
		crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

void tlog_hash_node(tlog_hash out, const tlog_hash left, const tlog_hash right)
{
	unsigned char buf[1 + 2 * TLOG_HASH_SIZE];
	buf[0] = 0x01;
	memcpy(buf + 1, left, TLOG_HASH_SIZE);
	memcpy(buf + 1 + TLOG_HASH_SIZE, right, TLOG_HASH_SIZE);
	crypto_hash_sha256(out, buf, sizeof buf);
}

void tlog_hash_empty(tlog_hash out)
{
	crypto_hash_sha256(out, (const unsigned char *)"", 0);
}

void tlog_hash_perfect(tlog_hash out, const tlog_hash *hashes, size_t n)
{
	if (n == 1) {
		memcpy(out, hashes[0], TLOG_HASH_SIZE);
		return;
	}
	tlog_hash left, right;
	tlog_hash_perfect(left, hashes, n / 2);
	tlog_hash_perfect(right, hashes + n / 2, n / 2);
	tlog_hash_node(out, left, right);
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

static int is_pow2(uint64_t n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/* MTH(D[lo:hi]) for lo a multiple of the smallest power of two >= hi - lo (always so here). */
static int subtree_hash(tlog_hash_reader rd, void *ctx, uint64_t lo, uint64_t hi, tlog_hash out,
                        char *err, size_t errlen)
{
	tlog_hash parts[64];
	unsigned n = 0;
	uint64_t pos = lo, len = hi - lo;
	if (hi <= lo)
		return seterr(err, errlen, "empty subtree [%llu, %llu)", (unsigned long long)lo,
		              (unsigned long long)hi);
	for (int b = 63; b >= 0; b--) {
		uint64_t bit = (uint64_t)1 << b;
		if (!(len & bit))
			continue;
		if (pos & (bit - 1))
			return seterr(err, errlen, "unaligned subtree [%llu, %llu)",
			              (unsigned long long)lo, (unsigned long long)hi);
		if (rd(ctx, (unsigned)b, pos >> b, parts[n], err, errlen) != 0)
			return -1;
		n++;
		pos += bit;
	}
	memcpy(out, parts[n - 1], TLOG_HASH_SIZE);
	for (unsigned i = n - 1; i-- > 0;)
		tlog_hash_node(out, parts[i], out);
	return 0;
}

int tlog_tree_root(tlog_hash_reader rd, void *ctx, uint64_t size, tlog_hash out, char *err,
                   size_t errlen)
{
	if (size == 0) {
		tlog_hash_empty(out);
		return 0;
	}
	if (size > TLOG_SIZE_MAX)
		return seterr(err, errlen, "tree size %llu too large", (unsigned long long)size);
	return subtree_hash(rd, ctx, 0, size, out, err, errlen);
}

static void reverse_hashes(tlog_hash *h, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		tlog_hash t;
		memcpy(t, h[i], TLOG_HASH_SIZE);
		memcpy(h[i], h[n - 1 - i], TLOG_HASH_SIZE);
		memcpy(h[n - 1 - i], t, TLOG_HASH_SIZE);
	}
}

int tlog_prove_inclusion(tlog_hash_reader rd, void *ctx, uint64_t index, uint64_t size,
                         tlog_hash *out, size_t *count, char *err, size_t errlen)
{
	uint64_t lo = 0, hi = size;
	size_t n = 0;
	if (size > TLOG_SIZE_MAX)
		return seterr(err, errlen, "tree size %llu too large", (unsigned long long)size);
	if (index >= size)
		return seterr(err, errlen, "index %llu is outside the tree of size %llu",
		              (unsigned long long)index, (unsigned long long)size);
	/* Walk down from the root; the path lists siblings bottom-up, so reverse at the end. */
	while (hi - lo > 1) {
		uint64_t k = split_point(hi - lo);
		int rc;
		if (index < lo + k) {
			rc = subtree_hash(rd, ctx, lo + k, hi, out[n], err, errlen);
			hi = lo + k;
		} else {
			rc = subtree_hash(rd, ctx, lo, lo + k, out[n], err, errlen);
			lo += k;
		}
		if (rc != 0)
			return -1;
		n++;
	}
	reverse_hashes(out, n);
	*count = n;
	return 0;
}

int tlog_prove_consistency(tlog_hash_reader rd, void *ctx, uint64_t old_size, uint64_t new_size,
                           tlog_hash *out, size_t *count, char *err, size_t errlen)
{
	uint64_t lo = 0, hi = new_size, m = old_size;
	int complete = 1;
	size_t n = 0;
	tlog_hash base;
	int have_base = 0;
	if (new_size > TLOG_SIZE_MAX)
		return seterr(err, errlen, "tree size %llu too large",
		              (unsigned long long)new_size);
	if (old_size > new_size)
		return seterr(err, errlen, "old size %llu is larger than new size %llu",
		              (unsigned long long)old_size, (unsigned long long)new_size);
	*count = 0;
	if (old_size == 0 || old_size == new_size)
		return 0;
	/* SUBPROOF(m, D[lo:hi], complete), unrolled: appended hashes are collected top-down. */
	for (;;) {
		if (m == hi - lo) {
			if (!complete) {
				if (subtree_hash(rd, ctx, lo, hi, base, err, errlen) != 0)
					return -1;
				have_base = 1;
			}
			break;
		}
		uint64_t k = split_point(hi - lo);
		int rc;
		if (m <= k) {
			rc = subtree_hash(rd, ctx, lo + k, hi, out[n], err, errlen);
			hi = lo + k;
		} else {
			rc = subtree_hash(rd, ctx, lo, lo + k, out[n], err, errlen);
			m -= k;
			lo += k;
			complete = 0;
		}
		if (rc != 0)
			return -1;
		n++;
	}
	reverse_hashes(out, n);
	if (have_base) {
		memmove(out + 1, out, n * sizeof(tlog_hash));
		memcpy(out[0], base, TLOG_HASH_SIZE);
		n++;
	}
	*count = n;
	return 0;
}

int tlog_verify_inclusion(uint64_t index, uint64_t size, const tlog_hash leaf,
                          const tlog_hash *proof, size_t count, const tlog_hash root, char *err,
                          size_t errlen)
{
	if (index >= size)
		return seterr(err, errlen, "index %llu is outside the tree of size %llu",
		              (unsigned long long)index, (unsigned long long)size);
	if (count > TLOG_PROOF_MAX)
		return seterr(err, errlen, "inclusion proof has %zu hashes, more than %d", count,
		              TLOG_PROOF_MAX);
	uint64_t fn = index, sn = size - 1;
	tlog_hash r;
	memcpy(r, leaf, TLOG_HASH_SIZE);
	for (size_t i = 0; i < count; i++) {
		if (sn == 0)
			return seterr(err, errlen, "inclusion proof is too long");
		if ((fn & 1) || fn == sn) {
			tlog_hash_node(r, proof[i], r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			tlog_hash_node(r, r, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return seterr(err, errlen, "inclusion proof is too short");
	if (sodium_memcmp(r, root, TLOG_HASH_SIZE) != 0)
		return seterr(err, errlen, "inclusion proof does not lead to the root");
	return 0;
}

int tlog_verify_consistency(uint64_t old_size, uint64_t new_size, const tlog_hash old_root,
                            const tlog_hash new_root, const tlog_hash *proof, size_t count,
                            char *err, size_t errlen)
{
	if (old_size > new_size)
		return seterr(err, errlen, "old size %llu is larger than new size %llu",
		              (unsigned long long)old_size, (unsigned long long)new_size);
	if (count > TLOG_PROOF_MAX)
		return seterr(err, errlen, "consistency proof has %zu hashes, more than %d", count,
		              TLOG_PROOF_MAX);
	if (old_size == 0) {
		tlog_hash empty;
		tlog_hash_empty(empty);
		if (count != 0)
			return seterr(err, errlen,
			              "consistency proof from the empty tree must be empty");
		if (sodium_memcmp(old_root, empty, TLOG_HASH_SIZE) != 0)
			return seterr(err, errlen, "root of the empty tree is not SHA-256(\"\")");
		return 0;
	}
	if (old_size == new_size) {
		if (count != 0)
			return seterr(err, errlen,
			              "consistency proof between equal sizes must be empty");
		if (sodium_memcmp(old_root, new_root, TLOG_HASH_SIZE) != 0)
			return seterr(err, errlen, "two trees of size %llu have different roots",
			              (unsigned long long)old_size);
		return 0;
	}
	if (count == 0)
		return seterr(err, errlen, "consistency proof is empty");

	/* When old_size is a power of two the old root itself starts the path. */
	const unsigned char *path[TLOG_PROOF_MAX + 1];
	size_t n = 0;
	if (is_pow2(old_size))
		path[n++] = old_root;
	for (size_t i = 0; i < count; i++)
		path[n++] = proof[i];

	uint64_t fn = old_size - 1, sn = new_size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	tlog_hash fr, sr;
	memcpy(fr, path[0], TLOG_HASH_SIZE);
	memcpy(sr, path[0], TLOG_HASH_SIZE);
	for (size_t i = 1; i < n; i++) {
		if (sn == 0)
			return seterr(err, errlen, "consistency proof is too long");
		if ((fn & 1) || fn == sn) {
			tlog_hash_node(fr, path[i], fr);
			tlog_hash_node(sr, path[i], sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			tlog_hash_node(sr, sr, path[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return seterr(err, errlen, "consistency proof is too short");
	if (sodium_memcmp(fr, old_root, TLOG_HASH_SIZE) != 0)
		return seterr(err, errlen, "consistency proof does not lead to the old root");
	if (sodium_memcmp(sr, new_root, TLOG_HASH_SIZE) != 0)
		return seterr(err, errlen, "consistency proof does not lead to the new root");
	return 0;
}

/* ---- in-memory tree ---- */

struct tlog_memtree {
	uint64_t size;
	unsigned levels;
	tlog_hash *level[64];
	uint64_t count[64], cap[64];
};

struct tlog_memtree *tlog_memtree_new(void)
{
	return xcalloc(1, sizeof(struct tlog_memtree));
}

static void memtree_put(struct tlog_memtree *t, unsigned l, const tlog_hash h)
{
	if (l >= t->levels)
		t->levels = l + 1;
	if (t->count[l] == t->cap[l]) {
		t->cap[l] = t->cap[l] ? 2 * t->cap[l] : 64;
		t->level[l] = xrealloc(t->level[l], t->cap[l] * sizeof(tlog_hash));
	}
	memcpy(t->level[l][t->count[l]++], h, TLOG_HASH_SIZE);
}

void tlog_memtree_append(struct tlog_memtree *t, const tlog_hash leaf)
{
	memtree_put(t, 0, leaf);
	t->size++;
	for (unsigned l = 0; l < 63 && (t->count[l] & 1) == 0; l++) {
		tlog_hash h;
		tlog_hash_node(h, t->level[l][t->count[l] - 2], t->level[l][t->count[l] - 1]);
		memtree_put(t, l + 1, h);
	}
}

uint64_t tlog_memtree_size(const struct tlog_memtree *t)
{
	return t->size;
}

int tlog_memtree_read(void *ctx, unsigned level, uint64_t index, tlog_hash out, char *err,
                      size_t errlen)
{
	const struct tlog_memtree *t = ctx;
	if (level >= t->levels || index >= t->count[level])
		return seterr(err, errlen, "no hash at level %u index %llu", level,
		              (unsigned long long)index);
	memcpy(out, t->level[level][index], TLOG_HASH_SIZE);
	return 0;
}

void tlog_memtree_free(struct tlog_memtree *t)
{
	if (t == NULL)
		return;
	for (unsigned l = 0; l < 64; l++)
		free(t->level[l]);
	free(t);
}

/* ---- frontier ---- */

void tlog_frontier_init(struct tlog_frontier *f,
                        int (*on_subtree)(void *, unsigned, uint64_t, const tlog_hash), void *ctx)
{
	memset(f, 0, sizeof *f);
	f->on_subtree = on_subtree;
	f->ctx = ctx;
}

int tlog_frontier_push(struct tlog_frontier *f, const tlog_hash leaf)
{
	tlog_hash h;
	unsigned level = 0;
	uint64_t index = f->size;
	memcpy(h, leaf, TLOG_HASH_SIZE);
	if (f->on_subtree && f->on_subtree(f->ctx, 0, index, h) != 0)
		return -1;
	while (f->count > 0 && f->levels[f->count - 1] == level) {
		tlog_hash_node(h, f->hashes[f->count - 1], h);
		f->count--;
		level++;
		if (level % TLOG_TILE_HEIGHT == 0 && f->on_subtree &&
		    f->on_subtree(f->ctx, level, index >> level, h) != 0)
			return -1;
	}
	memcpy(f->hashes[f->count], h, TLOG_HASH_SIZE);
	f->levels[f->count] = (unsigned char)level;
	f->count++;
	f->size++;
	return 0;
}

void tlog_frontier_root(const struct tlog_frontier *f, tlog_hash out)
{
	if (f->count == 0) {
		tlog_hash_empty(out);
		return;
	}
	memcpy(out, f->hashes[f->count - 1], TLOG_HASH_SIZE);
	for (unsigned i = f->count - 1; i-- > 0;)
		tlog_hash_node(out, f->hashes[i], out);
}

/* ---- tiles ---- */

uint64_t tlog_tile_full_count(uint64_t size, unsigned level)
{
	unsigned shift = TLOG_TILE_HEIGHT * (level + 1);
	return shift >= 64 ? 0 : size >> shift;
}

unsigned tlog_tile_partial_width(uint64_t size, unsigned level)
{
	unsigned shift = TLOG_TILE_HEIGHT * level;
	return shift >= 64 ? 0 : (unsigned)((size >> shift) & (TLOG_TILE_WIDTH - 1));
}

int tlog_tile_path(char *buf, size_t cap, int level, uint64_t index, unsigned width)
{
	char num[40];
	unsigned groups[8];
	size_t ng = 0, off = 0;
	int n;
	if (level < TLOG_LEVEL_ENTRIES || level > 63 || width > TLOG_TILE_WIDTH)
		return -1;
	do {
		groups[ng++] = (unsigned)(index % 1000);
		index /= 1000;
	} while (index > 0);
	while (ng > 1) {
		n = snprintf(num + off, sizeof num - off, "x%03u/", groups[--ng]);
		off += (size_t)n;
	}
	snprintf(num + off, sizeof num - off, "%03u", groups[0]);
	if (level == TLOG_LEVEL_ENTRIES)
		n = snprintf(buf, cap, "tile/entries/%s", num);
	else
		n = snprintf(buf, cap, "tile/%d/%s", level, num);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	if (width > 0 && width < TLOG_TILE_WIDTH) {
		int m = snprintf(buf + n, cap - (size_t)n, ".p/%u", width);
		if (m < 0 || (size_t)m >= cap - (size_t)n)
			return -1;
	}
	return 0;
}

/* A canonical decimal (no sign, no leading zero) of at most maxdigits; advances *p. */
static int parse_decimal(const char **p, unsigned maxdigits, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	unsigned n = 0;
	while (s[n] >= '0' && s[n] <= '9') {
		if (n == maxdigits)
			return -1;
		v = v * 10 + (uint64_t)(s[n] - '0');
		n++;
	}
	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	*p = s + n;
	*out = v;
	return 0;
}

static int parse_group(const char *s, unsigned *out)
{
	for (int i = 0; i < 3; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	*out = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
	return 0;
}

int tlog_tile_path_parse(const char *path, int *level, uint64_t *index, unsigned *width)
{
	const char *p = path;
	uint64_t v, idx = 0;
	unsigned g, ngroups = 0;
	if (strncmp(p, "tile/", 5) != 0)
		return -1;
	p += 5;
	if (strncmp(p, "entries/", 8) == 0) {
		*level = TLOG_LEVEL_ENTRIES;
		p += 8;
	} else {
		if (parse_decimal(&p, 2, &v) != 0 || v > 63 || *p != '/')
			return -1;
		*level = (int)v;
		p++;
	}
	while (*p == 'x') {
		if (parse_group(p + 1, &g) != 0 || p[4] != '/')
			return -1;
		if (ngroups == 0 && g == 0)
			return -1; /* not canonical */
		if (++ngroups > 6)
			return -1;
		idx = idx * 1000 + g;
		p += 5;
	}
	if (parse_group(p, &g) != 0)
		return -1;
	if (ngroups == 6 && idx > (UINT64_MAX - g) / 1000)
		return -1;
	idx = idx * 1000 + g;
	p += 3;
	*width = TLOG_TILE_WIDTH;
	if (*p == '.') {
		if (strncmp(p, ".p/", 3) != 0)
			return -1;
		p += 3;
		if (parse_decimal(&p, 3, &v) != 0 || v == 0 || v >= TLOG_TILE_WIDTH)
			return -1;
		*width = (unsigned)v;
	}
	if (*p != '\0')
		return -1;
	*index = idx;
	return 0;
}

/* ---- tile cache ---- */

/* Hashes of a tile at each of its 8 inner levels: 256 + 128 + ... + 2 (+1 spare). */
#define TILE_NODES 511

struct tile_slot {
	int used;
	unsigned level;
	uint64_t index;
	unsigned width;
	tlog_hash h[TILE_NODES];
};

struct tlog_tilecache {
	tlog_tile_fetch fetch;
	void *ctx;
	size_t nslots;
	struct tile_slot *slots;
};

/* Offset of sublevel r inside tile_slot.h. */
static unsigned sub_offset(unsigned r)
{
	return 512 - (512u >> r);
}

struct tlog_tilecache *tlog_tilecache_new(tlog_tile_fetch fetch, void *ctx, size_t slots)
{
	struct tlog_tilecache *c = xcalloc(1, sizeof *c);
	c->fetch = fetch;
	c->ctx = ctx;
	c->nslots = slots ? slots : 1;
	c->slots = xcalloc(c->nslots, sizeof(struct tile_slot));
	return c;
}

static void slot_expand(struct tile_slot *s)
{
	for (unsigned r = 1; r < TLOG_TILE_HEIGHT; r++) {
		unsigned n = s->width >> r;
		tlog_hash *below = s->h + sub_offset(r - 1), *here = s->h + sub_offset(r);
		for (unsigned j = 0; j < n; j++)
			tlog_hash_node(here[j], below[2 * j], below[2 * j + 1]);
	}
}

int tlog_tilecache_read(void *ctx, unsigned level, uint64_t index, tlog_hash out, char *err,
                        size_t errlen)
{
	struct tlog_tilecache *c = ctx;
	if (level >= 64)
		return seterr(err, errlen, "no tree level %u", level);
	unsigned t = level / TLOG_TILE_HEIGHT, r = level % TLOG_TILE_HEIGHT;
	uint64_t tile = index >> (TLOG_TILE_HEIGHT - r);
	unsigned j = (unsigned)(index & ((1u << (TLOG_TILE_HEIGHT - r)) - 1));
	unsigned need = (j + 1) << r;
	uint64_t mix = (tile * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)t * 0xC2B2AE3D27D4EB4Full);
	struct tile_slot *s = &c->slots[(mix >> 17) % c->nslots];
	if (!(s->used && s->level == t && s->index == tile && s->width >= need)) {
		unsigned width = 0;
		s->used = 0;
		if (c->fetch(c->ctx, t, tile, need, s->h, &width, err, errlen) != 0)
			return -1;
		if (width < need || width > TLOG_TILE_WIDTH)
			return seterr(err, errlen, "tile %u/%llu has %u hashes, %u needed", t,
			              (unsigned long long)tile, width, need);
		s->level = t;
		s->index = tile;
		s->width = width;
		slot_expand(s);
		s->used = 1;
	}
	memcpy(out, s->h[sub_offset(r) + j], TLOG_HASH_SIZE);
	return 0;
}

void tlog_tilecache_clear(struct tlog_tilecache *c)
{
	for (size_t i = 0; i < c->nslots; i++)
		c->slots[i].used = 0;
}

void tlog_tilecache_free(struct tlog_tilecache *c)
{
	if (c == NULL)
		return;
	free(c->slots);
	free(c);
}

/* ---- entry bundles ---- */

size_t tlog_bundle_put(unsigned char *out, const unsigned char *entry, size_t len)
{
	out[0] = (unsigned char)(len >> 8);
	out[1] = (unsigned char)len;
	if (len > 0)
		memcpy(out + 2, entry, len);
	return 2 + len;
}

int tlog_bundle_split(const unsigned char *data, size_t len, size_t max, int exact,
                      const unsigned char **entries, size_t *lens, size_t *count, char *err,
                      size_t errlen)
{
	size_t off = 0, n = 0;
	while (n < max && off < len) {
		if (len - off < 2)
			return seterr(err, errlen, "entry %zu: truncated length", n);
		size_t l = ((size_t)data[off] << 8) | data[off + 1];
		off += 2;
		if (len - off < l)
			return seterr(err, errlen, "entry %zu: %zu bytes announced, %zu left", n, l,
			              len - off);
		entries[n] = data + off;
		lens[n] = l;
		off += l;
		n++;
	}
	if (exact && n < max)
		return seterr(err, errlen, "bundle holds %zu entries, %zu expected", n, max);
	if (exact && off != len)
		return seterr(err, errlen, "bundle holds more than %zu entries", max);
	*count = n;
	return 0;
}
