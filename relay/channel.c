/* channel.c: channel names and the helpers the email, SMS and webhook channels share. */
#include "channel_impl.h"

#include "util.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *const channel_names[CHANNEL_KIND_COUNT] = {"email", "sms", "webhook"};

static const char *const outcome_names[] = {"OK", "TEMPORARY", "PERMANENT", "GONE"};

const char *delivery_outcome_name(enum delivery_outcome outcome)
{
	if ((unsigned)outcome < sizeof outcome_names / sizeof outcome_names[0])
		return outcome_names[outcome];
	return "UNKNOWN";
}

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 when it is not valid UTF-8. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	if (n == 0)
		return 0;
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned min;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	unsigned cp = c & (0xff >> (len + 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool channel_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		size_t k = utf8_seq(p + i, len - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

void channel_sanitize(char *dst, size_t cap, const char *src, size_t len)
{
	if (cap == 0)
		return;
	const unsigned char *p = (const unsigned char *)src;
	size_t o = 0, i = 0;
	bool space = true; /* drops leading spaces and collapses runs */
	while (i < len && o + 1 < cap) {
		unsigned c = p[i];
		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (!space)
				dst[o++] = ' ';
			space = true;
			i++;
			continue;
		}
		space = false;
		if (c < 0x80) {
			dst[o++] = (char)c;
			i++;
			continue;
		}
		size_t k = utf8_seq(p + i, len - i);
		if (k == 0) {
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + k + 1 > cap)
			break;
		memcpy(dst + o, p + i, k);
		o += k;
		i += k;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

void channel_result(struct delivery_result *r, enum delivery_outcome outcome, int code,
                    int retry_after, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	size_t len = (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1;
	r->outcome = outcome;
	r->code = code;
	r->retry_after = retry_after < 0 ? 0 : retry_after;
	channel_sanitize(r->detail, sizeof r->detail, tmp, len);
}

enum delivery_outcome channel_http_outcome(long status)
{
	if (status >= 200 && status <= 299)
		return DELIVERY_OK;
	if (status == 410)
		return DELIVERY_GONE;
	if (status == 408 || status == 429 || (status >= 500 && status <= 599))
		return DELIVERY_TEMPORARY;
	if (status >= 300 && status <= 499)
		return DELIVERY_PERMANENT;
	return DELIVERY_TEMPORARY;
}

static int month_index(const char *m)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	for (int i = 0; i < 12; i++)
		if (strcmp(m, months[i]) == 0)
			return i;
	return -1;
}

/* Parses the three HTTP-date forms of RFC 9110 §5.6.7 without the locale; -1 when malformed. */
static int64_t parse_http_date(const char *v)
{
	int day = 0, year = 0, hh = 0, mm = 0, ss = 0, end = -1;
	char mon[4] = "";
	bool matched = sscanf(v, "%*[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d GMT%n", &day, mon,
	                      &year, &hh, &mm, &ss, &end) == 6 &&
	               end > 0;
	if (!matched) {
		end = -1;
		matched = sscanf(v, "%*[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d GMT%n", &day, mon,
		                 &year, &hh, &mm, &ss, &end) == 6 &&
		          end > 0;
		if (matched)
			year += year < 70 ? 2000 : 1900;
	}
	if (!matched) {
		end = -1;
		matched = sscanf(v, "%*[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", mon, &day, &hh,
		                 &mm, &ss, &year, &end) == 6 &&
		          end > 0;
	}
	if (!matched)
		return -1;
	while (v[end] == ' ' || v[end] == '\t')
		end++;
	if (v[end] != '\0')
		return -1;
	int m = month_index(mon);
	if (m < 0 || day < 1 || day > 31 || year < 1970 || year > 9999 || hh > 23 || mm > 59 ||
	    ss > 60 || hh < 0 || mm < 0 || ss < 0)
		return -1;
	struct tm tm = {0};
	tm.tm_year = year - 1900;
	tm.tm_mon = m;
	tm.tm_mday = day;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (int64_t)t;
}

int channel_parse_retry_after(const char *value, int64_t now)
{
	if (value == NULL)
		return 0;
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value == '\0')
		return 0;
	if (isdigit((unsigned char)*value)) {
		int64_t secs = 0;
		const char *p = value;
		while (isdigit((unsigned char)*p)) {
			if (secs <= CHANNEL_RETRY_AFTER_MAX)
				secs = secs * 10 + (*p - '0');
			p++;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0')
			return 0;
		return secs > CHANNEL_RETRY_AFTER_MAX ? CHANNEL_RETRY_AFTER_MAX : (int)secs;
	}
	int64_t when = parse_http_date(value);
	if (when < 0 || when <= now)
		return 0;
	int64_t d = when - now;
	return d > CHANNEL_RETRY_AFTER_MAX ? CHANNEL_RETRY_AFTER_MAX : (int)d;
}

/* Copies the value of header line buf (len bytes) after its "Name:" prefix of plen bytes. */
static void header_value(char *dst, size_t cap, const char *buf, size_t len, size_t plen)
{
	const char *v = buf + plen;
	size_t n = len - plen;
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	channel_sanitize(dst, cap, v, n);
}

size_t channel_http_on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct channel_http_reply *r = arg;
	size_t len = size * n;
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) { /* a new response (after a 1xx) */
		r->retry_after[0] = '\0';
		r->location[0] = '\0';
		r->body_len = 0;
		r->body[0] = '\0';
	} else if (len > 12 && strncasecmp(buf, "Retry-After:", 12) == 0) {
		header_value(r->retry_after, sizeof r->retry_after, buf, len, 12);
	} else if (len > 9 && strncasecmp(buf, "Location:", 9) == 0) {
		header_value(r->location, sizeof r->location, buf, len, 9);
	}
	return len;
}

size_t channel_http_on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct channel_http_reply *r = arg;
	size_t len = size * n;
	size_t room = CHANNEL_BODY_SNIP - r->body_len;
	size_t k = len < room ? len : room;
	memcpy(r->body + r->body_len, buf, k);
	r->body_len += k;
	r->body[r->body_len] = '\0';
	return len; /* the rest is read and dropped */
}

bool channel_token_valid(const char *s, size_t max)
{
	if (s == NULL || *s == '\0')
		return false;
	size_t n = 0;
	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];
		if (n >= max || !(isalnum(c) || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

bool channel_header_value_valid(const char *s)
{
	if (s == NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	return true;
}

const char *channel_opt(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

void channel_buf_add(struct channel_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->cap - b->len < n + 1) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->len < n + 1) {
			if (cap > SIZE_MAX / 2)
				fatal("buffer too large");
			cap *= 2;
		}
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void channel_buf_adds(struct channel_buf *b, const char *s)
{
	channel_buf_add(b, s, strlen(s));
}

void channel_buf_printf(struct channel_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("out of memory");
	channel_buf_add(b, s, (size_t)n);
	free(s);
}

void channel_buf_nul(struct channel_buf *b)
{
	if (b->data == NULL) {
		b->data = xmalloc(16);
		b->cap = 16;
		b->len = 0;
	}
	b->data[b->len] = '\0';
}

void channel_buf_free(struct channel_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
