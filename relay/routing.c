/* routing.c: parse recipients.ini ([recipient ID] and [route NAME] sections) and resolve routes. */
#include "routing.h"

#include "registry.h"
#include "report.h"
#include "util.h"

#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse {
	FILE *f;
	const char *path;
	int line;
	struct routing *r;
	char *err;
	size_t errlen, used;
	int errors;
};

static void perr(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr(struct parse *p, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	p->errors++;
	if (p->err == NULL || p->used + 1 >= p->errlen)
		return;
	int n = snprintf(p->err + p->used, p->errlen - p->used, "%s%s:%d: %s", p->used ? "\n" : "",
	                 p->path, p->line, msg);
	if (n > 0)
		p->used += (size_t)n < p->errlen - p->used ? (size_t)n : p->errlen - p->used - 1;
}

static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *r = fgets(str, num, p->f);
	if (r != NULL)
		p->line++;
	return r;
}

/* Splits a comma-separated list into trimmed malloc'd items. */
static size_t split(const char *value, char ***out)
{
	char *copy = xstrdup(value), *save = NULL;
	size_t n = 0;
	char **items = NULL;
	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		char *end = t + strlen(t);
		while (end > t && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*t == '\0')
			continue;
		items = xrealloc(items, (n + 1) * sizeof *items);
		items[n++] = xstrdup(t);
	}
	free(copy);
	*out = items;
	return n;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

static struct recipient *recipient_get(struct parse *p, const char *id)
{
	for (size_t i = 0; i < p->r->recipient_count; i++)
		if (strcmp(p->r->recipients[i].id, id) == 0)
			return &p->r->recipients[i];
	if (!registry_id_valid(id)) {
		perr(p, "[recipient %s]: mã không hợp lệ / invalid id", id);
		return NULL;
	}
	p->r->recipients =
	    xrealloc(p->r->recipients, (p->r->recipient_count + 1) * sizeof *p->r->recipients);
	struct recipient *rc = &p->r->recipients[p->r->recipient_count++];
	memset(rc, 0, sizeof *rc);
	rc->id = xstrdup(id);
	rc->agency = xstrdup(id);
	rc->name = xstrdup(id);
	rc->role = xstrdup("");
	rc->group = xstrdup("");
	rc->language = xstrdup("vi");
	rc->sms_ucs2 = true;
	rc->drill = true;
	return rc;
}

static struct route *route_get(struct parse *p, const char *name)
{
	for (size_t i = 0; i < p->r->route_count; i++)
		if (strcmp(p->r->routes[i].name, name) == 0)
			return &p->r->routes[i];
	p->r->routes = xrealloc(p->r->routes, (p->r->route_count + 1) * sizeof *p->r->routes);
	struct route *rt = &p->r->routes[p->r->route_count++];
	memset(rt, 0, sizeof *rt);
	rt->name = xstrdup(name);
	rt->kinds = (1u << REPORT_KIND_COUNT) - 1;
	rt->severity = -1;
	rt->drill = 0;
	rt->channels = (1u << CHANNEL_EMAIL) | (1u << CHANNEL_WEBHOOK);
	return rt;
}

static bool yesno(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
		return (*out = true), true;
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
		return (*out = false), true;
	return false;
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = xstrdup(v);
}

static bool field_known(const char *key)
{
	if (!strcmp(key, "kind") || !strcmp(key, "drill"))
		return true;
	for (size_t i = 0; i < report_field_count; i++)
		if (strcmp(report_fields[i].key, key) == 0)
			return true;
	return false;
}

