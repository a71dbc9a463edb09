/* util.h: allocation that never returns NULL, logging, hex and base64 helpers. */
#ifndef TBSC_UTIL_H
#define TBSC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define ERRBUF_MAX 256

/* Allocation failure is fatal here and nowhere else. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
void log_set_level(enum log_level level);
void log_set_prefix(const char *prefix);
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Fill err (size errlen) with a formatted reason; returns -1 so callers can `return seterr(...)`.
 */
int seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void hex_encode(char *out, const uint8_t *in, size_t len);
/* Decode exactly outlen bytes from a 2*outlen hex string; 0 on success, -1 otherwise. */
int hex_decode(uint8_t *out, size_t outlen, const char *in);

/* Standard base64 with padding. b64_encode returns a malloc'd string (caller frees). */
char *b64_encode(const uint8_t *in, size_t len);
/* Decodes into out (capacity cap); returns the decoded length or -1 on bad input / overflow. */
long b64_decode(uint8_t *out, size_t cap, const char *in, size_t inlen);

/* Wall clock in milliseconds and seconds since the Unix epoch. */
int64_t now_ms(void);
int64_t now_s(void);

/* Read a whole file (at most max bytes) into a malloc'd buffer; 0 or -1 with err. */
int file_read_all(const char *path, size_t max, uint8_t **out, size_t *outlen, char *err,
                  size_t errlen);
/* Write a file atomically (temp file in the same directory, fsync, rename, fsync dir). */
int file_write_atomic(const char *path, const void *data, size_t len, int mode, char *err,
                      size_t errlen);

#endif
