/* config.c: one table declares every directive with its type, bounds and default. */
#include "config.h"

#include "util.h"

#include <ini.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum directive_type { D_STRING, D_PATH, D_LONG };

struct directive {
	const char *section, *name;
	enum directive_type type;
	size_t offset;
	const char *default_string;
	long default_long, min, max;
};

#define S(sec, name, field, def)                                                                   \
	{                                                                                          \
		sec, name, D_STRING, offsetof(struct relay_config, field), def, 0, 0, 0            \
	}
#define P(sec, name, field, def)                                                                   \
	{                                                                                          \
		sec, name, D_PATH, offsetof(struct relay_config, field), def, 0, 0, 0              \
	}
#define L(sec, name, field, def, lo, hi)                                                           \
	{                                                                                          \
		sec, name, D_LONG, offsetof(struct relay_config, field), NULL, def, lo, hi         \
	}

static const struct directive directives[] = {
    S("relay", "listen", listen, "127.0.0.1:8470"),
    P("relay", "store", store, "relay.db"),
    P("relay", "log_dir", log_dir, "log"),
    P("relay", "secret_key", secret_key, "relay.sec"),
    P("relay", "passphrase_file", passphrase_file, ""),
    P("relay", "registry", registry, "registry.ini"),
    S("relay", "origin", origin, "tbsc.relay.local/log"),
    L("limits", "max_body", max_body, 65536, 1024, 65536),
    L("limits", "timestamp_window", timestamp_window, 300, 5, 86400),
    L("limits", "rate_per_minute", rate_per_minute, 600, 1, 10000000),
    L("limits", "rate_burst", rate_burst, 100, 1, 10000000),
    L("limits", "connection_timeout", connection_timeout, 10, 1, 3600),
    L("limits", "max_connections", max_connections, 1024, 4, 100000),
    L("limits", "per_ip_connections", per_ip_connections, 256, 1, 100000),
    L("limits", "threads", threads, 2, 1, 64),
    L("limits", "batch_max", batch_max, 1024, 1, 100000),
    P("relay", "recipients", recipients, ""),
    P("relay", "templates", templates, "templates"),
    S("relay", "public_url", public_url, "http://127.0.0.1:8470"),
    L("delivery", "retry_floor", retry_floor, 10, 1, 86400),
    L("delivery", "retry_ceiling", retry_ceiling, 1800, 1, 7 * 86400),
    L("delivery", "lifetime", lifetime, 3 * 86400, 1, 30 * 86400),
    L("delivery", "batch", delivery_batch, 64, 1, 10000),
    S("smtp", "host", smtp_host, ""),
    L("smtp", "port", smtp_port, 25, 1, 65535),
    S("smtp", "helo", smtp_helo, "relay.tbsc.local"),
    S("smtp", "from", smtp_from, "tbsc-relay@localhost"),
    L("smtp", "starttls", smtp_starttls, 1, 0, 2),
    P("smtp", "ca_file", smtp_ca_file, ""),
    S("smtp", "username", smtp_username, ""),
    S("smtp", "password", smtp_password, ""),
    L("smtp", "timeout", smtp_timeout, 30, 1, 600),
    S("sms", "profile", sms_profile, "kannel"),
    S("sms", "url", sms_url, ""),
    S("sms", "username", sms_username, ""),
    S("sms", "password", sms_password, ""),
    S("sms", "from", sms_from, "TBSC"),
    L("sms", "dlr_mask", sms_dlr_mask, 31, 0, 63),
    S("sms", "method", sms_method, "GET"),
    S("sms", "headers", sms_headers, ""),
    S("sms", "body_template", sms_body_template, ""),
    L("sms", "timeout", sms_timeout, 15, 1, 600),
    P("webhook", "ca_file", webhook_ca_file, ""),
    L("webhook", "timeout", webhook_timeout, 15, 1, 600),
    L("webhook", "per_endpoint_concurrency", webhook_per_endpoint, 4, 1, 256),
    L("webhook", "max_connections", webhook_max_connections, 64, 1, 4096),
    L("escalation", "normal_minutes", ack_normal_minutes, 240, 0, 7 * 24 * 60),
    L("escalation", "serious_minutes", ack_serious_minutes, 15, 0, 7 * 24 * 60),
    L("escalation", "interval", escalation_interval, 5, 1, 3600),
    L("clocks", "deadline_days", deadline_days, 5, 1, 60),
    L("clocks", "remind_hours", remind_hours, 24, 1, 24 * 30),
};
#define DIRECTIVE_COUNT (sizeof directives / sizeof directives[0])

static char **str_field(struct relay_config *cfg, const struct directive *d)
{
	return (char **)((char *)cfg + d->offset);
}
static long *long_field(struct relay_config *cfg, const struct directive *d)
{
	return (long *)((char *)cfg + d->offset);
}

