/* keyfile.c: key generation and the minisign-like secret and public key file formats. */
#include "keyfile.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Secret: "TS" ver kdf kid[8] then sk[64] (kdf 0) or salt[16] ops[8] mem[8] nonce[24] box[80] (kdf
 * 1). */
#define SECRET_PLAIN_BYTES (4 + KEY_ID_BYTES + KEY_SK_BYTES)
#define SECRET_SEALED_BYTES                                                                        \
	(4 + KEY_ID_BYTES + crypto_pwhash_SALTBYTES + 16 + crypto_secretbox_NONCEBYTES +           \
	 crypto_secretbox_MACBYTES + KEY_SK_BYTES)
#define PUBLIC_BYTES (3 + KEY_ID_BYTES + KEY_PK_BYTES)
#define KEYFILE_MAX  4096

void key_id(const uint8_t pk[KEY_PK_BYTES], uint8_t kid[KEY_ID_BYTES])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, pk, KEY_PK_BYTES);
	memcpy(kid, h, KEY_ID_BYTES);
}

static struct keypair *keypair_alloc(void)
{
	struct keypair *kp = xcalloc(1, sizeof *kp);
	kp->sk = sodium_malloc(KEY_SK_BYTES);
	kp->xsk = sodium_malloc(32);
	if (kp->sk == NULL || kp->xsk == NULL)
		fatal("sodium_malloc failed");
	return kp;
}

static int keypair_derive(struct keypair *kp)
{
	crypto_sign_ed25519_sk_to_pk(kp->pk, kp->sk);
	key_id(kp->pk, kp->kid);
	if (crypto_sign_ed25519_pk_to_curve25519(kp->xpk, kp->pk) != 0)
		return -1;
	return crypto_sign_ed25519_sk_to_curve25519(kp->xsk, kp->sk);
}

struct keypair *keypair_generate(void)
{
	struct keypair *kp = keypair_alloc();
	crypto_sign_keypair(kp->pk, kp->sk);
	if (keypair_derive(kp) != 0)
		fatal("cannot derive X25519 key");
	return kp;
}

