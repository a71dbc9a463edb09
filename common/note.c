/* note.c: C2SP signed-note (Ed25519) signing and verification, and tlog-checkpoint text. */
#include "note.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* "— " : U+2014 EM DASH then a space starts every signature line. */
static const char sig_prefix[] = "\xe2\x80\x94 ";
#define SIG_PREFIX_LEN 4

/*
 * Decodes one UTF-8 sequence at s (n bytes left): returns its length and the code point in
 * *cp, or 0 for an invalid, overlong or surrogate sequence.
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t len;
	uint32_t c, min;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Unicode White_Space, as Go's unicode.IsSpace. */
static int is_unicode_space(uint32_t c)
{
	switch (c) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return 1;
	default:
		return c >= 0x2000 && c <= 0x200a;
	}
}

int note_name_valid(const char *name, size_t len)
{
	const unsigned char *s = (const unsigned char *)name;
	if (len == 0 || len > NOTE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t n = utf8_decode(s + i, len - i, &c);
		if (n == 0 || c == 0 || c == '+' || is_unicode_space(c))
			return 0;
		i += n;
	}
	return 1;
}

/* Valid UTF-8 with no ASCII control character but '\n'. */
static int text_valid(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		uint32_t c;
		size_t n = utf8_decode(s + i, len - i, &c);
		if (n == 0 || (c < 0x20 && c != '\n'))
			return 0;
		i += n;
	}
	return 1;
}

uint32_t note_keyid(const char *name, const unsigned char pk[32])
{
	static const unsigned char sep[2] = {'\n', NOTE_ALG_ED25519};
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)name, strlen(name));
	crypto_hash_sha256_update(&st, sep, sizeof sep);
	crypto_hash_sha256_update(&st, pk, 32);
	crypto_hash_sha256_final(&st, h);
	return ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) | ((uint32_t)h[2] << 8) | h[3];
}

char *note_vkey(const char *name, const unsigned char pk[32])
{
	unsigned char key[33];
	if (!note_name_valid(name, strlen(name)))
		return NULL;
	key[0] = NOTE_ALG_ED25519;
	memcpy(key + 1, pk, 32);
	char *b64 = b64_encode(key, sizeof key);
	char *out = xasprintf("%s+%08x+%s", name, note_keyid(name, pk), b64);
	free(b64);
	return out;
}