void config_defaults(struct relay_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t i = 0; i < DIRECTIVE_COUNT; i++) {
		const struct directive *d = &directives[i];
		if (d->type == D_LONG)
			*long_field(cfg, d) = d->default_long;
		else
			*str_field(cfg, d) = xstrdup(d->default_string);
	}
}

void config_free(struct relay_config *cfg)
{
	for (size_t i = 0; i < DIRECTIVE_COUNT; i++)
		if (directives[i].type != D_LONG)
			free(*str_field(cfg, &directives[i]));
	memset(cfg, 0, sizeof *cfg);
}

struct load_state {
	FILE *f;
	const char *path;
	char *dir;
	int line;
	struct relay_config *cfg;
	char *err;
	size_t errlen, used;
	int errors;
	unsigned char seen[DIRECTIVE_COUNT];
};

static void load_error(struct load_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void load_error(struct load_state *st, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	st->errors++;
	if (st->err == NULL || st->used + 1 >= st->errlen)
		return;
	int n = snprintf(st->err + st->used, st->errlen - st->used, "%s%s:%d: %s",
	                 st->used ? "\n" : "", st->path, st->line, msg);
	if (n > 0)
		st->used +=
		    (size_t)n < st->errlen - st->used ? (size_t)n : st->errlen - st->used - 1;
}

static char *reader(char *str, int num, void *stream)
{
	struct load_state *st = stream;
	char *r = fgets(str, num, st->f);
	if (r != NULL)
		st->line++;
	return r;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct load_state *st = user;
	for (size_t i = 0; i < DIRECTIVE_COUNT; i++) {
		const struct directive *d = &directives[i];
		if (strcmp(d->section, section) != 0 || strcmp(d->name, name) != 0)
			continue;
		if (st->seen[i])
			load_error(st, "[%s] %s: khai báo hai lần / set twice", section, name);
		st->seen[i] = 1;
		if (d->type == D_LONG) {
			char *end = NULL;
			long v = strtol(value, &end, 10);
			if (*value == '\0' || *end != '\0')
				load_error(
				    st,
				    "[%s] %s: cần một số nguyên / expected an integer, got \"%s\"",
				    section, name, value);
			else if (v < d->min || v > d->max)
				load_error(st, "[%s] %s: %ld ngoài khoảng %ld..%ld / out of range",
				           section, name, v, d->min, d->max);
			else
				*long_field(st->cfg, d) = v;
		} else {
			char **f = str_field(st->cfg, d);
			free(*f);
			if (d->type == D_PATH && value[0] != '\0' && value[0] != '/')
				*f = xasprintf("%s/%s", st->dir, value);
			else
				*f = xstrdup(value);
		}
		return 1;
	}
	load_error(st, "[%s] %s: khóa cấu hình không biết / unknown directive", section, name);
	return 1;
}

static void resolve_defaults(struct load_state *st)
{
	for (size_t i = 0; i < DIRECTIVE_COUNT; i++) {
		const struct directive *d = &directives[i];
		char **f = str_field(st->cfg, d);
		if (d->type != D_PATH || st->seen[i] || (*f)[0] == '\0' || (*f)[0] == '/')
			continue;
		char *abs = xasprintf("%s/%s", st->dir, *f);
		free(*f);
		*f = abs;
	}
}

int config_load(const char *path, struct relay_config *cfg, char *err, size_t errlen)
{
	struct load_state st;
	memset(&st, 0, sizeof st);
	st.path = path;
	st.cfg = cfg;
	st.err = err;
	st.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	st.f = fopen(path, "r");
	if (st.f == NULL)
		return seterr(err, errlen,
		              "%s: không mở được tệp cấu hình / cannot open the configuration",
		              path);
	char *copy = xstrdup(path);
	st.dir = xstrdup(dirname(copy));
	free(copy);
	int rc = ini_parse_stream(reader, &st, on_entry, &st);
	fclose(st.f);
	if (rc > 0) {
		st.line = rc;
		load_error(&st, "dòng không hợp lệ / malformed line");
	}
	resolve_defaults(&st);
	char host[256];
	unsigned port;
	if (config_listen(cfg, host, sizeof host, &port) != 0) {
		st.line = 0;
		load_error(&st, "[relay] listen: cần host:port / expected host:port, got \"%s\"",
		           cfg->listen);
	}
	free(st.dir);
	return st.errors ? -1 : 0;
}

int config_listen(const struct relay_config *cfg, char *host, size_t hostlen, unsigned *port)
{
	const char *colon = strrchr(cfg->listen, ':');
	if (colon == NULL || colon == cfg->listen || (size_t)(colon - cfg->listen) >= hostlen)
		return -1;
	char *end = NULL;
	long p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 0 || p > 65535 || colon[1] == '\0')
		return -1;
	memcpy(host, cfg->listen, (size_t)(colon - cfg->listen));
	host[colon - cfg->listen] = '\0';
	*port = (unsigned)p;
	return 0;
}
