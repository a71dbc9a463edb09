/* mpack.h: strict, bounded msgpack decoding on top of msgpack-c. */
#ifndef TBSC_MPACK_H
#define TBSC_MPACK_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MPACK_MAX_DEPTH 4

/*
 * Checks that buf holds exactly one well-formed msgpack object: every length fits in
 * the buffer, no container claims more elements than bytes remain, nesting is at most
 * max_depth, no ext or float types, every str is valid UTF-8, and no bytes trail.
 * Runs before msgpack-c allocates anything, so a hostile length costs nothing.
 */
int mpack_check(const uint8_t *buf, size_t len, unsigned max_depth, char *err, size_t errlen);

/* mpack_check, then msgpack_unpack into zone; *out points into zone-owned memory. */
int mpack_decode(const uint8_t *buf, size_t len, unsigned max_depth, msgpack_zone *zone,
                 msgpack_object *out, char *err, size_t errlen);

/* Map access: the object must be a map whose keys are distinct strs from `allowed`
 * (NULL-terminated). */
int mpack_map_check(const msgpack_object *map, const char *const *allowed, const char *what,
                    char *err, size_t errlen);
/* Value for key in map, or NULL. */
const msgpack_object *mpack_map_get(const msgpack_object *map, const char *key);

/* Typed reads. Each returns 0, or -1 with "<key>: reason" in err. */
int mpack_get_str(const msgpack_object *map, const char *key, bool required, size_t maxlen,
                  char **out, char *err, size_t errlen);
int mpack_get_bin(const msgpack_object *map, const char *key, size_t exact, uint8_t *out, char *err,
                  size_t errlen);
int mpack_get_bin_var(const msgpack_object *map, const char *key, size_t maxlen,
                      const uint8_t **out, size_t *outlen, char *err, size_t errlen);
int mpack_get_uint(const msgpack_object *map, const char *key, bool required, uint64_t max,
                   uint64_t *out, char *err, size_t errlen);
int mpack_get_bool(const msgpack_object *map, const char *key, bool required, bool *out, char *err,
                   size_t errlen);

/* A growable output buffer for msgpack-c's packer (msgpack_sbuffer); caller frees data. */
void mpack_pack_str(msgpack_packer *pk, const char *s);
void mpack_pack_bin(msgpack_packer *pk, const uint8_t *b, size_t n);

/* True when s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
bool utf8_valid(const uint8_t *s, size_t len);

#endif
