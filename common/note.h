/* note.h: C2SP signed-note (Ed25519) signing and verification, and tlog-checkpoint text. */
#ifndef TBSC_NOTE_H
#define TBSC_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "tlog.h"

/* Bounds on what we sign and what we accept from others. */
#define NOTE_MAX_BYTES          65536
#define NOTE_NAME_MAX           255
#define NOTE_MAX_SIGS           100
#define NOTE_ALG_ED25519        0x01
#define NOTE_CHECKPOINT_EXT_MAX 1024

/* A verifier key: the key name, its 32-bit key id and the Ed25519 public key. */
struct note_verifier {
	char name[NOTE_NAME_MAX + 1];
	uint32_t keyid;
	unsigned char pk[32];
};

/* 1 when name (len bytes) is a valid key name: non-empty UTF-8, no Unicode space, no '+'. */
int note_name_valid(const char *name, size_t len);
/* The key id: the first 4 bytes (big-endian) of SHA-256(name || 0x0A || 0x01 || pk). */
uint32_t note_keyid(const char *name, const unsigned char pk[32]);
/* "<name>+<hex8 key id>+<base64(0x01 || pk)>", malloc'd (caller frees); NULL if name invalid. */
char *note_vkey(const char *name, const unsigned char pk[32]);
/* Parses a vkey string (the key id must match name and key). 0, or -1 with the reason. */
int note_verifier_parse(struct note_verifier *v, const char *vkey, char *err, size_t errlen);
/* Fills v from a name and an Ed25519 public key. 0, or -1 if the name is invalid. */
int note_verifier_from_key(struct note_verifier *v, const char *name, const unsigned char pk[32],
                           char *err, size_t errlen);

/*
 * Signs text (textlen bytes, valid note text ending in '\n') with the libsodium Ed25519
 * secret key sk under name. *out receives the malloc'd signed note (caller frees), *outlen
 * its length. 0, or -1 with the reason.
 */
int note_sign(const char *text, size_t textlen, const char *name, const unsigned char sk[64],
              char **out, size_t *outlen, char *err, size_t errlen);
/*
 * Checks a signed note the way Go's note.Open does: well-formed, and signed by v (signatures
 * by other keys are ignored; a bad signature by v rejects the note). On success *textlen is
 * the length of the signed text at the start of msg. 0, or -1 with the reason.
 */
int note_open(const char *msg, size_t len, const struct note_verifier *v, size_t *textlen,
              char *err, size_t errlen);

/* A tlog-checkpoint: origin, tree size, root hash, and opaque extension lines (each ending '\n').
 */
struct note_checkpoint {
	char origin[NOTE_NAME_MAX + 1];
	uint64_t size;
	tlog_hash root;
	char ext[NOTE_CHECKPOINT_EXT_MAX + 1];
};

/* Writes the checkpoint text into buf (room for cap bytes, NUL added); *len its length. 0 / -1. */
int note_checkpoint_format(const struct note_checkpoint *c, char *buf, size_t cap, size_t *len,
                           char *err, size_t errlen);
/* Strictly parses checkpoint text (exactly what note_checkpoint_format writes). 0 / -1. */
int note_checkpoint_parse(const char *text, size_t len, struct note_checkpoint *c, char *err,
                          size_t errlen);
/* note_open then note_checkpoint_parse of the signed text. 0 / -1 with the reason. */
int note_checkpoint_open(const char *msg, size_t len, const struct note_verifier *v,
                         struct note_checkpoint *c, char *err, size_t errlen);
/* Formats and signs a checkpoint; *out malloc'd (caller frees). 0 / -1. */
int note_checkpoint_sign(const struct note_checkpoint *c, const char *name,
                         const unsigned char sk[64], char **out, size_t *outlen, char *err,
                         size_t errlen);

#endif
