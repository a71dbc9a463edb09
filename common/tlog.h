/* tlog.h: RFC 6962/9162 Merkle tree hashing and proofs, C2SP tlog-tiles paths and entry bundles. */
#ifndef TBSC_TLOG_H
#define TBSC_TLOG_H

#include <stddef.h>
#include <stdint.h>

#define TLOG_HASH_SIZE   32
#define TLOG_TILE_HEIGHT 8
#define TLOG_TILE_WIDTH  256
#define TLOG_TILE_BYTES  (TLOG_TILE_WIDTH * TLOG_HASH_SIZE)
/* An entry travels in a bundle behind a big-endian uint16 length. */
#define TLOG_ENTRY_MAX 65535
/* A full entry bundle is at most this many bytes. */
#define TLOG_BUNDLE_MAX ((size_t)TLOG_TILE_WIDTH * (2 + TLOG_ENTRY_MAX))
/* Trees hold fewer than 2^63 leaves, so no proof has more than 64 hashes. */
#define TLOG_SIZE_MAX  ((uint64_t)1 << 62)
#define TLOG_PROOF_MAX 64
/* Levels of tiles (each 8 tree levels high) needed for TLOG_SIZE_MAX leaves. */
#define TLOG_TILE_LEVELS 8
/* Room for the longest path tlog_tile_path writes, NUL included. */
#define TLOG_TILE_PATH_MAX 64

typedef unsigned char tlog_hash[TLOG_HASH_SIZE];

/* SHA-256(0x00 || data): the hash of one leaf. */
void tlog_hash_leaf(tlog_hash out, const unsigned char *data, size_t len);
/* SHA-256(0x01 || left || right): the hash of an interior node. */
void tlog_hash_node(tlog_hash out, const tlog_hash left, const tlog_hash right);
/* SHA-256(""): the root of the empty tree. */
void tlog_hash_empty(tlog_hash out);
/* The root of a perfect tree over n (a power of two) consecutive hashes; hashes is untouched. */
void tlog_hash_perfect(tlog_hash out, const tlog_hash *hashes, size_t n);

/*
 * Source of the hash of a complete subtree: level L, index i covers leaves
 * [i * 2^L, (i + 1) * 2^L). Returns 0, or -1 with a reason in err.
 */
typedef int (*tlog_hash_reader)(void *ctx, unsigned level, uint64_t index, tlog_hash out, char *err,
                                size_t errlen);

/* MTH of the first size leaves, reading O(log size) subtree hashes from rd. 0 / -1. */
int tlog_tree_root(tlog_hash_reader rd, void *ctx, uint64_t size, tlog_hash out, char *err,
                   size_t errlen);
/*
 * RFC 6962 audit path of leaf index in the tree of size leaves, written to out (room for
 * TLOG_PROOF_MAX hashes), its length to *count. 0, or -1 if index >= size or rd fails.
 */
int tlog_prove_inclusion(tlog_hash_reader rd, void *ctx, uint64_t index, uint64_t size,
                         tlog_hash *out, size_t *count, char *err, size_t errlen);
/*
 * RFC 6962 consistency proof from the tree of old_size leaves to new_size leaves (room for
 * TLOG_PROOF_MAX hashes in out). Empty when old_size is 0 or equals new_size. 0 / -1.
 */
int tlog_prove_consistency(tlog_hash_reader rd, void *ctx, uint64_t old_size, uint64_t new_size,
                           tlog_hash *out, size_t *count, char *err, size_t errlen);

/* RFC 9162 §2.1.3.2: 0 when proof shows leaf is entry index of the tree (size, root); else -1. */
int tlog_verify_inclusion(uint64_t index, uint64_t size, const tlog_hash leaf,
                          const tlog_hash *proof, size_t count, const tlog_hash root, char *err,
                          size_t errlen);
/*
 * RFC 9162 §2.1.4.2, plus: old_size 0 needs an empty proof and the empty root; equal sizes
 * need an empty proof and equal roots. 0 when consistent, else -1 with the reason.
 */
int tlog_verify_consistency(uint64_t old_size, uint64_t new_size, const tlog_hash old_root,
                            const tlog_hash new_root, const tlog_hash *proof, size_t count,
                            char *err, size_t errlen);

/*
 * Hashes in memory, every level kept (for tests and small trees). tlog_memtree_append adds a
 * leaf hash; tlog_memtree_read is a tlog_hash_reader with ctx = the memtree.
 */
