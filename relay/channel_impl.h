/* channel_impl.h: helpers shared by the channel implementations (not part of the public API). */
#ifndef TBSC_CHANNEL_IMPL_H
#define TBSC_CHANNEL_IMPL_H

#include "channel.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A peer may ask for at most this delay (Retry-After); larger values are clamped. */
#define CHANNEL_RETRY_AFTER_MAX 86400

/* Fill r; detail is formatted, then made one printable line (controls become spaces) and cut
 * at 255 bytes on a UTF-8 character boundary. */
void channel_result(struct delivery_result *r, enum delivery_outcome outcome, int code,
                    int retry_after, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Copy src (len bytes) into dst (cap bytes) as one printable line: CR, LF, TAB and other
 * controls become spaces, runs of spaces collapse, invalid UTF-8 becomes '?', the end is cut
 * on a character boundary. dst is always NUL-terminated. */
void channel_sanitize(char *dst, size_t cap, const char *src, size_t len);

/* Outcome of a final HTTP status for webhooks and generic SMS gateways: 2xx OK, 410 GONE,
 * 408/429/5xx TEMPORARY, 3xx and other 4xx PERMANENT, anything else TEMPORARY. */
enum delivery_outcome channel_http_outcome(long status);

/* Seconds to wait from a Retry-After value (delta-seconds, or an HTTP-date in IMF-fixdate,
 * RFC 850 or asctime form) relative to now (Unix seconds); 0 when absent, malformed or in the
 * past; at most CHANNEL_RETRY_AFTER_MAX. */
int channel_parse_retry_after(const char *value, int64_t now);

/* true when s is valid UTF-8 (no overlongs, surrogates or values above U+10FFFF). */
bool channel_utf8_valid(const char *s, size_t len);

/* true when s is non-empty, at most max bytes and every byte is in [A-Za-z0-9._-]. */
bool channel_token_valid(const char *s, size_t max);

/* true when s contains no CR, LF or NUL-before-end and no other control character. */
bool channel_header_value_valid(const char *s);

/* NULL for NULL or "", else s: the configuration uses "" for "not set". */
const char *channel_opt(const char *s);

/* What an HTTP exchange returned, filled by the two callbacks below (libcurl's
 * CURLOPT_HEADERFUNCTION / CURLOPT_WRITEFUNCTION signatures): the start of the body, and the
 * Retry-After and Location headers of the last response. */
#define CHANNEL_BODY_SNIP 160
struct channel_http_reply {
	char body[CHANNEL_BODY_SNIP + 1];
	size_t body_len;
	char retry_after[64];
	char location[128];
};
size_t channel_http_on_header(char *buf, size_t size, size_t n, void *reply);
size_t channel_http_on_body(char *buf, size_t size, size_t n, void *reply);

/* A growable byte buffer; xrealloc on growth (allocation failure is fatal). */
struct channel_buf {
	char *data;
	size_t len, cap;
};
void channel_buf_add(struct channel_buf *b, const void *p, size_t n);
void channel_buf_adds(struct channel_buf *b, const char *s);
void channel_buf_printf(struct channel_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ensures a terminating NUL (not counted in len). */
void channel_buf_nul(struct channel_buf *b);
void channel_buf_free(struct channel_buf *b);

#endif