static void recipient_entry(struct parse *p, struct recipient *rc, const char *name,
                            const char *value)
{
	if (!strcmp(name, "name")) {
		set_str(&rc->name, value);
	} else if (!strcmp(name, "agency")) {
		if (!registry_id_valid(value))
			perr(p, "agency: mã đơn vị không hợp lệ / invalid agency id");
		set_str(&rc->agency, value);
	} else if (!strcmp(name, "role")) {
		bool ok = false;
		for (const char *const *r = registry_roles; *r; r++)
			ok |= strcmp(*r, value) == 0;
		if (!ok)
			perr(p, "role: vai trò không biết \"%s\" / unknown role", value);
		set_str(&rc->role, value);
	} else if (!strcmp(name, "group")) {
		set_str(&rc->group, value);
	} else if (!strcmp(name, "email")) {
		const char *at = strchr(value, '@');
		if (at == NULL || at == value || strpbrk(value, " <>,;\"\r\n") != NULL)
			perr(p, "email: địa chỉ không hợp lệ / invalid address \"%s\"", value);
		set_str(&rc->address[CHANNEL_EMAIL], value);
	} else if (!strcmp(name, "phone")) {
		size_t n = strlen(value);
		if (n < 4 || n > 16 || value[0] != '+' || strspn(value + 1, "0123456789") != n - 1)
			perr(p, "phone: cần số E.164 như +84912345678 / expected an E.164 number");
		set_str(&rc->address[CHANNEL_SMS], value);
	} else if (!strcmp(name, "webhook")) {
		if (strncmp(value, "https://", 8) != 0)
			perr(p, "webhook: cần URL https:// / expected an https:// URL");
		set_str(&rc->address[CHANNEL_WEBHOOK], value);
	} else if (!strcmp(name, "sms")) {
		if (!strcmp(value, "ucs2"))
			rc->sms_ucs2 = true;
		else if (!strcmp(value, "gsm7"))
			rc->sms_ucs2 = false;
		else
			perr(
			    p,
			    "sms: cần ucs2 (có dấu) hoặc gsm7 (không dấu) / expected ucs2 or gsm7");
	} else if (!strcmp(name, "language")) {
		if (strcmp(value, "vi") && strcmp(value, "en"))
			perr(p, "language: cần vi hoặc en / expected vi or en");
		set_str(&rc->language, value);
	} else if (!strcmp(name, "clear")) {
		free_list(rc->clear, rc->clear_count);
		rc->clear_count = split(value, &rc->clear);
		for (size_t i = 0; i < rc->clear_count; i++)
			if (!field_known(rc->clear[i]))
				perr(p,
				     "clear: trường báo cáo không biết \"%s\" / unknown report "
				     "field",
				     rc->clear[i]);
	} else if (!strcmp(name, "drill")) {
		if (!yesno(value, &rc->drill))
			perr(p, "drill: cần yes/no / expected yes or no");
	} else if (!strcmp(name, "standby")) {
		if (!yesno(value, &rc->standby))
			perr(p, "standby: cần yes/no / expected yes or no");
	} else if (!strcmp(name, "backup")) {
		if (!registry_id_valid(value))
			perr(p, "backup: mã người nhận không hợp lệ / invalid recipient id");
		free(rc->backup);
		rc->backup = xstrdup(value);
	} else if (!strcmp(name, "ack_normal_minutes") || !strcmp(name, "ack_serious_minutes")) {
		char *end = NULL;
		long v = strtol(value, &end, 10);
		if (*value == '\0' || *end != '\0' || v < 1 || v > 7 * 24 * 60)
			perr(p, "%s: số phút 1..10080 / minutes 1..10080", name);
		else
			rc->ack_minutes[!strcmp(name, "ack_serious_minutes")] = v;
	} else {
		perr(p, "[recipient] %s: khóa không biết / unknown directive", name);
	}
}