struct tlog_memtree;
struct tlog_memtree *tlog_memtree_new(void);
void tlog_memtree_append(struct tlog_memtree *t, const tlog_hash leaf);
uint64_t tlog_memtree_size(const struct tlog_memtree *t);
int tlog_memtree_read(void *ctx, unsigned level, uint64_t index, tlog_hash out, char *err,
                      size_t errlen);
void tlog_memtree_free(struct tlog_memtree *t);

/*
 * Running MTH over leaves appended in order (the right edge of the tree, O(log n) memory).
 * on_subtree, when set, is called with every complete subtree whose level is a multiple of
 * TLOG_TILE_HEIGHT (including each leaf at level 0), in order: these are the tile hashes.
 */
struct tlog_frontier {
	uint64_t size;
	unsigned count;
	tlog_hash hashes[64];
	unsigned char levels[64];
	int (*on_subtree)(void *ctx, unsigned level, uint64_t index, const tlog_hash h);
	void *ctx;
};
/* Zeroes f and sets its callback (may be NULL). */
void tlog_frontier_init(struct tlog_frontier *f,
                        int (*on_subtree)(void *, unsigned, uint64_t, const tlog_hash), void *ctx);
/* Adds one leaf hash; returns what the callback returned (-1 stops), else 0. */
int tlog_frontier_push(struct tlog_frontier *f, const tlog_hash leaf);
/* The root of the leaves pushed so far (SHA-256("") when none). */
void tlog_frontier_root(const struct tlog_frontier *f, tlog_hash out);

/* Tile layout for a tree of size leaves: full tiles and the width of the partial one. */
uint64_t tlog_tile_full_count(uint64_t size, unsigned level);
unsigned tlog_tile_partial_width(uint64_t size, unsigned level);
/*
 * "tile/<level>/<N>[.p/<W>]", or "tile/entries/<N>[.p/<W>]" when level is TLOG_LEVEL_ENTRIES;
 * width 0 or 256 means a full tile. N is written as 3-digit groups, all but the last with an
 * "x" prefix (1234067 -> x001/x234/067). 0, or -1 when cap is too small or an argument is bad.
 */
#define TLOG_LEVEL_ENTRIES (-1)
int tlog_tile_path(char *buf, size_t cap, int level, uint64_t index, unsigned width);
/* Strict inverse of tlog_tile_path (the path starts at "tile/"); width 256 for full. 0 / -1. */
int tlog_tile_path_parse(const char *path, int *level, uint64_t *index, unsigned *width);

/*
 * Reads subtree hashes out of tiles fetched through a callback, with a small cache of tiles
 * expanded to every level inside them. fetch fills hashes with the stored hashes of tile
 * (level, index) – at least need of them, a full tile being 256 – and *width with how many.
 */
typedef int (*tlog_tile_fetch)(void *ctx, unsigned level, uint64_t index, unsigned need,
                               tlog_hash *hashes, unsigned *width, char *err, size_t errlen);
struct tlog_tilecache;
/* slots: number of cached tiles (16 KiB each). Free with tlog_tilecache_free. */
struct tlog_tilecache *tlog_tilecache_new(tlog_tile_fetch fetch, void *ctx, size_t slots);
/* A tlog_hash_reader; ctx is the tilecache. */
int tlog_tilecache_read(void *ctx, unsigned level, uint64_t index, tlog_hash out, char *err,
                        size_t errlen);
/* Forgets every cached tile (after the tiles underneath changed, e.g. a failed write). */
void tlog_tilecache_clear(struct tlog_tilecache *c);
void tlog_tilecache_free(struct tlog_tilecache *c);

/* Entry bundles: uint16_be length || bytes, per entry. */
/* Appends one entry to out (which must have room for 2 + len bytes); returns bytes written. */
size_t tlog_bundle_put(unsigned char *out, const unsigned char *entry, size_t len);
/*
 * Splits a bundle into at most max entries (pointers into data). With exact set, the bundle
 * must hold exactly max entries and nothing after them; otherwise stops after max entries.
 * 0, or -1 with the reason (truncated entry, missing entries, trailing bytes).
 */
int tlog_bundle_split(const unsigned char *data, size_t len, size_t max, int exact,
                      const unsigned char **entries, size_t *lens, size_t *count, char *err,
                      size_t errlen);

#endif
