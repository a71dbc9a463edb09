/* util.c: allocation, logging, encoding and file helpers shared by relay and client. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_level_current = LOG_LEVEL_INFO;
static const char *log_prefix = "tbsc";

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		fatal("out of memory (%zu bytes)", n);
	return p;
}

void *xcalloc(size_t count, size_t n)
{
	void *p = calloc(count ? count : 1, n ? n : 1);
	if (p == NULL)
		fatal("out of memory (%zu x %zu bytes)", count, n);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		fatal("out of memory (%zu bytes)", n);
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (p == NULL)
		fatal("out of memory");
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("out of memory");
	return s;
}

void log_set_level(enum log_level level)
{
	log_level_current = level;
}
void log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

static void log_vwrite(enum log_level level, const char *tag, const char *fmt, va_list ap)
{
	if (level > log_level_current)
		return;
	int saved = errno;
	char buf[2048];
	vsnprintf(buf, sizeof buf, fmt, ap);
	fprintf(stderr, "%s: %s%s\n", log_prefix, tag, buf);
	errno = saved;
}

#define LOG_FN(name, level, tag)                                                                   \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vwrite(level, tag, fmt, ap);                                                   \
		va_end(ap);                                                                        \
	}
LOG_FN(log_error, LOG_LEVEL_ERROR, "error: ")
LOG_FN(log_warn, LOG_LEVEL_WARN, "warning: ")
LOG_FN(log_info, LOG_LEVEL_INFO, "")
LOG_FN(log_debug, LOG_LEVEL_DEBUG, "debug: ")

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, "fatal: ", fmt, ap);
	va_end(ap);
	exit(2);
}

int seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

void hex_encode(char *out, const uint8_t *in, size_t len)
{
	sodium_bin2hex(out, 2 * len + 1, in, len);
}

int hex_decode(uint8_t *out, size_t outlen, const char *in)
{
	size_t got = 0;
	const char *end = NULL;
	if (strlen(in) != 2 * outlen)
		return -1;
	if (sodium_hex2bin(out, outlen, in, 2 * outlen, NULL, &got, &end) != 0 || got != outlen)
		return -1;
	return 0;
}

char *b64_encode(const uint8_t *in, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = xmalloc(n);
	sodium_bin2base64(out, n, in, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

long b64_decode(uint8_t *out, size_t cap, const char *in, size_t inlen)
{
	size_t got = 0;
	const char *end = NULL;
	if (sodium_base642bin(out, cap, in, inlen, NULL, &got, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	if (end != in + inlen)
		return -1;
	return (long)got;
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

int file_read_all(const char *path, size_t max, uint8_t **out, size_t *outlen, char *err,
                  size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return seterr(err, errlen, "%s: %s", path, strerror(errno));
	size_t cap = 4096, len = 0;
	uint8_t *buf = xmalloc(cap);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len > max) {
			fclose(f);
			free(buf);
			return seterr(err, errlen, "%s: file larger than %zu bytes", path, max);
		}
		if (n == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return seterr(err, errlen, "%s: read error", path);
	}
	*out = buf;
	*outlen = len;
	return 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, int mode, char *err,
                      size_t errlen)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	char *dircopy = xstrdup(path);
	int fd = -1, rc = -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	const uint8_t *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			seterr(err, errlen, "%s: %s", tmp, strerror(errno));
			goto cleanup;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		fd = -1;
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	free(dircopy);
	return rc;
}