static void route_entry(struct parse *p, struct route *rt, const char *name, const char *value)
{
	char **items = NULL;
	size_t n = split(value, &items);
	bool any = n == 1 && strcmp(items[0], "*") == 0;
	if (!strcmp(name, "kinds")) {
		rt->kinds = any ? (1u << REPORT_KIND_COUNT) - 1 : 0;
		for (size_t i = 0; !any && i < n; i++) {
			int k = report_kind_from_name(items[i]);
			if (k < 0)
				perr(p, "kinds: loại báo cáo không biết \"%s\" / unknown kind",
				     items[i]);
			else
				rt->kinds |= 1u << k;
		}
	} else if (!strcmp(name, "categories")) {
		free_list(rt->categories, rt->category_count);
		rt->categories = NULL;
		rt->category_count = 0;
		if (!any) {
			for (size_t i = 0; i < n; i++) {
				bool ok = false;
				for (const char *const *c = report_categories; *c; c++)
					ok |= strcmp(*c, items[i]) == 0;
				if (!ok)
					perr(p,
					     "categories: loại sự cố không biết \"%s\" / unknown "
					     "category",
					     items[i]);
			}
			rt->categories = items;
			rt->category_count = n;
			items = NULL;
			n = 0;
		}
	} else if (!strcmp(name, "severity")) {
		if (!strcmp(value, "*") || !strcmp(value, "any"))
			rt->severity = -1;
		else if (!strcmp(value, "normal"))
			rt->severity = 0;
		else if (!strcmp(value, "serious"))
			rt->severity = 1;
		else
			perr(
			    p,
			    "severity: cần normal, serious hoặc * / expected normal, serious or *");
	} else if (!strcmp(name, "drill")) {
		bool b;
		if (!strcmp(value, "any") || !strcmp(value, "*"))
			rt->drill = -1;
		else if (yesno(value, &b))
			rt->drill = b;
		else
			perr(p, "drill: cần yes, no hoặc any / expected yes, no or any");
	} else if (!strcmp(name, "to")) {
		free_list(rt->to, rt->to_count);
		rt->to = items;
		rt->to_count = n;
		items = NULL;
		n = 0;
	} else if (!strcmp(name, "channels")) {
		rt->channels = 0;
		for (size_t i = 0; i < n; i++) {
			int found = -1;
			for (int c = 0; c < CHANNEL_KIND_COUNT; c++)
				if (!strcmp(channel_names[c], items[i]))
					found = c;
			if (found < 0)
				perr(p,
				     "channels: kênh không biết \"%s\" (email, sms, webhook) / "
				     "unknown channel",
				     items[i]);
			else
				rt->channels |= 1u << found;
		}
	} else {
		perr(p, "[route] %s: khóa không biết / unknown directive", name);
	}
	free_list(items, n);
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	if (!strncmp(section, "recipient ", 10)) {
		struct recipient *rc = recipient_get(p, section + 10);
		if (rc != NULL)
			recipient_entry(p, rc, name, value);
	} else if (!strncmp(section, "route ", 6)) {
		route_entry(p, route_get(p, section + 6), name, value);
	} else {
		perr(p,
		     "mục không hợp lệ [%s]: cần [recipient ID] hoặc [route TÊN] / expected "
		     "[recipient ID] or [route NAME]",
		     section);
	}
	return 1;
}

void routing_free(struct routing *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->recipient_count; i++) {
		struct recipient *rc = &r->recipients[i];
		free(rc->id);
		free(rc->agency);
		free(rc->name);
		free(rc->role);
		free(rc->group);
		free(rc->language);
		free(rc->backup);
		for (int c = 0; c < CHANNEL_KIND_COUNT; c++)
			free(rc->address[c]);
		free_list(rc->clear, rc->clear_count);
	}
	free(r->recipients);
	for (size_t i = 0; i < r->route_count; i++) {
		free(r->routes[i].name);
		free_list(r->routes[i].categories, r->routes[i].category_count);
		free_list(r->routes[i].to, r->routes[i].to_count);
	}
	free(r->routes);
	free(r);
}