int note_verifier_from_key(struct note_verifier *v, const char *name, const unsigned char pk[32],
                           char *err, size_t errlen)
{
	size_t len = strlen(name);
	if (!note_name_valid(name, len))
		return seterr(err, errlen, "invalid key name");
	memcpy(v->name, name, len + 1);
	memcpy(v->pk, pk, 32);
	v->keyid = note_keyid(name, pk);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int note_verifier_parse(struct note_verifier *v, const char *vkey, char *err, size_t errlen)
{
	const char *p1 = strchr(vkey, '+');
	const char *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
	unsigned char key[34];
	uint32_t id = 0;
	if (p1 == NULL || p2 == NULL)
		return seterr(err, errlen, "verifier key is not <name>+<key id>+<key>");
	size_t nlen = (size_t)(p1 - vkey);
	if (!note_name_valid(vkey, nlen))
		return seterr(err, errlen, "verifier key has an invalid name");
	if (p2 - p1 - 1 != 8)
		return seterr(err, errlen, "verifier key id is not 8 hex digits");
	for (int i = 0; i < 8; i++) {
		int d = hexval(p1[1 + i]);
		if (d < 0)
			return seterr(err, errlen, "verifier key id is not 8 hex digits");
		id = (id << 4) | (uint32_t)d;
	}
	long n = b64_decode(key, sizeof key, p2 + 1, strlen(p2 + 1));
	if (n != 33)
		return seterr(err, errlen, "verifier key is not base64 of 33 bytes");
	if (key[0] != NOTE_ALG_ED25519)
		return seterr(err, errlen, "verifier key algorithm %u is not Ed25519 (1)", key[0]);
	memcpy(v->name, vkey, nlen);
	v->name[nlen] = '\0';
	memcpy(v->pk, key + 1, 32);
	v->keyid = note_keyid(v->name, v->pk);
	if (v->keyid != id)
		return seterr(err, errlen, "verifier key id %08x does not match the key (%08x)", id,
		              v->keyid);
	return 0;
}

int note_sign(const char *text, size_t textlen, const char *name, const unsigned char sk[64],
              char **out, size_t *outlen, char *err, size_t errlen)
{
	unsigned char sig[4 + crypto_sign_BYTES];
	size_t nlen = strlen(name);
	if (!note_name_valid(name, nlen))
		return seterr(err, errlen, "invalid key name");
	if (textlen == 0 || text[textlen - 1] != '\n' || !text_valid(text, textlen))
		return seterr(err, errlen,
		              "note text must be UTF-8 without control characters, "
		              "ending in a newline");
	if (textlen > NOTE_MAX_BYTES / 2)
		return seterr(err, errlen, "note text too long");
	uint32_t id = note_keyid(name, sk + 32);
	sig[0] = (unsigned char)(id >> 24);
	sig[1] = (unsigned char)(id >> 16);
	sig[2] = (unsigned char)(id >> 8);
	sig[3] = (unsigned char)id;
	crypto_sign_detached(sig + 4, NULL, (const unsigned char *)text, textlen, sk);
	char *b64 = b64_encode(sig, sizeof sig);
	size_t blen = strlen(b64);
	size_t total = textlen + 1 + SIG_PREFIX_LEN + nlen + 1 + blen + 1;
	char *buf = xmalloc(total + 1);
	char *p = buf;
	memcpy(p, text, textlen);
	p += textlen;
	*p++ = '\n';
	memcpy(p, sig_prefix, SIG_PREFIX_LEN);
	p += SIG_PREFIX_LEN;
	memcpy(p, name, nlen);
	p += nlen;
	*p++ = ' ';
	memcpy(p, b64, blen);
	p += blen;
	*p++ = '\n';
	*p = '\0';
	free(b64);
	*out = buf;
	*outlen = total;
	return 0;
}

int note_open(const char *msg, size_t len, const struct note_verifier *v, size_t *textlen,
              char *err, size_t errlen)
{
	if (len > NOTE_MAX_BYTES)
		return seterr(err, errlen, "note larger than %d bytes", NOTE_MAX_BYTES);
	if (!text_valid(msg, len))
		return seterr(err, errlen, "malformed note: invalid UTF-8 or control characters");
	/* The signature block follows the last blank line. */
	size_t split = len;
	for (size_t i = len; i >= 2; i--) {
		if (msg[i - 2] == '\n' && msg[i - 1] == '\n') {
			split = i - 2;
			break;
		}
	}
	if (split == len)
		return seterr(err, errlen, "malformed note: no blank line before the signatures");
	size_t tlen = split + 1;
	const char *sigs = msg + split + 2, *end = msg + len;
	if (sigs == end || end[-1] != '\n')
		return seterr(err, errlen,
		              "malformed note: signature block missing or unterminated");

	int nsigs = 0, verified = 0;
	while (sigs < end) {
		const char *eol = memchr(sigs, '\n', (size_t)(end - sigs));
		size_t llen = (size_t)(eol - sigs);
		if (llen < SIG_PREFIX_LEN || memcmp(sigs, sig_prefix, SIG_PREFIX_LEN) != 0)
			return seterr(err, errlen, "malformed note: signature line without \"— \"");
		const char *name = sigs + SIG_PREFIX_LEN;
		const char *sp = memchr(name, ' ', (size_t)(eol - name));
		if (sp == NULL)
			return seterr(err, errlen,
			              "malformed note: signature line without a space");
		size_t nlen = (size_t)(sp - name);
		const char *b64 = sp + 1;
		size_t b64len = (size_t)(eol - b64);
		unsigned char sig[8192]; /* room for large signatures by other keys (ML-DSA) */
		long slen = b64len ? b64_decode(sig, sizeof sig, b64, b64len) : -1;
		if (!note_name_valid(name, nlen) || slen < 5)
			return seterr(err, errlen, "malformed note: bad signature line");
		if (++nsigs > NOTE_MAX_SIGS)
			return seterr(err, errlen, "note has more than %d signatures",
			              NOTE_MAX_SIGS);
		uint32_t id = ((uint32_t)sig[0] << 24) | ((uint32_t)sig[1] << 16) |
		              ((uint32_t)sig[2] << 8) | sig[3];
		sigs = eol + 1;
		if (nlen != strlen(v->name) || memcmp(name, v->name, nlen) != 0 || id != v->keyid)
			continue; /* someone else's signature (a witness, a rotated key) */
		if (verified)
			continue; /* Go drops repeated signatures by one key */
		if (slen != 4 + crypto_sign_BYTES ||
		    crypto_sign_verify_detached(sig + 4, (const unsigned char *)msg, tlen, v->pk) !=
		        0)
			return seterr(err, errlen, "invalid signature for key %s+%08x", v->name,
			              v->keyid);
		verified = 1;
	}
	if (!verified)
		return seterr(err, errlen, "note has no signature by key %s+%08x", v->name,
		              v->keyid);
	*textlen = tlen;
	return 0;
}

int note_checkpoint_format(const struct note_checkpoint *c, char *buf, size_t cap, size_t *len,
                           char *err, size_t errlen)
{
	size_t olen = strnlen(c->origin, sizeof c->origin);
	if (olen == 0 || olen > NOTE_NAME_MAX || !text_valid(c->origin, olen) ||
	    memchr(c->origin, '\n', olen) != NULL)
		return seterr(err, errlen, "invalid checkpoint origin");
	if (c->size > TLOG_SIZE_MAX)
		return seterr(err, errlen, "tree size too large");
	char *b64 = b64_encode(c->root, TLOG_HASH_SIZE);
	int n = snprintf(buf, cap, "%s\n%llu\n%s\n%s", c->origin, (unsigned long long)c->size, b64,
	                 c->ext);
	free(b64);
	if (n < 0 || (size_t)n >= cap)
		return seterr(err, errlen, "checkpoint text does not fit in %zu bytes", cap);
	/* Refuse to produce what the strict parser would reject (e.g. a bad extension line). */
	struct note_checkpoint check;
	if (note_checkpoint_parse(buf, (size_t)n, &check, err, errlen) != 0)
		return -1;
	*len = (size_t)n;
	return 0;
}

/* Next line of text[*off..len), without its '\n'; -1 if no '\n' terminates it. */
static int next_line(const char *text, size_t len, size_t *off, const char **line, size_t *llen)
{
	const char *start = text + *off;
	const char *eol = memchr(start, '\n', len - *off);
	if (eol == NULL)
		return -1;
	*line = start;
	*llen = (size_t)(eol - start);
	*off = (size_t)(eol - text) + 1;
	return 0;
}

int note_checkpoint_parse(const char *text, size_t len, struct note_checkpoint *c, char *err,
                          size_t errlen)
{
	const char *line;
	size_t llen, off = 0;
	memset(c, 0, sizeof *c);
	if (len == 0 || text[len - 1] != '\n' || !text_valid(text, len))
		return seterr(err, errlen, "checkpoint text is not newline-terminated UTF-8");
	/* origin */
	if (next_line(text, len, &off, &line, &llen) != 0 || llen == 0)
		return seterr(err, errlen, "checkpoint origin line is empty");
	if (llen > NOTE_NAME_MAX)
		return seterr(err, errlen, "checkpoint origin longer than %d bytes", NOTE_NAME_MAX);
	memcpy(c->origin, line, llen);
	/* tree size: canonical decimal */
	if (next_line(text, len, &off, &line, &llen) != 0 || llen == 0 || llen > 20)
		return seterr(err, errlen, "checkpoint tree size line missing or too long");
	if (llen > 1 && line[0] == '0')
		return seterr(err, errlen, "checkpoint tree size has a leading zero");
	uint64_t size = 0;
	for (size_t i = 0; i < llen; i++) {
		if (line[i] < '0' || line[i] > '9')
			return seterr(err, errlen, "checkpoint tree size is not a decimal number");
		uint64_t d = (uint64_t)(line[i] - '0');
		if (size > (UINT64_MAX - d) / 10)
			return seterr(err, errlen, "checkpoint tree size overflows");
		size = size * 10 + d;
	}
	if (size > TLOG_SIZE_MAX)
		return seterr(err, errlen, "checkpoint tree size too large");
	c->size = size;
	/* root hash: padded standard base64 of 32 bytes, canonical */
	if (next_line(text, len, &off, &line, &llen) != 0 || llen != 44)
		return seterr(err, errlen, "checkpoint root hash is not 44 base64 characters");
	if (b64_decode(c->root, sizeof c->root, line, llen) != TLOG_HASH_SIZE)
		return seterr(err, errlen, "checkpoint root hash is not base64 of 32 bytes");
	char *again = b64_encode(c->root, TLOG_HASH_SIZE);
	int canonical = memcmp(again, line, 44) == 0;
	free(again);
	if (!canonical)
		return seterr(err, errlen, "checkpoint root hash is not canonical base64");
	if (size == 0) {
		tlog_hash empty;
		tlog_hash_empty(empty);
		if (memcmp(empty, c->root, TLOG_HASH_SIZE) != 0)
			return seterr(err, errlen,
			              "empty tree with a root other than SHA-256(\"\")");
	}
	/* extension lines: non-empty, kept verbatim */
	size_t ext_start = off;
	while (off < len) {
		if (next_line(text, len, &off, &line, &llen) != 0 || llen == 0)
			return seterr(err, errlen, "checkpoint has an empty extension line");
	}
	if (len - ext_start > NOTE_CHECKPOINT_EXT_MAX)
		return seterr(err, errlen, "checkpoint extension lines longer than %d bytes",
		              NOTE_CHECKPOINT_EXT_MAX);
	memcpy(c->ext, text + ext_start, len - ext_start);
	return 0;
}

int note_checkpoint_open(const char *msg, size_t len, const struct note_verifier *v,
                         struct note_checkpoint *c, char *err, size_t errlen)
{
	size_t tlen;
	if (note_open(msg, len, v, &tlen, err, errlen) != 0)
		return -1;
	return note_checkpoint_parse(msg, tlen, c, err, errlen);
}

int note_checkpoint_sign(const struct note_checkpoint *c, const char *name,
                         const unsigned char sk[64], char **out, size_t *outlen, char *err,
                         size_t errlen)
{
	char text[NOTE_NAME_MAX + NOTE_CHECKPOINT_EXT_MAX + 96];
	size_t len;
	if (note_checkpoint_format(c, text, sizeof text, &len, err, errlen) != 0)
		return -1;
	return note_sign(text, len, name, sk, out, outlen, err, errlen);
}