void keypair_free(struct keypair *kp)
{
	if (kp == NULL)
		return;
	sodium_free(kp->sk);
	sodium_free(kp->xsk);
	sodium_memzero(kp, sizeof *kp);
	free(kp);
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int write_keyfile(const char *path, const char *text, int mode, bool force, char *err,
                         size_t errlen)
{
	if (force)
		return file_write_atomic(path, text, strlen(text), mode, err, errlen);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return seterr(err, errlen,
			              "%s: tệp đã tồn tại, dùng --force để ghi đè / file exists, "
			              "use --force to overwrite",
			              path);
		return seterr(err, errlen, "%s: %s", path, strerror(errno));
	}
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	if (n != (ssize_t)len || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(path);
		return seterr(err, errlen, "%s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

int keyfile_write_secret(const char *path, const struct keypair *kp, const char *passphrase,
                         bool force, char *err, size_t errlen)
{
	uint8_t *blob = sodium_malloc(SECRET_SEALED_BYTES);
	char kidhex[2 * KEY_ID_BYTES + 1];
	size_t len;
	int rc = -1;
	if (blob == NULL)
		fatal("sodium_malloc failed");
	hex_encode(kidhex, kp->kid, KEY_ID_BYTES);
	blob[0] = 'T';
	blob[1] = 'S';
	blob[2] = 1;
	blob[3] = passphrase != NULL ? 1 : 0;
	memcpy(blob + 4, kp->kid, KEY_ID_BYTES);
	if (passphrase == NULL) {
		memcpy(blob + 4 + KEY_ID_BYTES, kp->sk, KEY_SK_BYTES);
		len = SECRET_PLAIN_BYTES;
	} else {
		uint8_t *p = blob + 4 + KEY_ID_BYTES;
		uint8_t *salt = p, *nonce = p + crypto_pwhash_SALTBYTES + 16;
		uint64_t ops = crypto_pwhash_OPSLIMIT_INTERACTIVE,
		         mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
		randombytes_buf(salt, crypto_pwhash_SALTBYTES);
		put_u64(p + crypto_pwhash_SALTBYTES, ops);
		put_u64(p + crypto_pwhash_SALTBYTES + 8, mem);
		randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
		if (key == NULL)
			fatal("sodium_malloc failed");
		if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, passphrase, strlen(passphrase),
		                  salt, ops, (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
			sodium_free(key);
			seterr(err, errlen, "Argon2id: không đủ bộ nhớ / out of memory");
			goto cleanup;
		}
		crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES, kp->sk, KEY_SK_BYTES,
		                      nonce, key);
		sodium_free(key);
		len = SECRET_SEALED_BYTES;
	}
	char *b64 = b64_encode(blob, len);
	char *text = xasprintf("untrusted comment: TBSC secret key %s\n%s\n", kidhex, b64);
	sodium_memzero(b64, strlen(b64));
	free(b64);
	rc = write_keyfile(path, text, 0600, force, err, errlen);
	sodium_memzero(text, strlen(text));
	free(text);
cleanup:
	sodium_free(blob);
	return rc;
}

char *keyfile_public_line(const uint8_t pk[KEY_PK_BYTES])
{
	uint8_t blob[PUBLIC_BYTES];
	blob[0] = 'T';
	blob[1] = 'P';
	blob[2] = 1;
	key_id(pk, blob + 3);
	memcpy(blob + 3 + KEY_ID_BYTES, pk, KEY_PK_BYTES);
	return b64_encode(blob, sizeof blob);
}

int keyfile_write_public(const char *path, const struct keypair *kp, const char *comment,
                         bool force, char *err, size_t errlen)
{
	char kidhex[2 * KEY_ID_BYTES + 1];
	hex_encode(kidhex, kp->kid, KEY_ID_BYTES);
	char *line = keyfile_public_line(kp->pk);
	char *text = xasprintf("untrusted comment: TBSC public key %s%s%s\n%s\n", kidhex,
	                       comment ? " " : "", comment ? comment : "", line);
	int rc = write_keyfile(path, text, 0644, force, err, errlen);
	free(line);
	free(text);
	return rc;
}

/* The base64 line of a key file: the second line, or the only line. */
static int key_line(const char *path, char **out, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	if (file_read_all(path, KEYFILE_MAX, &buf, &len, err, errlen) != 0)
		return -1;
	buf = xrealloc(buf, len + 1);
	buf[len] = '\0';
	char *text = (char *)buf, *line = text;
	if (strncmp(text, "untrusted comment:", 18) == 0) {
		line = strchr(text, '\n');
		if (line == NULL) {
			sodium_memzero(buf, len);
			free(buf);
			return seterr(err, errlen, "%s: thiếu dòng khóa / missing key line", path);
		}
		line++;
	}
	size_t n = strcspn(line, "\r\n");
	char *copy = xmalloc(n + 1);
	memcpy(copy, line, n);
	copy[n] = '\0';
	const char *rest = line + n;
	while (*rest == '\r' || *rest == '\n')
		rest++;
	bool trailing = *rest != '\0';
	sodium_memzero(buf, len);
	free(buf);
	if (trailing) {
		free(copy);
		return seterr(err, errlen,
		              "%s: dữ liệu thừa sau khóa / trailing data after the key", path);
	}
	*out = copy;
	return 0;
}

bool keyfile_is_protected(const char *path)
{
	char *line = NULL, err[ERRBUF_MAX];
	uint8_t blob[SECRET_SEALED_BYTES];
	if (key_line(path, &line, err, sizeof err) != 0)
		return false;
	long n = b64_decode(blob, sizeof blob, line, strlen(line));
	free(line);
	bool prot = n >= 4 && blob[3] == 1;
	sodium_memzero(blob, sizeof blob);
	return prot;
}

struct keypair *keyfile_read_secret(const char *path, const char *passphrase, char *err,
                                    size_t errlen)
{
	char *line = NULL;
	struct keypair *kp = NULL;
	uint8_t *blob = sodium_malloc(SECRET_SEALED_BYTES);
	if (blob == NULL)
		fatal("sodium_malloc failed");
	if (key_line(path, &line, err, errlen) != 0)
		goto fail;
	long n = b64_decode(blob, SECRET_SEALED_BYTES, line, strlen(line));
	sodium_memzero(line, strlen(line));
	free(line);
	if (n < 4 || blob[0] != 'T' || blob[1] != 'S' || blob[2] != 1) {
		seterr(err, errlen, "%s: không phải khóa bí mật TBSC / not a TBSC secret key",
		       path);
		goto fail;
	}
	kp = keypair_alloc();
	if (blob[3] == 0 && n == SECRET_PLAIN_BYTES) {
		memcpy(kp->sk, blob + 4 + KEY_ID_BYTES, KEY_SK_BYTES);
	} else if (blob[3] == 1 && n == SECRET_SEALED_BYTES) {
		if (passphrase == NULL) {
			seterr(err, errlen,
			       "%s: khóa được bảo vệ bằng mật khẩu / key needs a passphrase", path);
			goto fail;
		}
		const uint8_t *p = blob + 4 + KEY_ID_BYTES;
		uint64_t ops = get_u64(p + crypto_pwhash_SALTBYTES);
		uint64_t mem = get_u64(p + crypto_pwhash_SALTBYTES + 8);
		const uint8_t *nonce = p + crypto_pwhash_SALTBYTES + 16;
		if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > 16 ||
		    mem < crypto_pwhash_MEMLIMIT_MIN || mem > (1ull << 31)) {
			seterr(err, errlen,
			       "%s: tham số Argon2id không hợp lệ / bad Argon2id parameters", path);
			goto fail;
		}
		uint8_t *key = sodium_malloc(crypto_secretbox_KEYBYTES);
		if (key == NULL)
			fatal("sodium_malloc failed");
		if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, passphrase, strlen(passphrase), p,
		                  ops, (size_t)mem, crypto_pwhash_ALG_ARGON2ID13) != 0 ||
		    crypto_secretbox_open_easy(kp->sk, nonce + crypto_secretbox_NONCEBYTES,
		                               crypto_secretbox_MACBYTES + KEY_SK_BYTES, nonce,
		                               key) != 0) {
			sodium_free(key);
			seterr(err, errlen, "%s: sai mật khẩu / wrong passphrase", path);
			goto fail;
		}
		sodium_free(key);
	} else {
		seterr(err, errlen, "%s: độ dài khóa sai / wrong key length", path);
		goto fail;
	}
	if (keypair_derive(kp) != 0 || sodium_memcmp(kp->kid, blob + 4, KEY_ID_BYTES) != 0) {
		seterr(err, errlen,
		       "%s: mã khóa không khớp, tệp hỏng / key id mismatch, corrupt file", path);
		goto fail;
	}
	sodium_free(blob);
	return kp;
