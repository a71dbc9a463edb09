/* logwriter.c: the relay's transparency log directory: tiles, entry bundles, signed checkpoints. */
#include "logwriter.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "note.h"
#include "tlog.h"
#include "util.h"

#define CACHE_SLOTS 64
/* Partial-tile directories older than this many tiles are not looked at again after a restart. */
#define CLEANUP_LOOKBACK 64

/* A file written under a temporary name, renamed into place when the whole batch is on disk. */
struct staged {
	int level; /* TLOG_LEVEL_ENTRIES, or the tile level: renames go entries first, then up */
	int fd;    /* open until batch_commit fsyncs it */
	char tmp[TLOG_TILE_PATH_MAX + 8];
	char path[TLOG_TILE_PATH_MAX];
};

struct batch {
	struct staged *files;
	size_t n, cap;
	char (*dirs)[TLOG_TILE_PATH_MAX]; /* directories to fsync after the renames */
	size_t ndirs, capdirs;
};

struct logwriter {
	pthread_mutex_t mu;
	int dirfd, lockfd;
	char *dir;
	char *origin;
	unsigned char *sk; /* sodium_malloc'd copy */
	struct note_verifier self;
	uint64_t size;
	/* part[t]: the hashes of the partial tile at level t (only its first width are valid). */
	tlog_hash part[TLOG_TILE_LEVELS][TLOG_TILE_WIDTH];
	/* The partial entry bundle (entries since the last full tile). */
	unsigned char *bundle;
	size_t bundle_len, bundle_cap;
	int have_signed;
	uint64_t signed_size;
	tlog_hash signed_root;
	int64_t signed_ms;
	char *signed_note;
	size_t signed_note_len;
	uint64_t cleanup_from[TLOG_TILE_LEVELS + 1]; /* [0] entries, [t + 1] level t */
	/*
	 * Partial tiles above level 0 are derived data: they are written when a checkpoint needs
	 * them, not after every batch (recovery recomputes them from the full tiles below).
	 */
	int upper_dirty[TLOG_TILE_LEVELS];
	/* Directories known to exist (a ring), to spare a mkdir per path component per file. */
	char known_dirs[8][TLOG_TILE_PATH_MAX];
	unsigned known_next;
	struct tlog_tilecache *cache;
	int broken;
};

/* ---- small file helpers, relative to the log directory ---- */

static int tile_path(char *buf, int level, uint64_t index, unsigned width)
{
	return tlog_tile_path(buf, TLOG_TILE_PATH_MAX, level, index, width);
}

static int path_exists(struct logwriter *lw, const char *rel)
{
	struct stat st;
	return fstatat(lw->dirfd, rel, &st, 0) == 0 && S_ISREG(st.st_mode);
}

