/* keyfile.h: agency and relay keypairs (Ed25519, X25519 derived) and their files. */
#ifndef TBSC_KEYFILE_H
#define TBSC_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_ID_BYTES 8
#define KEY_PK_BYTES 32
#define KEY_SK_BYTES 64

/* A keypair; sk, xsk live in sodium_malloc'd memory and are wiped by keypair_free. */
struct keypair {
	uint8_t pk[KEY_PK_BYTES];
	uint8_t kid[KEY_ID_BYTES];
	uint8_t xpk[32];
	uint8_t *sk;  /* 64 bytes, libsodium Ed25519 secret key */
	uint8_t *xsk; /* 32 bytes, X25519 secret derived from sk */
};

/* Key id: the first 8 bytes of SHA-256(public key). */
void key_id(const uint8_t pk[KEY_PK_BYTES], uint8_t kid[KEY_ID_BYTES]);

/* A fresh random keypair; caller frees with keypair_free. */
struct keypair *keypair_generate(void);
void keypair_free(struct keypair *kp);

/*
 * Writes the secret key file: mode 0600, O_EXCL|O_NOFOLLOW unless force (then replaced
 * atomically). With a passphrase the key is sealed under Argon2id + XSalsa20-Poly1305.
 */
int keyfile_write_secret(const char *path, const struct keypair *kp, const char *passphrase,
                         bool force, char *err, size_t errlen);
/* Writes the public key file (comment line + one base64 line); same overwrite rule. */
int keyfile_write_public(const char *path, const struct keypair *kp, const char *comment,
                         bool force, char *err, size_t errlen);

/* True when the secret key file at path needs a passphrase. */
bool keyfile_is_protected(const char *path);
/* Reads a secret key file (passphrase NULL when unprotected); NULL with err on failure. */
struct keypair *keyfile_read_secret(const char *path, const char *passphrase, char *err,
                                    size_t errlen);
/* Reads a public key file, or parses the base64 line itself (keyfile_parse_public). */
int keyfile_read_public(const char *path, uint8_t pk[KEY_PK_BYTES], uint8_t kid[KEY_ID_BYTES],
                        char *err, size_t errlen);
int keyfile_parse_public(const char *b64, uint8_t pk[KEY_PK_BYTES], uint8_t kid[KEY_ID_BYTES],
                         char *err, size_t errlen);
/* The base64 public key line for kp->pk (malloc'd). */
char *keyfile_public_line(const uint8_t pk[KEY_PK_BYTES]);

#endif