struct routing *routing_load(const char *path, char *err, size_t errlen)
{
	struct parse p;
	memset(&p, 0, sizeof p);
	p.path = path;
	p.err = err;
	p.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	p.f = fopen(path, "r");
	if (p.f == NULL) {
		seterr(err, errlen, "%s: không mở được / cannot open", path);
		return NULL;
	}
	p.r = xcalloc(1, sizeof *p.r);
	int rc = ini_parse_stream(reader, &p, on_entry, &p);
	fclose(p.f);
	if (rc > 0) {
		p.line = rc;
		perr(&p, "dòng không hợp lệ / malformed line");
	}
	p.line = 0;
	for (size_t i = 0; i < p.r->route_count; i++) {
		const struct route *rt = &p.r->routes[i];
		if (rt->to_count == 0)
			perr(&p, "[route %s]: thiếu \"to\" / \"to\" is required", rt->name);
		for (size_t j = 0; j < rt->to_count; j++) {
			const char *t = rt->to[j];
			if (!strcmp(t, "*"))
				continue;
			if (!strncmp(t, "recipient:", 10)) {
				if (routing_find(p.r, t + 10) == NULL)
					perr(&p,
					     "[route %s]: không có người nhận \"%s\" / no such "
					     "recipient",
					     rt->name, t + 10);
				continue;
			}
			bool ok = false;
			for (const char *const *r = registry_roles; *r; r++)
				ok |= strcmp(*r, t) == 0;
			if (!ok)
				perr(&p,
				     "[route %s]: \"%s\" không phải vai trò hay recipient:ID / not "
				     "a role or recipient:ID",
				     rt->name, t);
		}
	}
	for (size_t i = 0; i < p.r->recipient_count; i++) {
		const struct recipient *x = &p.r->recipients[i];
		if (x->backup != NULL &&
		    (routing_find(p.r, x->backup) == NULL || !strcmp(x->backup, x->id)))
			perr(&p,
			     "[recipient %s] backup: không có người nhận \"%s\" khác / no other "
			     "recipient \"%s\"",
			     x->id, x->backup, x->backup);
	}
	if (p.errors) {
		routing_free(p.r);
		return NULL;
	}
	return p.r;
}

const struct recipient *routing_find(const struct routing *r, const char *id)
{
	for (size_t i = 0; i < r->recipient_count; i++)
		if (strcmp(r->recipients[i].id, id) == 0)
			return &r->recipients[i];
	return NULL;
}

static bool route_matches(const struct route *rt, const char *kind, const char *category,
                          const char *severity, bool drill)
{
	int k = report_kind_from_name(kind);
	if (k < 0 || !(rt->kinds & (1u << k)))
		return false;
	if (rt->severity >= 0 && (strcmp(severity, "serious") == 0) != (rt->severity == 1))
		return false;
	if (rt->drill >= 0 && (rt->drill == 1) != drill)
		return false;
	if (rt->category_count == 0)
		return true;
	for (size_t i = 0; i < rt->category_count; i++)
		if (strcmp(rt->categories[i], category) == 0)
			return true;
	return false;
}

static bool addressed(const struct route *rt, const struct recipient *rc)
{
	for (size_t j = 0; j < rt->to_count; j++) {
		const char *t = rt->to[j];
		if (!strcmp(t, "*") || !strcmp(t, rc->role) ||
		    (!strncmp(t, "recipient:", 10) && !strcmp(t + 10, rc->id)))
			return true;
	}
	return false;
}

size_t routing_resolve(const struct routing *r, const char *reporter_group, const char *kind,
                       const char *category, const char *severity, bool drill,
                       struct route_target *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < r->recipient_count; i++) {
		const struct recipient *rc = &r->recipients[i];
		if (rc->group[0] != '\0' && strcmp(rc->group, reporter_group) != 0)
			continue;
		if ((drill && !rc->drill) || rc->standby)
			continue;
		unsigned channels = 0;
		for (size_t j = 0; j < r->route_count; j++) {
			const struct route *rt = &r->routes[j];
			if (route_matches(rt, kind, category, severity, drill) && addressed(rt, rc))
				channels |= rt->channels;
		}
		for (int c = 0; c < CHANNEL_KIND_COUNT; c++) {
			if (!(channels & (1u << c)) || rc->address[c] == NULL)
				continue;
			if (n < max)
				out[n] = (struct route_target){rc, (enum channel_kind)c};
			n++;
		}
	}
	return n;
}