/* Reads rel into a malloc'd buffer; *missing set when it does not exist. At most max bytes. */
static int read_rel(struct logwriter *lw, const char *rel, size_t max, unsigned char **out,
                    size_t *outlen, int *missing, char *err, size_t errlen)
{
	int fd = openat(lw->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (missing)
		*missing = 0;
	if (fd < 0) {
		if (errno == ENOENT && missing) {
			*missing = 1;
			return -1;
		}
		return seterr(err, errlen, "%s/%s: %s", lw->dir, rel, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		close(fd);
		return seterr(err, errlen, "%s/%s: not a regular file of at most %zu bytes",
		              lw->dir, rel, max);
	}
	size_t len = (size_t)st.st_size, got = 0;
	unsigned char *buf = xmalloc(len + 1);
	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = r < 0 ? errno : EIO;
			close(fd);
			free(buf);
			return seterr(err, errlen, "%s/%s: %s", lw->dir, rel, strerror(e));
		}
		got += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Reads the hashes of tile (level, index) of the given width (256: full) from disk. */
static int read_tile(struct logwriter *lw, unsigned level, uint64_t index, unsigned width,
                     tlog_hash *out, int *missing, char *err, size_t errlen)
{
	char rel[TLOG_TILE_PATH_MAX];
	unsigned char *data;
	size_t len;
	tile_path(rel, (int)level, index, width);
	if (read_rel(lw, rel, TLOG_TILE_BYTES, &data, &len, missing, err, errlen) != 0)
		return -1;
	if (len != (size_t)width * TLOG_HASH_SIZE) {
		free(data);
		return seterr(err, errlen, "%s/%s: %zu bytes, %u hashes expected", lw->dir, rel,
		              len, width);
	}
	memcpy(out, data, len);
	free(data);
	return 0;
}

static void batch_add_dir(struct batch *b, const char *dir)
{
	for (size_t i = 0; i < b->ndirs; i++)
		if (strcmp(b->dirs[i], dir) == 0)
			return;
	if (b->ndirs == b->capdirs) {
		b->capdirs = b->capdirs ? 2 * b->capdirs : 16;
		b->dirs = xrealloc(b->dirs, b->capdirs * sizeof *b->dirs);
	}
	snprintf(b->dirs[b->ndirs++], TLOG_TILE_PATH_MAX, "%s", dir);
}

/* Creates every missing directory on the way to the file rel; records parents to fsync. */
static int make_parents(struct logwriter *lw, struct batch *b, const char *rel, char *err,
                        size_t errlen)
{
	char path[TLOG_TILE_PATH_MAX];
	const char *last = strrchr(rel, '/');
	int dlen = last ? (int)(last - rel) : 0;
	for (unsigned k = 0; k < 8; k++)
		if (strncmp(lw->known_dirs[k], rel, (size_t)dlen) == 0 &&
		    lw->known_dirs[k][dlen] == '\0')
			return 0;
	snprintf(path, sizeof path, "%s", rel);
	for (char *p = strchr(path, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdirat(lw->dirfd, path, 0755) == 0) {
			char *slash = strrchr(path, '/');
			if (slash) {
				*slash = '\0';
				batch_add_dir(b, path);
				*slash = '/';
			} else {
				batch_add_dir(b, ".");
			}
		} else if (errno != EEXIST) {
			return seterr(err, errlen, "%s/%s: %s", lw->dir, path, strerror(errno));
		}
		*p = '/';
	}
	snprintf(lw->known_dirs[lw->known_next++ % 8], TLOG_TILE_PATH_MAX, "%.*s", dlen, rel);
	return 0;
}

static int write_all(int fd, const unsigned char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, data, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Writes data to a temporary file next to rel and starts its writeback; batch_commit fsyncs
 * every file of the batch (their writes overlap), then renames them into place.
 */
static int batch_stage(struct logwriter *lw, struct batch *b, int level, const char *rel,
                       const unsigned char *data, size_t len, char *err, size_t errlen)
{
	if (make_parents(lw, b, rel, err, errlen) != 0)
		return -1;
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		b->files = xrealloc(b->files, b->cap * sizeof *b->files);
	}
	struct staged *s = &b->files[b->n];
	const char *slash = strrchr(rel, '/');
	int dlen = (int)(slash - rel);
	s->level = level;
	snprintf(s->path, sizeof s->path, "%s", rel);
	snprintf(s->tmp, sizeof s->tmp, "%.*s/.tmp-%s", dlen, rel, slash + 1);
	s->fd =
	    openat(lw->dirfd, s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (s->fd < 0)
		return seterr(err, errlen, "%s/%s: %s", lw->dir, s->tmp, strerror(errno));
	b->n++;
	if (write_all(s->fd, data, len) != 0)
		return seterr(err, errlen, "%s/%s: %s", lw->dir, s->tmp, strerror(errno));
	(void)sync_file_range(s->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	char dir[TLOG_TILE_PATH_MAX];
	snprintf(dir, sizeof dir, "%.*s", dlen, rel);
	batch_add_dir(b, dir);
	return 0;
}

static int fsync_dir(struct logwriter *lw, const char *rel, char *err, size_t errlen)
{
	int fd = openat(lw->dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return seterr(err, errlen, "%s/%s: %s", lw->dir, rel, strerror(errno));
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	if (rc != 0)
		return seterr(err, errlen, "%s/%s: fsync: %s", lw->dir, rel, strerror(e));
	return 0;
}

/* fsyncs every file, renames entry bundles first, then tiles level by level, fsyncs the
 * directories. */
static int batch_commit(struct logwriter *lw, struct batch *b, char *err, size_t errlen)
{
	for (size_t i = 0; i < b->n; i++) {
		struct staged *s = &b->files[i];
		int rc = fsync(s->fd);
		int e = errno;
		if (close(s->fd) != 0 && rc == 0) {
			rc = -1;
			e = errno;
		}
		s->fd = -1;
		if (rc != 0)
			return seterr(err, errlen, "%s/%s: %s", lw->dir, s->tmp, strerror(e));
	}
	for (int level = TLOG_LEVEL_ENTRIES; level < TLOG_TILE_LEVELS; level++) {
		for (size_t i = 0; i < b->n; i++) {
			struct staged *s = &b->files[i];
			if (s->level != level || s->tmp[0] == '\0')
				continue;
			if (renameat(lw->dirfd, s->tmp, lw->dirfd, s->path) != 0)
				return seterr(err, errlen, "%s/%s: %s", lw->dir, s->path,
				              strerror(errno));
			s->tmp[0] = '\0';
		}
	}
	for (size_t i = 0; i < b->ndirs; i++)
		if (fsync_dir(lw, b->dirs[i], err, errlen) != 0)
			return -1;
	return 0;
}

/* Removes temporary files a failed batch left, and frees the batch. */
static void batch_free(struct logwriter *lw, struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->files[i].fd >= 0)
			close(b->files[i].fd);
		if (b->files[i].tmp[0] != '\0')
			unlinkat(lw->dirfd, b->files[i].tmp, 0);
	}
	free(b->files);
	free(b->dirs);
	memset(b, 0, sizeof *b);
}

/* ---- reading hashes for proofs ---- */

/* tlog_tile_fetch: full tiles from disk, the partial one from memory. */
static int lw_fetch(void *ctx, unsigned level, uint64_t index, unsigned need, tlog_hash *hashes,
                    unsigned *width, char *err, size_t errlen)
{
	struct logwriter *lw = ctx;
	if (level >= TLOG_TILE_LEVELS)
		return seterr(err, errlen, "no tile level %u", level);
	uint64_t full = tlog_tile_full_count(lw->size, level);
	if (index < full) {
		if (read_tile(lw, level, index, TLOG_TILE_WIDTH, hashes, NULL, err, errlen) != 0)
			return -1;
		*width = TLOG_TILE_WIDTH;
		return 0;
	}
	unsigned w = tlog_tile_partial_width(lw->size, level);
	if (index > full || w < need)
		return seterr(err, errlen, "tile %u/%llu is beyond the tree of size %llu", level,
		              (unsigned long long)index, (unsigned long long)lw->size);
	memcpy(hashes, lw->part[level], (size_t)w * TLOG_HASH_SIZE);
	*width = w;
	return 0;
}

/* ---- append ---- */

static void bundle_reserve(struct logwriter *lw, size_t more)
{
	if (lw->bundle_len + more <= lw->bundle_cap)
		return;
	size_t cap = lw->bundle_cap ? lw->bundle_cap : 65536;
	while (cap < lw->bundle_len + more)
		cap *= 2;
	lw->bundle = xrealloc(lw->bundle, cap);
	lw->bundle_cap = cap;
}

static int stage_tile(struct logwriter *lw, struct batch *b, unsigned level, uint64_t index,
                      unsigned width, char *err, size_t errlen)
{
	char rel[TLOG_TILE_PATH_MAX];
	tile_path(rel, (int)level, index, width);
	return batch_stage(lw, b, (int)level, rel, (const unsigned char *)lw->part[level],
	                   (size_t)width * TLOG_HASH_SIZE, err, errlen);
}

static int append_locked(struct logwriter *lw, const unsigned char *const *entries,
                         const size_t *lens, size_t n, char *err, size_t errlen)
{
	struct batch b = {0};
	int dirty[TLOG_TILE_LEVELS] = {0};
	char rel[TLOG_TILE_PATH_MAX];
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		uint64_t idx = lw->size;
		bundle_reserve(lw, 2 + lens[i]);
		lw->bundle_len += tlog_bundle_put(lw->bundle + lw->bundle_len, entries[i], lens[i]);
		tlog_hash_leaf(lw->part[0][idx % TLOG_TILE_WIDTH], entries[i], lens[i]);
		lw->size = idx + 1;
		dirty[0] = 1;
		if (lw->size % TLOG_TILE_WIDTH != 0)
			continue;
		/* Tile 0 filled up: write it and its bundle, then carry its hash upwards. */
		tile_path(rel, TLOG_LEVEL_ENTRIES, idx / TLOG_TILE_WIDTH, TLOG_TILE_WIDTH);
		if (batch_stage(lw, &b, TLOG_LEVEL_ENTRIES, rel, lw->bundle, lw->bundle_len, err,
		                errlen) != 0)
			goto out;
		lw->bundle_len = 0;
		for (unsigned t = 0; t < TLOG_TILE_LEVELS; t++) {
			unsigned shift = TLOG_TILE_HEIGHT * (t + 1);
			uint64_t tile = (lw->size >> shift) - 1;
			if (stage_tile(lw, &b, t, tile, TLOG_TILE_WIDTH, err, errlen) != 0)
				goto out;
			if (t + 1 == TLOG_TILE_LEVELS)
				break;
			tlog_hash_perfect(lw->part[t + 1][tile % TLOG_TILE_WIDTH], lw->part[t],
			                  TLOG_TILE_WIDTH);
			dirty[t + 1] = 1;
			if (shift + TLOG_TILE_HEIGHT >= 64 ||
			    lw->size % ((uint64_t)1 << (shift + TLOG_TILE_HEIGHT)) != 0)
				break;
		}
	}
	/* Rewrite the partial entry bundle and level-0 tile; mark the partial tiles above. */
	unsigned w0 = tlog_tile_partial_width(lw->size, 0);
	if (dirty[0] && w0 > 0) {
		if (stage_tile(lw, &b, 0, tlog_tile_full_count(lw->size, 0), w0, err, errlen) != 0)
			goto out;
		tile_path(rel, TLOG_LEVEL_ENTRIES, tlog_tile_full_count(lw->size, 0), w0);
		if (batch_stage(lw, &b, TLOG_LEVEL_ENTRIES, rel, lw->bundle, lw->bundle_len, err,
		                errlen) != 0)
			goto out;
	}
	for (unsigned t = 1; t < TLOG_TILE_LEVELS; t++)
		lw->upper_dirty[t] |= dirty[t];
	rc = batch_commit(lw, &b, err, errlen);
out:
	batch_free(lw, &b);
	return rc;
}

int logwriter_append(struct logwriter *lw, const unsigned char *const *entries, const size_t *lens,
                     size_t n, char *err, size_t errlen)
{
	int rc = -1;
	pthread_mutex_lock(&lw->mu);
	if (lw->broken) {
		seterr(err, errlen, "log %s: an earlier write failed; reopen the log", lw->dir);
		goto out;
	}
	if (n > TLOG_SIZE_MAX - lw->size) {
		seterr(err, errlen, "log %s is full", lw->dir);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (lens[i] > TLOG_ENTRY_MAX) {
			seterr(err, errlen, "entry %zu of the batch: %zu bytes, at most %d", i,
			       lens[i], TLOG_ENTRY_MAX);
			goto out;
		}
		if (entries[i] == NULL && lens[i] > 0) {
			seterr(err, errlen, "entry %zu of the batch is NULL", i);
			goto out;
		}
	}
	rc = append_locked(lw, entries, lens, n, err, errlen);
	if (rc != 0) {
		/* Memory is ahead of the disk now; only a reopen can tell what is durable. */
		lw->broken = 1;
		tlog_tilecache_clear(lw->cache);
	}
out:
	pthread_mutex_unlock(&lw->mu);
	return rc;
}

/* ---- checkpoints ---- */

/* Deletes partial tiles of tiles that are full and covered by the signed checkpoint. */
static void cleanup_partials(struct logwriter *lw)
{
	char rel[TLOG_TILE_PATH_MAX + 4];
	for (int k = 0; k <= TLOG_TILE_LEVELS; k++) {
		int level = k == 0 ? TLOG_LEVEL_ENTRIES : k - 1;
		uint64_t full =
		    tlog_tile_full_count(lw->signed_size, k == 0 ? 0 : (unsigned)(k - 1));
		for (uint64_t n = lw->cleanup_from[k]; n < full; n++) {
			tile_path(rel, level, n, TLOG_TILE_WIDTH);
			strcat(rel, ".p");
			int fd = openat(lw->dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				continue;
			DIR *d = fdopendir(fd);
			if (d == NULL) {
				close(fd);
				continue;
			}
			struct dirent *de;
			while ((de = readdir(d)) != NULL)
				if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
					unlinkat(dirfd(d), de->d_name, 0);
			closedir(d);
			unlinkat(lw->dirfd, rel, AT_REMOVEDIR);
		}
		if (full > lw->cleanup_from[k])
			lw->cleanup_from[k] = full;
	}
	memset(lw->known_dirs, 0, sizeof lw->known_dirs);
}

/* Writes the partial tiles above level 0 that changed since the last checkpoint. */
static int write_upper_partials(struct logwriter *lw, char *err, size_t errlen)
{
	struct batch b = {0};
	int rc = -1;
	for (unsigned t = 1; t < TLOG_TILE_LEVELS; t++) {
		unsigned w = tlog_tile_partial_width(lw->size, t);
		if (lw->upper_dirty[t] && w > 0 &&
		    stage_tile(lw, &b, t, tlog_tile_full_count(lw->size, t), w, err, errlen) != 0)
			goto out;
	}
	if (batch_commit(lw, &b, err, errlen) != 0)
		goto out;
	memset(lw->upper_dirty, 0, sizeof lw->upper_dirty);
	rc = 0;
out:
	batch_free(lw, &b);
	return rc;
}

static int checkpoint_locked(struct logwriter *lw, int64_t now_ms, char *err, size_t errlen)
{
	tlog_hash root;
	char ebuf[ERRBUF_MAX];
	if (lw->have_signed && lw->size == lw->signed_size)
		return 0;
	/* Every tile the checkpoint covers is on disk before it is signed. */
	if (write_upper_partials(lw, err, errlen) != 0)
		return -1;
	if (lw->have_signed && lw->size < lw->signed_size)
		return seterr(err, errlen,
		              "refusing to sign: the tree (%llu entries) is smaller than the last "
		              "signed checkpoint (%llu)",
		              (unsigned long long)lw->size, (unsigned long long)lw->signed_size);
	if (tlog_tree_root(tlog_tilecache_read, lw->cache, lw->size, root, ebuf, sizeof ebuf) != 0)
		return seterr(err, errlen, "root of %llu entries: %s", (unsigned long long)lw->size,
		              ebuf);
	if (lw->have_signed) {
		tlog_hash proof[TLOG_PROOF_MAX];
		size_t count;
		if (tlog_prove_consistency(tlog_tilecache_read, lw->cache, lw->signed_size,
		                           lw->size, proof, &count, ebuf, sizeof ebuf) != 0 ||
		    tlog_verify_consistency(lw->signed_size, lw->size, lw->signed_root, root, proof,
		                            count, ebuf, sizeof ebuf) != 0)
			return seterr(
			    err, errlen,
			    "refusing to sign: the tree of %llu entries is not consistent "
			    "with the last signed checkpoint (%llu entries): %s",
			    (unsigned long long)lw->size, (unsigned long long)lw->signed_size,
			    ebuf);
	}
	struct note_checkpoint c;
	memset(&c, 0, sizeof c);
	snprintf(c.origin, sizeof c.origin, "%s", lw->origin);
	c.size = lw->size;
	memcpy(c.root, root, TLOG_HASH_SIZE);
	char *note;
	size_t len;
	if (note_checkpoint_sign(&c, lw->origin, lw->sk, &note, &len, err, errlen) != 0)
		return -1;
	char *kept = xasprintf("%s/checkpoints/%llu", lw->dir, (unsigned long long)lw->size);
	char *cur = xasprintf("%s/checkpoint", lw->dir);
	int rc = -1;
	if (file_write_atomic(kept, note, len, 0644, err, errlen) != 0 ||
	    file_write_atomic(cur, note, len, 0644, err, errlen) != 0) {
		free(note);
		goto out;
	}
	lw->have_signed = 1;
	lw->signed_size = lw->size;
	memcpy(lw->signed_root, root, TLOG_HASH_SIZE);
	lw->signed_ms = now_ms;
	free(lw->signed_note);
	lw->signed_note = note;
	lw->signed_note_len = len;
	cleanup_partials(lw);
	rc = 0;
out:
	free(kept);
	free(cur);
	return rc;
}

int logwriter_checkpoint(struct logwriter *lw, int64_t now_ms, char *err, size_t errlen)
{
	int rc;
	pthread_mutex_lock(&lw->mu);
	if (lw->broken)
		rc =
		    seterr(err, errlen, "log %s: an earlier write failed; reopen the log", lw->dir);
	else
		rc = checkpoint_locked(lw, now_ms, err, errlen);
	pthread_mutex_unlock(&lw->mu);
	return rc;
}

/* ---- queries ---- */

/* The mutex is not part of the logwriter's value: the const getters may take it. */
static pthread_mutex_t *mutex_of(const struct logwriter *lw)
{
	return (pthread_mutex_t *)&lw->mu;
}

uint64_t logwriter_size(const struct logwriter *lw)
{
	pthread_mutex_lock(mutex_of(lw));
	uint64_t n = lw->size;
	pthread_mutex_unlock(mutex_of(lw));
	return n;
}

uint64_t logwriter_signed_size(const struct logwriter *lw)
{
	pthread_mutex_lock(mutex_of(lw));
	uint64_t n = lw->have_signed ? lw->signed_size : 0;
	pthread_mutex_unlock(mutex_of(lw));
	return n;
}

int64_t logwriter_signed_ms(const struct logwriter *lw)
{
	pthread_mutex_lock(mutex_of(lw));
	int64_t t = lw->signed_ms;
	pthread_mutex_unlock(mutex_of(lw));
	return t;
}

char *logwriter_signed_checkpoint(struct logwriter *lw, size_t *len)
{
	char *out = NULL;
	pthread_mutex_lock(&lw->mu);
	if (lw->signed_note != NULL) {
		out = xmalloc(lw->signed_note_len + 1);
		memcpy(out, lw->signed_note, lw->signed_note_len + 1);
		*len = lw->signed_note_len;
	}
	pthread_mutex_unlock(&lw->mu);
	return out;
}

int logwriter_root(struct logwriter *lw, uint64_t size, unsigned char out[32], char *err,
                   size_t errlen)
{
	int rc;
	pthread_mutex_lock(&lw->mu);
	if (size > lw->size)
		rc = seterr(err, errlen, "size %llu is beyond the log (%llu entries)",
		            (unsigned long long)size, (unsigned long long)lw->size);
	else
		rc = tlog_tree_root(tlog_tilecache_read, lw->cache, size, out, err, errlen);
	pthread_mutex_unlock(&lw->mu);
	return rc;
}

int logwriter_inclusion_proof(struct logwriter *lw, uint64_t index, uint64_t size,
                              unsigned char (*out)[32], size_t *count, char *err, size_t errlen)
{
	int rc;
	pthread_mutex_lock(&lw->mu);
	if (size > lw->size)
		rc = seterr(err, errlen, "size %llu is beyond the log (%llu entries)",
		            (unsigned long long)size, (unsigned long long)lw->size);
	else
		rc = tlog_prove_inclusion(tlog_tilecache_read, lw->cache, index, size, out, count,
		                          err, errlen);
	pthread_mutex_unlock(&lw->mu);
	return rc;
}

int logwriter_consistency_proof(struct logwriter *lw, uint64_t old_size, uint64_t new_size,
                                unsigned char (*out)[32], size_t *count, char *err, size_t errlen)
{
	int rc;
	pthread_mutex_lock(&lw->mu);
	if (new_size > lw->size)
		rc = seterr(err, errlen, "size %llu is beyond the log (%llu entries)",
		            (unsigned long long)new_size, (unsigned long long)lw->size);
	else
		rc = tlog_prove_consistency(tlog_tilecache_read, lw->cache, old_size, new_size, out,
		                            count, err, errlen);
	pthread_mutex_unlock(&lw->mu);
	return rc;
}

char *logwriter_vkey(const struct logwriter *lw)
{
	return note_vkey(lw->self.name, lw->self.pk);
}

/* ---- open and recovery ---- */

static int full_pair_exists(struct logwriter *lw, uint64_t n)
{
	char a[TLOG_TILE_PATH_MAX], b[TLOG_TILE_PATH_MAX];
	tile_path(a, 0, n, TLOG_TILE_WIDTH);
	tile_path(b, TLOG_LEVEL_ENTRIES, n, TLOG_TILE_WIDTH);
	return path_exists(lw, a) && path_exists(lw, b);
}

/* Size from the level-0 tiles that have their entry bundle next to them. */
static uint64_t recover_size(struct logwriter *lw)
{
	uint64_t full = 0;
	if (full_pair_exists(lw, 0)) {
		uint64_t lo = 0, hi = 1;
		while (hi < (TLOG_SIZE_MAX >> TLOG_TILE_HEIGHT) && full_pair_exists(lw, hi)) {
			lo = hi;
			hi *= 2;
		}
		while (hi - lo > 1) {
			uint64_t mid = lo + (hi - lo) / 2;
			if (full_pair_exists(lw, mid))
				lo = mid;
			else
				hi = mid;
		}
		full = lo + 1;
	}
	for (unsigned w = TLOG_TILE_WIDTH - 1; w > 0; w--) {
		char a[TLOG_TILE_PATH_MAX], b[TLOG_TILE_PATH_MAX];
		tile_path(a, 0, full, w);
		tile_path(b, TLOG_LEVEL_ENTRIES, full, w);
		if (path_exists(lw, a) && path_exists(lw, b))
			return full * TLOG_TILE_WIDTH + w;
	}
	return full * TLOG_TILE_WIDTH;
}

/* Checks an entry bundle of width entries against its level-0 tile hashes. */
static int check_bundle(struct logwriter *lw, uint64_t index, unsigned width,
                        const tlog_hash *hashes, int keep, char *err, size_t errlen)
{
	char rel[TLOG_TILE_PATH_MAX];
	unsigned char *data;
	size_t len, count;
	const unsigned char *ents[TLOG_TILE_WIDTH];
	size_t lens[TLOG_TILE_WIDTH];
	char ebuf[ERRBUF_MAX];
	tile_path(rel, TLOG_LEVEL_ENTRIES, index, width);
	if (read_rel(lw, rel, TLOG_BUNDLE_MAX, &data, &len, NULL, err, errlen) != 0)
		return -1;
	if (tlog_bundle_split(data, len, width, 1, ents, lens, &count, ebuf, sizeof ebuf) != 0) {
		free(data);
		return seterr(err, errlen, "%s/%s: %s", lw->dir, rel, ebuf);
	}
	for (unsigned i = 0; i < width; i++) {
		tlog_hash h;
		tlog_hash_leaf(h, ents[i], lens[i]);
		if (memcmp(h, hashes[i], TLOG_HASH_SIZE) != 0) {
			free(data);
			tile_path(rel, 0, index, width);
			return seterr(err, errlen,
			              "log %s is inconsistent: entry %llu does not match tile %s",
			              lw->dir, (unsigned long long)(index * TLOG_TILE_WIDTH + i),
			              rel);
		}
	}
	if (keep) {
		bundle_reserve(lw, len);
		memcpy(lw->bundle, data, len);
		lw->bundle_len = len;
	}
	free(data);
	return 0;
}

/*
 * Recomputes the tile (level, index) of width hashes from the full tiles one level down and
 * compares it with the one on disk, writing it when a crash left it out.
 */
static int check_upper_tile(struct logwriter *lw, struct batch *b, unsigned level, uint64_t index,
                            unsigned width, tlog_hash *out, char *err, size_t errlen)
{
	tlog_hash *below = xmalloc(TLOG_TILE_BYTES), *disk = xmalloc(TLOG_TILE_BYTES);
	char rel[TLOG_TILE_PATH_MAX];
	int rc = -1, missing = 0;
	for (unsigned j = 0; j < width; j++) {
		if (read_tile(lw, level - 1, index * TLOG_TILE_WIDTH + j, TLOG_TILE_WIDTH, below,
		              NULL, err, errlen) != 0)
			goto out;
		tlog_hash_perfect(out[j], below, TLOG_TILE_WIDTH);
	}
	tile_path(rel, (int)level, index, width);
	if (read_tile(lw, level, index, width, disk, &missing, err, errlen) != 0) {
		if (!missing)
			goto out;
		/* Partial tiles above level 0 wait for a checkpoint; full ones a crash cut short.
		 */
		if (width == TLOG_TILE_WIDTH)
			log_warn("log %s: rewriting %s, missing after a crash", lw->dir, rel);
		if (batch_stage(lw, b, (int)level, rel, (const unsigned char *)out,
		                (size_t)width * TLOG_HASH_SIZE, err, errlen) != 0)
			goto out;
	} else if (memcmp(disk, out, (size_t)width * TLOG_HASH_SIZE) != 0) {
		seterr(err, errlen, "log %s is inconsistent: %s does not match the tiles below it",
		       lw->dir, rel);
		goto out;
	}
	rc = 0;
out:
	free(below);
	free(disk);
	return rc;
}

/* Loads the right edge of every level, checking it against the entries and the level below. */
static int recover_tiles(struct logwriter *lw, char *err, size_t errlen)
{
	struct batch b = {0};
	tlog_hash *tmp = xmalloc(TLOG_TILE_BYTES);
	int rc = -1;
	uint64_t size = lw->size;
	uint64_t full0 = tlog_tile_full_count(size, 0);
	unsigned w0 = tlog_tile_partial_width(size, 0);

	if (w0 > 0) {
		if (read_tile(lw, 0, full0, w0, lw->part[0], NULL, err, errlen) != 0 ||
		    check_bundle(lw, full0, w0, lw->part[0], 1, err, errlen) != 0)
			goto out;
	}
	if (full0 > 0) {
		if (read_tile(lw, 0, full0 - 1, TLOG_TILE_WIDTH, tmp, NULL, err, errlen) != 0 ||
		    check_bundle(lw, full0 - 1, TLOG_TILE_WIDTH, tmp, 0, err, errlen) != 0)
			goto out;
	}
	for (unsigned t = 1; t < TLOG_TILE_LEVELS; t++) {
		if ((size >> (TLOG_TILE_HEIGHT * t)) == 0)
			break;
		uint64_t full = tlog_tile_full_count(size, t);
		unsigned w = tlog_tile_partial_width(size, t);
		if (w > 0 && check_upper_tile(lw, &b, t, full, w, lw->part[t], err, errlen) != 0)
			goto out;
		if (full > 0 &&
		    check_upper_tile(lw, &b, t, full - 1, TLOG_TILE_WIDTH, tmp, err, errlen) != 0)
			goto out;
		/* Older full tiles are never rewritten; they only have to be there. */
		for (uint64_t n = 0; n + 1 < full; n++) {
			char rel[TLOG_TILE_PATH_MAX];
			tile_path(rel, (int)t, n, TLOG_TILE_WIDTH);
			if (!path_exists(lw, rel)) {
				seterr(err, errlen, "log %s is inconsistent: %s is missing",
				       lw->dir, rel);
				goto out;
			}
		}
	}
	rc = batch_commit(lw, &b, err, errlen);
out:
	batch_free(lw, &b);
	free(tmp);
	return rc;
}

/* Removes partial tiles wider than the recovered size: a crash cut their batch short. */
static void remove_stale_partials(struct logwriter *lw)
{
	for (int level = TLOG_LEVEL_ENTRIES; level < TLOG_TILE_LEVELS; level++) {
		unsigned t = level < 0 ? 0 : (unsigned)level;
		uint64_t full = tlog_tile_full_count(lw->size, t);
		unsigned w = tlog_tile_partial_width(lw->size, t);
		for (unsigned x = w + 1; x < TLOG_TILE_WIDTH; x++) {
			char rel[TLOG_TILE_PATH_MAX];
			tile_path(rel, level, full, x);
			unlinkat(lw->dirfd, rel, 0);
		}
	}
}

/* Reads and verifies a checkpoint written by this log; *missing when rel does not exist. */
static int load_checkpoint(struct logwriter *lw, const char *rel, struct note_checkpoint *c,
                           char **note, size_t *notelen, int *missing, char *err, size_t errlen)
{
	unsigned char *data;
	size_t len;
	char ebuf[ERRBUF_MAX];
	if (read_rel(lw, rel, NOTE_MAX_BYTES, &data, &len, missing, err, errlen) != 0)
		return -1;
	if (note_checkpoint_open((const char *)data, len, &lw->self, c, ebuf, sizeof ebuf) != 0) {
		free(data);
		return seterr(err, errlen, "%s/%s: %s", lw->dir, rel, ebuf);
	}
	if (strcmp(c->origin, lw->origin) != 0) {
		free(data);
		return seterr(err, errlen, "%s/%s is for origin \"%s\", not \"%s\"", lw->dir, rel,
		              c->origin, lw->origin);
	}
	tlog_hash root;
	if (c->size > lw->size) {
		free(data);
		return seterr(err, errlen,
		              "log %s is inconsistent: %s covers %llu entries but the tiles hold "
		              "only %llu (rolled back or lost)",
		              lw->dir, rel, (unsigned long long)c->size,
		              (unsigned long long)lw->size);
	}
	if (tlog_tree_root(tlog_tilecache_read, lw->cache, c->size, root, ebuf, sizeof ebuf) != 0) {
		free(data);
		return seterr(err, errlen, "log %s: root of %llu entries: %s", lw->dir,
		              (unsigned long long)c->size, ebuf);
	}
	if (memcmp(root, c->root, TLOG_HASH_SIZE) != 0) {
		free(data);
		return seterr(
		    err, errlen,
		    "log %s is inconsistent: the tiles do not match the root signed in %s "
		    "(%llu entries)",
		    lw->dir, rel, (unsigned long long)c->size);
	}
	*note = (char *)data;
	*notelen = len;
	return 0;
}

/* Largest size among checkpoints/<size> (canonical decimal names only); 0 and *found = 0 if none.
 */
static int largest_kept(struct logwriter *lw, uint64_t *out, int *found, char *err, size_t errlen)
{
	int fd = openat(lw->dirfd, "checkpoints", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*found = 0;
	*out = 0;
	if (fd < 0)
		return seterr(err, errlen, "%s/checkpoints: %s", lw->dir, strerror(errno));
	DIR *d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return seterr(err, errlen, "%s/checkpoints: %s", lw->dir, strerror(errno));
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *s = de->d_name;
		size_t n = strlen(s);
		if (n == 0 || n > 19 || (n > 1 && s[0] == '0') || strspn(s, "0123456789") != n)
			continue;
		uint64_t v = strtoull(s, NULL, 10);
		if (!*found || v > *out)
			*out = v;
		*found = 1;
	}
	closedir(d);
	return 0;
}

/* Adopts the latest checkpoint this log signed, repairing checkpoint or checkpoints/<size>. */
static int recover_checkpoint(struct logwriter *lw, char *err, size_t errlen)
{
	struct note_checkpoint cur, kept;
	char *cur_note = NULL, *kept_note = NULL;
	size_t cur_len = 0, kept_len = 0;
	int cur_missing = 0, have_cur = 0, have_kept = 0, found, rc = -1;
	uint64_t kept_size;
	char rel[64];

	if (load_checkpoint(lw, "checkpoint", &cur, &cur_note, &cur_len, &cur_missing, err,
	                    errlen) == 0)
		have_cur = 1;
	else if (!cur_missing)
		goto out;
	if (largest_kept(lw, &kept_size, &found, err, errlen) != 0)
		goto out;
	if (found) {
		snprintf(rel, sizeof rel, "checkpoints/%llu", (unsigned long long)kept_size);
		if (load_checkpoint(lw, rel, &kept, &kept_note, &kept_len, NULL, err, errlen) != 0)
			goto out;
		if (kept.size != kept_size) {
			seterr(err, errlen, "%s/%s holds a checkpoint of size %llu", lw->dir, rel,
			       (unsigned long long)kept.size);
			goto out;
		}
		have_kept = 1;
	}
	/* Both were checked against the same tiles, so they are consistent with each other. */
	const struct note_checkpoint *last = NULL;
	const char *note = NULL;
	size_t note_len = 0;
	if (have_kept && (!have_cur || kept.size >= cur.size)) {
		last = &kept;
		note = kept_note;
		note_len = kept_len;
	} else if (have_cur) {
		last = &cur;
		note = cur_note;
		note_len = cur_len;
	}
	if (last == NULL) {
		rc = 0;
		goto out;
	}
	if (!have_cur || cur.size != last->size) {
		char *path = xasprintf("%s/checkpoint", lw->dir);
		log_warn("log %s: restoring checkpoint %llu after an interrupted signing", lw->dir,
		         (unsigned long long)last->size);
		int w = file_write_atomic(path, note, note_len, 0644, err, errlen);
		free(path);
		if (w != 0)
			goto out;
	}
	if (!have_kept || kept.size != last->size) {
		char *path =
		    xasprintf("%s/checkpoints/%llu", lw->dir, (unsigned long long)last->size);
		log_warn("log %s: keeping a copy of checkpoint %llu", lw->dir,
		         (unsigned long long)last->size);
		int w = file_write_atomic(path, note, note_len, 0644, err, errlen);
		free(path);
		if (w != 0)
			goto out;
	}
	lw->have_signed = 1;
	lw->signed_size = last->size;
	memcpy(lw->signed_root, last->root, TLOG_HASH_SIZE);
	lw->signed_note = xmalloc(note_len + 1);
	memcpy(lw->signed_note, note, note_len);
	lw->signed_note[note_len] = '\0';
	lw->signed_note_len = note_len;
	rc = 0;
out:
	free(cur_note);
	free(kept_note);
	return rc;
}

static int ensure_dir(struct logwriter *lw, const char *rel, char *err, size_t errlen)
{
	if (mkdirat(lw->dirfd, rel, 0755) != 0 && errno != EEXIST)
		return seterr(err, errlen, "%s/%s: %s", lw->dir, rel, strerror(errno));
	return 0;
}

struct logwriter *logwriter_open(const char *dir, const char *origin, const unsigned char sk[64],
                                 char *err, size_t errlen)
{
	struct logwriter *lw = xcalloc(1, sizeof *lw);
	pthread_mutex_init(&lw->mu, NULL);
	lw->dirfd = -1;
	lw->lockfd = -1;
	lw->dir = xstrdup(dir);
	lw->origin = xstrdup(origin);
	if (note_verifier_from_key(&lw->self, origin, sk + 32, err, errlen) != 0) {
		seterr(err, errlen, "log origin \"%s\" is not a valid key name", origin);
		goto fail;
	}
	unsigned char seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char check[crypto_sign_SECRETKEYBYTES];
	crypto_sign_ed25519_sk_to_seed(seed, sk);
	crypto_sign_seed_keypair(pk, check, seed);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(check, sizeof check);
	if (memcmp(pk, sk + 32, sizeof pk) != 0) {
		seterr(err, errlen, "log signing key: public half does not match the secret key");
		goto fail;
	}
	lw->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (lw->sk == NULL)
		fatal("out of locked memory");
	memcpy(lw->sk, sk, crypto_sign_SECRETKEYBYTES);
	sodium_mprotect_readonly(lw->sk);

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		seterr(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	lw->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lw->dirfd < 0) {
		seterr(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	lw->lockfd = openat(lw->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lw->lockfd < 0 || flock(lw->lockfd, LOCK_EX | LOCK_NB) != 0) {
		seterr(err, errlen, "%s: %s", dir,
		       errno == EWOULDBLOCK ? "log directory is in use by another process"
		                            : strerror(errno));
		goto fail;
	}
	if (ensure_dir(lw, "tile", err, errlen) != 0 ||
	    ensure_dir(lw, "tile/entries", err, errlen) != 0 ||
	    ensure_dir(lw, "checkpoints", err, errlen) != 0)
		goto fail;

	lw->cache = tlog_tilecache_new(lw_fetch, lw, CACHE_SLOTS);
	lw->size = recover_size(lw);
	if (recover_tiles(lw, err, errlen) != 0)
		goto fail;
	remove_stale_partials(lw);
	if (recover_checkpoint(lw, err, errlen) != 0)
		goto fail;
	for (unsigned k = 0; k <= TLOG_TILE_LEVELS; k++) {
		uint64_t full = tlog_tile_full_count(lw->signed_size, k == 0 ? 0 : k - 1);
		lw->cleanup_from[k] = full > CLEANUP_LOOKBACK ? full - CLEANUP_LOOKBACK : 0;
	}
	if (lw->have_signed)
		cleanup_partials(lw);
	log_info("log %s: %llu entries, last checkpoint %llu", dir, (unsigned long long)lw->size,
	         (unsigned long long)lw->signed_size);
	return lw;
fail:
	logwriter_free(lw);
	return NULL;
}

void logwriter_free(struct logwriter *lw)
{
	if (lw == NULL)
		return;
	if (lw->sk != NULL)
		sodium_free(lw->sk);
	tlog_tilecache_free(lw->cache);
	if (lw->lockfd >= 0)
		close(lw->lockfd);
	if (lw->dirfd >= 0)
		close(lw->dirfd);
	free(lw->bundle);
	free(lw->signed_note);
	free(lw->dir);
	free(lw->origin);
	pthread_mutex_destroy(&lw->mu);
	free(lw);
}