fail:
	sodium_free(blob);
	keypair_free(kp);
	return NULL;
}

int keyfile_parse_public(const char *b64, uint8_t pk[KEY_PK_BYTES], uint8_t kid[KEY_ID_BYTES],
                         char *err, size_t errlen)
{
	uint8_t blob[PUBLIC_BYTES + 1];
	long n = b64_decode(blob, sizeof blob, b64, strlen(b64));
	if (n != PUBLIC_BYTES || blob[0] != 'T' || blob[1] != 'P' || blob[2] != 1)
		return seterr(err, errlen,
		              "không phải khóa công khai TBSC / not a TBSC public key");
	uint8_t want[KEY_ID_BYTES];
	key_id(blob + 3 + KEY_ID_BYTES, want);
	if (memcmp(want, blob + 3, KEY_ID_BYTES) != 0)
		return seterr(err, errlen,
		              "mã khóa không khớp khóa / key id does not match the key");
	memcpy(pk, blob + 3 + KEY_ID_BYTES, KEY_PK_BYTES);
	memcpy(kid, want, KEY_ID_BYTES);
	return 0;
}

int keyfile_read_public(const char *path, uint8_t pk[KEY_PK_BYTES], uint8_t kid[KEY_ID_BYTES],
                        char *err, size_t errlen)
{
	char *line = NULL;
	if (key_line(path, &line, err, errlen) != 0)
		return -1;
	char inner[ERRBUF_MAX];
	int rc = keyfile_parse_public(line, pk, kid, inner, sizeof inner);
	free(line);
	if (rc != 0)
		return seterr(err, errlen, "%s: %s", path, inner);
	return 0;
}
