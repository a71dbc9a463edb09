/* logwriter.h: the relay's transparency log directory: tiles, entry bundles, signed checkpoints. */
#ifndef TBSC_LOGWRITER_H
#define TBSC_LOGWRITER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Layout under dir (C2SP tlog-tiles): checkpoint, checkpoints/<size> (every checkpoint ever
 * signed), tile/<L>/<N>[.p/<W>], tile/entries/<N>[.p/<W>]. Every function may be called from
 * several threads; they serialize on a mutex inside the logwriter.
 */
struct logwriter;

/*
 * Opens (creating if missing) the log in dir for origin, signing with the libsodium Ed25519
 * secret key sk (copied into locked memory; the key name is origin, which must be a valid
 * note key name). Recovers the size and right edge from the tiles on disk, finishes a batch a
 * crash interrupted, and checks the last signed checkpoint against the tiles. Returns NULL
 * with the reason when the directory is locked by another process or its state is
 * inconsistent (tiles disagree with entries or with the signed checkpoint, a checkpoint
 * covers entries the tiles lack). Free with logwriter_free.
 */
struct logwriter *logwriter_open(const char *dir, const char *origin, const unsigned char sk[64],
                                 char *err, size_t errlen);
/* Number of entries durably in the tiles. */
uint64_t logwriter_size(const struct logwriter *lw);
/* Size of the last checkpoint signed (0 if none yet). */
uint64_t logwriter_signed_size(const struct logwriter *lw);
/*
 * Appends n entries in order (each at most 65535 bytes; the caller keeps ownership). Writes
 * the full tiles and entry bundles once, rewrites the partial ones, and fsyncs everything
 * before returning. 0, or -1 with the reason; after a failed write the logwriter refuses
 * further appends and checkpoints (reopen it to recover from what reached the disk).
 */
int logwriter_append(struct logwriter *lw, const unsigned char *const *entries, const size_t *lens,
                     size_t n, char *err, size_t errlen);
/*
 * If the tree grew since the last signed checkpoint (or none was ever signed), checks the
 * consistency proof from that checkpoint to the current tree, signs a checkpoint for the
 * current size and root, keeps it as checkpoints/<size>, then replaces checkpoint atomically.
 * now_ms is recorded as the signing time (logwriter_signed_ms). 0 (also when there was
 * nothing to sign), or -1 with the reason (and nothing signed).
 */
int logwriter_checkpoint(struct logwriter *lw, int64_t now_ms, char *err, size_t errlen);
/* Time passed to the last successful logwriter_checkpoint that signed (0 if none). */
int64_t logwriter_signed_ms(const struct logwriter *lw);
/* The signed checkpoint last written, malloc'd (caller frees), or NULL if none. */
char *logwriter_signed_checkpoint(struct logwriter *lw, size_t *len);
/* Root of the tree of the first size entries (size <= logwriter_size). 0 / -1. */
int logwriter_root(struct logwriter *lw, uint64_t size, unsigned char out[32], char *err,
                   size_t errlen);
/*
 * Audit path for entry index in the tree of size entries (index < size <= logwriter_size),
 * read from the tiles. out has room for TLOG_PROOF_MAX (64) hashes; *count gets the length.
 */
int logwriter_inclusion_proof(struct logwriter *lw, uint64_t index, uint64_t size,
                              unsigned char (*out)[32], size_t *count, char *err, size_t errlen);
/* Consistency proof from old_size to new_size (old_size <= new_size <= logwriter_size). */
int logwriter_consistency_proof(struct logwriter *lw, uint64_t old_size, uint64_t new_size,
                                unsigned char (*out)[32], size_t *count, char *err, size_t errlen);
/* The verifier key "<origin>+<key id>+<base64 key>", malloc'd (caller frees). */
char *logwriter_vkey(const struct logwriter *lw);
/* Closes the directory and wipes the key copy. Accepts NULL. */
void logwriter_free(struct logwriter *lw);

#endif
