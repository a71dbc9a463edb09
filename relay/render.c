/* render.c: notification texts from templates/ with {placeholder} substitution, escaped per output.
 */
#include "render.h"

#include "mpack.h"
#include "util.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <utf8proc.h>

#define TEMPLATE_MAX      (16 * 1024)
#define LABELS_MAX        (64 * 1024)
#define NAME_MAX_CHARS    120 /* agency and recipient names in subjects and SMS */
#define SUBJECT_MAX_CHARS 200
#define HCM_OFFSET        (7 * 3600) /* Asia/Ho_Chi_Minh: UTC+7, no daylight saving time */

/* ---- growable string ------------------------------------------------------------------------ */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2 + 64;
		b->p = xrealloc(b->p, b->cap);
	}
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}
static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}
static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("out of memory");
	sb_put(b, s, (size_t)n);
	free(s);
}
static void sb_codepoint(struct sbuf *b, int32_t cp)
{
	uint8_t u[4];
	utf8proc_ssize_t n = utf8proc_encode_char(cp, u);
	sb_put(b, (const char *)u, (size_t)n);
}
/* The string, never NULL (an empty builder gives ""); ownership passes to the caller. */
static char *sb_take(struct sbuf *b)
{
	if (b->p == NULL)
		return xstrdup("");
	char *p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

/* Next code point of s (NUL-terminated); invalid bytes come back as U+FFFD, one byte each. */
static int32_t next_cp(const char **s)
{
	const uint8_t *p = (const uint8_t *)*s;
	size_t avail = strnlen(*s, 4);
	utf8proc_int32_t cp;
	utf8proc_ssize_t n = utf8proc_iterate(p, (utf8proc_ssize_t)avail, &cp);
	if (n <= 0) {
		*s += 1;
		return 0xFFFD;
	}
	*s += n;
	return cp;
}

/* Characters no output should carry: controls, line/paragraph separators, bidirectional overrides.
 */
static bool cp_unwanted(int32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

/*
 * Cleans text for its output: multiline keeps LF (tab becomes a space, CR goes); a single line
 * turns LF and tab into spaces. Everything else unwanted is dropped; invalid UTF-8 becomes U+FFFD.
 * max_chars > 0 cuts the result there with an ellipsis.
 */
static void clean_into(struct sbuf *out, const char *s, bool multiline, size_t max_chars)
{
	size_t chars = 0;
	while (*s != '\0') {
		int32_t cp = next_cp(&s);
		if (cp == '\n' && multiline) {
			sb_put(out, "\n", 1);
			chars++;
			continue;
		}
		if (cp == '\t' || cp == '\n')
			cp = ' ';
		else if (cp_unwanted(cp))
			continue;
		if (max_chars > 0 && chars >= max_chars) {
			sb_puts(out, "…");
			return;
		}
		sb_codepoint(out, cp);
		chars++;
	}
}
static char *clean(const char *s, bool multiline, size_t max_chars)
{
	struct sbuf b = {0};
	clean_into(&b, s, multiline, max_chars);
	return sb_take(&b);
}

/* ---- templates and labels ------------------------------------------------------------------- */

enum placeholder {
	P_DRILL_MARK,
	P_DRILL_BANNER,
	P_KIND,
	P_KIND_LABEL,
	P_KIND_SHORT,
	P_CATEGORY_LABEL,
	P_SEVERITY_LABEL,
	P_AGENCY_NAME,
	P_AGENCY,
	P_INCIDENT_ID,
	P_REPORT_ID,
	P_REPORT_PREFIX,
	P_SMS_CODE,
	P_NOTIFICATION_ID,
	P_LOG_INDEX,
	P_RECEIVED_TIME,
	P_RECIPIENT,
	P_RECIPIENT_NAME,
	P_CHANNEL,
	P_CLEAR_FIELDS,
	P_ATTACHMENT_NAME,
	P_VERIFY_URL,
	P_ACK_URL,
	P_ACK_CODE,
	P_COUNT
};

static const char *const placeholder_names[P_COUNT] = {
    "drill_mark",      "drill_banner",   "kind",           "kind_label",      "kind_short",
    "category_label",  "severity_label", "agency_name",    "agency",          "incident_id",
    "report_id",       "report_prefix",  "sms_code",       "notification_id", "log_index",
    "received_time",   "recipient",      "recipient_name", "channel",         "clear_fields",
    "attachment_name", "verify_url",     "ack_url",        "ack_code"};

#define BIT(p) (1u << (p))
/* What an SMS may say: never a report field beyond these, whatever the configuration. */
#define SMS_ALLOWED                                                                                \
	(BIT(P_DRILL_MARK) | BIT(P_KIND) | BIT(P_KIND_LABEL) | BIT(P_KIND_SHORT) |                 \
	 BIT(P_CATEGORY_LABEL) | BIT(P_SEVERITY_LABEL) | BIT(P_AGENCY_NAME) | BIT(P_INCIDENT_ID) | \
	 BIT(P_REPORT_PREFIX) | BIT(P_SMS_CODE) | BIT(P_ACK_CODE))
#define SUBJECT_ALLOWED                                                                            \
	((SMS_ALLOWED & ~BIT(P_SMS_CODE)) | BIT(P_AGENCY) | BIT(P_REPORT_ID) |                     \
	 BIT(P_NOTIFICATION_ID))
#define TEXT_ALLOWED (((1u << P_COUNT) - 1) & ~BIT(P_SMS_CODE))

enum template_id { T_SUBJECT, T_TEXT, T_SMS, T_COUNT };
static const char *const template_files[T_COUNT] = {"email-subject.txt", "email-text.txt",
                                                    "sms.txt"};
static const unsigned template_allowed[T_COUNT] = {SUBJECT_ALLOWED, TEXT_ALLOWED, SMS_ALLOWED};

/* A template is literal runs and placeholders, parsed once. */
struct piece {
	char *literal; /* NULL for a placeholder */
	enum placeholder ph;
};
struct template
{
	struct piece *pieces;
	size_t count;
};

struct label {
	char *key, *value;
};

struct language {
	char name[16];
	struct template templates[T_COUNT];
	struct label *labels;
	size_t label_count;
};

struct renderer {
	struct language *languages;
	size_t count;
};

static const char *const required_labels[] = {"drill_mark",
                                              "drill_banner",
                                              "drill_label",
                                              "yes",
                                              "no",
                                              "none",
                                              "confidential_note",
                                              "time_format",
                                              "time_suffix",
                                              "severity.normal",
                                              "severity.serious",
                                              NULL};

static void template_clear(struct template *t)
{
	for (size_t i = 0; i < t->count; i++)
		free(t->pieces[i].literal);
	free(t->pieces);
	t->pieces = NULL;
	t->count = 0;
}

static void template_add(struct template *t, const char *literal, size_t n, int ph)
{
	t->pieces = xrealloc(t->pieces, (t->count + 1) * sizeof *t->pieces);
	struct piece *p = &t->pieces[t->count++];
	p->literal = NULL;
	p->ph = P_COUNT;
	if (literal != NULL) {
		p->literal = xmalloc(n + 1);
		memcpy(p->literal, literal, n);
		p->literal[n] = '\0';
	} else {
		p->ph = (enum placeholder)ph;
	}
}

static int placeholder_find(const char *s, size_t n)
{
	for (int i = 0; i < P_COUNT; i++)
		if (strlen(placeholder_names[i]) == n && memcmp(placeholder_names[i], s, n) == 0)
			return i;
	return -1;
}

/* Parses text into t: "{name}" is a placeholder, "{{" a literal brace; file names the errors. */
static int template_parse(struct template *t, const char *text, unsigned allowed, const char *file,
                          char *err, size_t errlen)
{
	struct sbuf lit = {0};
	unsigned line = 1;
	const char *p = text;
	while (*p != '\0') {
		if (p[0] == '{' && p[1] == '{') {
			sb_put(&lit, "{", 1);
			p += 2;
			continue;
		}
		if (p[0] == '{') {
			size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_");
			if (n > 0 && p[1 + n] == '}') {
				int ph = placeholder_find(p + 1, n);
				if (ph < 0) {
					free(lit.p);
					return seterr(err, errlen,
					              "%s:%u: chỗ trống không biết {%.*s} / "
					              "unknown placeholder",
					              file, line, (int)n, p + 1);
				}
				if (!(allowed & BIT(ph))) {
					free(lit.p);
					return seterr(err, errlen,
					              "%s:%u: mẫu này không được dùng {%s} / this "
					              "template may not use {%s}",
					              file, line, placeholder_names[ph],
					              placeholder_names[ph]);
				}
				if (lit.len > 0) {
					template_add(t, lit.p, lit.len, 0);
					lit.len = 0;
				}
				template_add(t, NULL, 0, ph);
				p += n + 2;
				continue;
			}
		}
		if (*p == '\n')
			line++;
		sb_put(&lit, p, 1);
		p++;
	}
	if (lit.len > 0)
		template_add(t, lit.p, lit.len, 0);
	free(lit.p);
	return 0;
}

static const char *label_get(const struct language *lang, const char *key)
{
	for (size_t i = 0; i < lang->label_count; i++)
		if (strcmp(lang->labels[i].key, key) == 0)
			return lang->labels[i].value;
	return NULL;
}

/* "prefix.value" label, or the value itself when there is none. */
static const char *label_or(const struct language *lang, const char *prefix, const char *value)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", prefix, value);
	const char *l = label_get(lang, key);
	return l != NULL ? l : value;
}

static int labels_parse(struct language *lang, char *text, const char *file, char *err,
                        size_t errlen)
{
	unsigned line = 0;
	for (char *s = text; s != NULL && *s != '\0';) {
		char *nl = strchr(s, '\n');
		if (nl != NULL)
			*nl = '\0';
		line++;
		char *p = s;
		s = nl != NULL ? nl + 1 : NULL;
		p[strcspn(p, "\r")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		char *eq = strchr(p, '=');
		if (eq == NULL)
			return seterr(err, errlen,
			              "%s:%u: cần \"khóa = giá trị\" / expected \"key = value\"",
			              file, line);
		char *end = eq;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*end = '\0';
		char *v = eq + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strlen(v);
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			v[--vl] = '\0';
		if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
			v[vl - 1] = '\0';
			v++;
		}
		if (*p == '\0' || strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_.") != strlen(p))
			return seterr(err, errlen, "%s:%u: khóa không hợp lệ / invalid key", file,
			              line);
		if (label_get(lang, p) != NULL)
			return seterr(err, errlen, "%s:%u: khóa lặp lại \"%s\" / duplicate key",
			              file, line, p);
		if (!utf8_valid((const uint8_t *)v, strlen(v)))
			return seterr(err, errlen, "%s:%u: không phải UTF-8 / not valid UTF-8",
			              file, line);
		struct sbuf val = {0};
		for (const char *c = v; *c; c++) {
			if (c[0] == '\\' && c[1] == 'n') {
				sb_put(&val, "\n", 1);
				c++;
			} else {
				sb_put(&val, c, 1);
			}
		}
		lang->labels =
		    xrealloc(lang->labels, (lang->label_count + 1) * sizeof *lang->labels);
		lang->labels[lang->label_count].key = xstrdup(p);
		lang->labels[lang->label_count].value = sb_take(&val);
		lang->label_count++;
	}
	for (const char *const *k = required_labels; *k != NULL; k++)
		if (label_get(lang, *k) == NULL)
			return seterr(err, errlen, "%s: thiếu nhãn \"%s\" / missing label", file,
			              *k);
	char key[64];
	for (int k = 0; k < REPORT_KIND_COUNT; k++) {
		const char *prefixes[] = {"kind", "kind_short"};
		for (size_t i = 0; i < 2; i++) {
			snprintf(key, sizeof key, "%s.%s", prefixes[i], report_kind_names[k]);
			if (label_get(lang, key) == NULL)
				return seterr(err, errlen, "%s: thiếu nhãn \"%s\" / missing label",
				              file, key);
		}
	}
	for (const char *const *c = report_categories; *c != NULL; c++) {
		snprintf(key, sizeof key, "category.%s", *c);
		if (label_get(lang, key) == NULL)
			return seterr(err, errlen, "%s: thiếu nhãn \"%s\" / missing label", file,
			              key);
	}
	return 0;
}

static void language_clear(struct language *lang)
{
	for (int t = 0; t < T_COUNT; t++)
		template_clear(&lang->templates[t]);
	for (size_t i = 0; i < lang->label_count; i++) {
		free(lang->labels[i].key);
		free(lang->labels[i].value);
	}
	free(lang->labels);
	memset(lang, 0, sizeof *lang);
}

static int read_text(const char *path, size_t max, char **out, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	if (file_read_all(path, max, &buf, &len, err, errlen) != 0)
		return -1;
	char *s = xmalloc(len + 1);
	if (len > 0)
		memcpy(s, buf, len);
	s[len] = '\0';
	free(buf);
	if (strlen(s) != len || !utf8_valid((const uint8_t *)s, len)) {
		free(s);
		return seterr(err, errlen, "%s: không phải văn bản UTF-8 / not UTF-8 text", path);
	}
	*out = s;
	return 0;
}

static int language_load(struct language *lang, const char *dir, const char *name, char *err,
                         size_t errlen)
{
	char *path = NULL, *text = NULL;
	int rc = -1;
	memset(lang, 0, sizeof *lang);
	memcpy(lang->name, name,
	       strnlen(name, sizeof lang->name - 1)); /* names are at most 8 letters */
	path = xasprintf("%s/%s/labels.txt", dir, name);
	if (read_text(path, LABELS_MAX, &text, err, errlen) != 0 ||
	    labels_parse(lang, text, path, err, errlen) != 0)
		goto cleanup;
	for (int t = 0; t < T_COUNT; t++) {
		free(path);
		free(text);
		text = NULL;
		path = xasprintf("%s/%s/%s", dir, name, template_files[t]);
		if (read_text(path, TEMPLATE_MAX, &text, err, errlen) != 0)
			goto cleanup;
		if (t != T_TEXT) {
			/* One-line templates: the file's final line break is not part of it. */
			size_t n = strlen(text);
			while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
				text[--n] = '\0';
			if (strchr(text, '\n') != NULL) {
				seterr(err, errlen, "%s: phải là một dòng / must be one line",
				       path);
				goto cleanup;
			}
		}
		if (t == T_SUBJECT && strncmp(text, "[TBSC]", 6) != 0) {
			seterr(err, errlen,
			       "%s: tiêu đề phải bắt đầu bằng \"[TBSC]\" / the subject must start "
			       "with \"[TBSC]\"",
			       path);
			goto cleanup;
		}
		if (template_parse(&lang->templates[t], text, template_allowed[t], path, err,
		                   errlen) != 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
	free(path);
	free(text);
	if (rc != 0)
		language_clear(lang);
	return rc;
}

struct renderer *render_load(const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		seterr(err, errlen,
		       "%s: không mở được thư mục mẫu / cannot open the templates directory", dir);
		return NULL;
	}
	struct renderer *r = xcalloc(1, sizeof *r);
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 2 || n > 8 || strspn(e->d_name, "abcdefghijklmnopqrstuvwxyz") != n)
			continue;
		char *sub = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		bool is_dir = stat(sub, &st) == 0 && S_ISDIR(st.st_mode);
		free(sub);
		if (!is_dir)
			continue;
		r->languages = xrealloc(r->languages, (r->count + 1) * sizeof *r->languages);
		if (language_load(&r->languages[r->count], dir, e->d_name, err, errlen) != 0)
			rc = -1;
		else
			r->count++;
	}
	closedir(d);
	if (rc == 0 && !render_has_language(r, "vi")) {
		seterr(err, errlen,
		       "%s/vi: thiếu mẫu tiếng Việt / the Vietnamese templates are missing", dir);
		rc = -1;
	}
	if (rc != 0) {
		render_free(r);
		return NULL;
	}
	return r;
}

void render_free(struct renderer *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->count; i++)
		language_clear(&r->languages[i]);
	free(r->languages);
	free(r);
}

static const struct language *language_find(const struct renderer *r, const char *name)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->languages[i].name, name) == 0)
			return &r->languages[i];
	return NULL;
}

bool render_has_language(const struct renderer *r, const char *language)
{
	return language != NULL && language_find(r, language) != NULL;
}

/* ---- fields in clear ------------------------------------------------------------------------ */

/* The report fields a confidential report may still show in clear (with kind and drill). */
static const char *const public_fields[] = {"incident_id", "category", "severity", NULL};

static bool in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] != NULL && strcmp(list[i], key) == 0)
			return true;
	return false;
}

int render_check_fields(const char *const *keys, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (keys[i] == NULL)
			return seterr(err, errlen, "trường rỗng / empty field name");
		if (strcmp(keys[i], "kind") == 0 || strcmp(keys[i], "drill") == 0)
			continue;
		bool known = false;
		for (size_t f = 0; f < report_field_count && !known; f++)
			known = strcmp(report_fields[f].key, keys[i]) == 0;
		if (!known)
			return seterr(err, errlen,
			              "\"%s\": không phải trường của báo cáo / not a report field",
			              keys[i]);
	}
	return 0;
}

static bool field_visible(const struct report *rep, const struct render_options *o, const char *key)
{
	if (!in_list(key, o->clear_fields, o->clear_count))
		return false;
	if (rep->confidential) {
		for (const char *const *p = public_fields; *p != NULL; p++)
			if (strcmp(*p, key) == 0)
				return true;
		return false;
	}
	return true;
}

static bool field_present(const struct report *rep, const struct report_field *f)
{
	const char *base = (const char *)rep + f->offset;
	switch (f->type) {
	case RF_TIME:
	case RF_UINT:
		return *(const uint64_t *)base != 0;
	case RF_LIST:
		return ((const struct strlist *)base)->count > 0;
	case RF_BOOL:
		return true;
	default:
		return *(char *const *)base != NULL && **(char *const *)base != '\0';
	}
}

static void local_time(const struct language *lang, uint64_t secs, bool suffix, struct sbuf *out)
{
	time_t t = (time_t)secs + HCM_OFFSET;
	struct tm tm;
	char buf[64];
	gmtime_r(&t, &tm);
	if (strftime(buf, sizeof buf, label_get(lang, "time_format"), &tm) == 0)
		buf[0] = '\0';
	sb_puts(out, buf);
	if (suffix) {
		sb_puts(out, " ");
		sb_puts(out, label_get(lang, "time_suffix"));
	}
}

/* A field's value as text for a person (labels for enums, local time for times). */
static void field_text(const struct language *lang, const struct report *rep,
                       const struct report_field *f, struct sbuf *out)
{
	const char *base = (const char *)rep + f->offset;
	switch (f->type) {
	case RF_TIME:
		local_time(lang, *(const uint64_t *)base, false, out);
		break;
	case RF_UINT:
		sb_printf(out, "%llu", (unsigned long long)*(const uint64_t *)base);
		break;
	case RF_BOOL:
		sb_puts(out, label_get(lang, *(const bool *)base ? "yes" : "no"));
		break;
	case RF_ENUM:
		sb_puts(out, label_or(lang, f->key, *(char *const *)base));
		break;
	case RF_LIST: {
		const struct strlist *l = (const struct strlist *)base;
		for (size_t i = 0; i < l->count; i++) {
			if (i > 0)
				sb_puts(out, ", ");
			sb_puts(out, f->choices != NULL ? label_or(lang, f->key, l->items[i])
			                                : l->items[i]);
		}
		break;
	}
	default:
		sb_puts(out, *(char *const *)base);
		break;
	}
}

static const char *field_label(const struct language *lang, const struct report_field *f)
{
	return strcmp(lang->name, "vi") == 0 ? f->label_vi : f->label_en;
}

/* The email's list of clear fields, one per line, continuation lines indented. */
static void clear_fields_text(const struct language *lang, const struct report *rep,
                              const struct render_options *o, struct sbuf *out)
{
	size_t shown = 0;
	bool withheld = false;
	for (size_t i = 0; i < report_field_count; i++) {
		const struct report_field *f = &report_fields[i];
		if (!in_list(f->key, o->clear_fields, o->clear_count) || !field_present(rep, f))
			continue;
		if (!field_visible(rep, o, f->key)) {
			withheld = true;
			continue;
		}
		struct sbuf v = {0};
		field_text(lang, rep, f, &v);
		char *c = clean(v.p != NULL ? v.p : "", true, 0);
		free(v.p);
		sb_printf(out, "%s  - %s: ", shown > 0 ? "\n" : "", field_label(lang, f));
		for (const char *p = c; *p; p++) {
			if (*p == '\n')
				sb_puts(out, "\n      ");
			else
				sb_put(out, p, 1);
		}
		free(c);
		shown++;
	}
	if (shown == 0)
		sb_printf(out, "  %s", label_get(lang, "none"));
	if (withheld || rep->confidential)
		sb_printf(out, "\n%s", label_get(lang, "confidential_note"));
}

/* ---- substitution --------------------------------------------------------------------------- */

struct values {
	char *v[P_COUNT];
};

static void values_clear(struct values *vs)
{
	for (int i = 0; i < P_COUNT; i++)
		free(vs->v[i]);
}

static bool is_drill(const struct report *rep, const struct notification *n)
{
	return rep->drill || n->drill;
}

static int kind_of(const struct report *rep, const struct notification *n)
{
	int k = report_kind_from_name(n->kind);
	if (k < 0)
		k = (unsigned)rep->kind < REPORT_KIND_COUNT ? (int)rep->kind : REPORT_NOTIFICATION;
	return k;
}

/* Values every template may draw on; names and ids single-line and bounded. */
static void values_fill(struct values *vs, const struct language *lang, const struct report *rep,
                        const struct notification *n, const struct render_options *o,
                        const char *sms_code, bool with_fields)
{
	memset(vs, 0, sizeof *vs);
	bool drill = is_drill(rep, n);
	int kind = kind_of(rep, n);
	vs->v[P_DRILL_MARK] = xstrdup(drill ? label_get(lang, "drill_mark") : "");
	vs->v[P_DRILL_BANNER] = xstrdup(drill ? label_get(lang, "drill_banner") : "");
	vs->v[P_KIND] = xstrdup(report_kind_names[kind]);
	vs->v[P_KIND_LABEL] = xstrdup(label_or(lang, "kind", report_kind_names[kind]));
	vs->v[P_KIND_SHORT] = xstrdup(label_or(lang, "kind_short", report_kind_names[kind]));
	vs->v[P_CATEGORY_LABEL] =
	    clean(rep->category ? label_or(lang, "category", rep->category) : "-", false, 80);
	vs->v[P_SEVERITY_LABEL] =
	    clean(rep->severity ? label_or(lang, "severity", rep->severity) : "-", false, 40);
	vs->v[P_AGENCY_NAME] =
	    clean(o->agency_name ? o->agency_name : n->agency, false, NAME_MAX_CHARS);
	vs->v[P_AGENCY] = clean(n->agency, false, 0);
	vs->v[P_INCIDENT_ID] =
	    clean(n->incident_id[0] ? n->incident_id : (rep->incident_id ? rep->incident_id : "-"),
	          false, 64);
	vs->v[P_REPORT_ID] = clean(n->report_id, false, 0);
	vs->v[P_REPORT_PREFIX] = xasprintf("%.8s", n->report_id);
	vs->v[P_SMS_CODE] = xstrdup(sms_code ? sms_code : "");
	vs->v[P_NOTIFICATION_ID] = clean(n->nid, false, 0);
	vs->v[P_LOG_INDEX] = xasprintf("%llu", (unsigned long long)n->log_index);
	struct sbuf t = {0};
	local_time(lang, n->received_ms / 1000, true, &t);
	vs->v[P_RECEIVED_TIME] = sb_take(&t);
	vs->v[P_RECIPIENT] = clean(n->recipient, false, 0);
	vs->v[P_RECIPIENT_NAME] =
	    clean(o->recipient_name && *o->recipient_name ? o->recipient_name : n->recipient, false,
	          NAME_MAX_CHARS);
	vs->v[P_CHANNEL] = clean(n->channel, false, 0);
	vs->v[P_ATTACHMENT_NAME] = xasprintf("thong-bao-%s.tbsc", n->nid);
	vs->v[P_VERIFY_URL] = clean(
	    o->verify_url && *o->verify_url ? o->verify_url : label_get(lang, "none"), false, 200);
	vs->v[P_ACK_URL] =
	    clean(o->ack_url && *o->ack_url ? o->ack_url : label_get(lang, "none"), false, 400);
	vs->v[P_ACK_CODE] = clean(o->ack_code && *o->ack_code ? o->ack_code : "-", false, 16);
	if (with_fields) {
		struct sbuf cf = {0};
		clear_fields_text(lang, rep, o, &cf);
		vs->v[P_CLEAR_FIELDS] = sb_take(&cf);
	} else {
		vs->v[P_CLEAR_FIELDS] = xstrdup("");
	}
}

static char *substitute(const struct template *t, const struct values *vs)
{
	struct sbuf b = {0};
	for (size_t i = 0; i < t->count; i++) {
		const struct piece *p = &t->pieces[i];
		sb_puts(&b, p->literal != NULL ? p->literal : vs->v[p->ph]);
	}
	return sb_take(&b);
}

static const struct language *
pick_language(const struct renderer *r, const struct render_options *o, char *err, size_t errlen)
{
	const char *name = o->language != NULL && *o->language ? o->language : "vi";
	const struct language *lang = language_find(r, name);
	if (lang == NULL)
		seterr(err, errlen,
		       "không có mẫu cho ngôn ngữ \"%.16s\" / no templates for language", name);
	return lang;
}

static int check_fields(const struct render_options *o, char *err, size_t errlen)
{
	if (o->clear_count > 0 && o->clear_fields == NULL)
		return seterr(err, errlen, "clear_fields: NULL");
	return render_check_fields(o->clear_fields, o->clear_count, err, errlen);
}

int render_email(const struct renderer *r, const struct report *rep, const struct notification *n,
                 const struct render_options *o, char **subject, char **text, char *err,
                 size_t errlen)
{
	const struct language *lang = pick_language(r, o, err, errlen);
	if (lang == NULL || check_fields(o, err, errlen) != 0)
		return -1;
	struct values vs;
	values_fill(&vs, lang, rep, n, o, NULL, true);
	char *s = substitute(&lang->templates[T_SUBJECT], &vs);
	char *t = substitute(&lang->templates[T_TEXT], &vs);
	values_clear(&vs);
	*subject = clean(s, false, SUBJECT_MAX_CHARS);
	*text = clean(t, true, 0);
	free(s);
	free(t);
	return 0;
}

/* ---- SMS ------------------------------------------------------------------------------------ */

/* GSM 03.38 default alphabet (basic table, without the escape at 0x1B) and its extension table. */
static const int32_t gsm_basic[] = {
    '@',   0xa3, '$',  0xa5,  0xe8, 0xe9,  0xf9,  0xec,  0xf2,  0xc7,  '\n',  0xd8,  0xf8,
    '\r',  0xc5, 0xe5, 0x394, '_',  0x3a6, 0x393, 0x39b, 0x3a9, 0x3a0, 0x3a8, 0x3a3, 0x398,
    0x39e, 0xc6, 0xe6, 0xdf,  0xc9, ' ',   '!',   '"',   '#',   0xa4,  '%',   '&',   '\'',
    '(',   ')',  '*',  '+',   ',',  '-',   '.',   '/',   0xa1,  0xc4,  0xd6,  0xd1,  0xdc,
    0xa7,  0xbf, 0xe4, 0xf6,  0xf1, 0xfc,  0xe0,  ':',   ';',   '<',   '=',   '>',   '?'};
static const int32_t gsm_extension[] = {'^', '{', '}', '\\', '[', '~', ']', '|', 0x20ac};

/* Septets a code point takes in GSM-7: 1 (basic), 2 (extension), 0 when it is not in GSM-7. */
static int gsm_width(int32_t cp)
{
	if ((cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z'))
		return 1;
	for (size_t i = 0; i < sizeof gsm_basic / sizeof gsm_basic[0]; i++)
		if (gsm_basic[i] == cp)
			return 1;
	for (size_t i = 0; i < sizeof gsm_extension / sizeof gsm_extension[0]; i++)
		if (gsm_extension[i] == cp)
			return 2;
	return 0;
}

char *render_nfc(const char *utf8)
{
	char *c = clean(utf8, true, 0); /* valid UTF-8 from here on */
	utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)c);
	if (nfc == NULL)
		return c;
	free(c);
	char *out = xstrdup((const char *)nfc);
	free(nfc);
	return out;
}

/* Close look-alikes for common characters outside GSM-7; anything else becomes '?'. */
static const char *gsm_substitute(int32_t cp)
{
	switch (cp) {
	case 0x111:
		return "d"; /* đ: no decomposition, so no mark to strip */
	case 0x110:
		return "D"; /* Đ */
	case 0x2018:
	case 0x2019:
	case 0x201a:
	case 0x2032:
	case '`':
	case 0xb4:
		return "'";
	case 0x201c:
	case 0x201d:
	case 0x201e:
	case 0xab:
	case 0xbb:
		return "\"";
	case 0x2010:
	case 0x2011:
	case 0x2012:
	case 0x2013:
	case 0x2014:
	case 0x2212:
		return "-";
	case 0x2026:
		return "...";
	case 0xa0:
	case 0x2002:
	case 0x2003:
	case 0x2009:
	case 0x202f:
		return " ";
	case 0x2022:
	case 0xb7:
		return "*";
	case 0xb0:
		return "o";
	default:
		return "?";
	}
}

char *render_gsm7(const char *utf8)
{
	char *c = clean(utf8, true, 0);
	utf8proc_uint8_t *nfd = utf8proc_NFD((const utf8proc_uint8_t *)c);
	const char *src = nfd != NULL ? (const char *)nfd : c;
	struct sbuf b = {0};
	while (*src != '\0') {
		int32_t cp = next_cp(&src);
		utf8proc_category_t cat = utf8proc_category(cp);
		if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
		    cat == UTF8PROC_CATEGORY_ME)
			continue; /* the diacritics: tone marks, circumflex, breve, horn */
		if (gsm_width(cp) > 0)
			sb_codepoint(&b, cp);
		else
			sb_puts(&b, gsm_substitute(cp));
	}
	free(nfd);
	free(c);
	return sb_take(&b);
}

unsigned render_sms_segments(const char *utf8, bool ucs2)
{
	const char *s;
	if (!ucs2)
		for (s = utf8; *s != '\0';)
			if (gsm_width(next_cp(&s)) == 0) {
				ucs2 = true;
				break;
			}
	size_t single = ucs2 ? 70 : 160, part = ucs2 ? 67 : 153, total = 0;
	for (s = utf8; *s != '\0';) {
		int32_t cp = next_cp(&s);
		total += ucs2 ? (cp > 0xffff ? 2 : 1) : (size_t)gsm_width(cp);
	}
	if (total <= single)
		return 1;
	/* Concatenated: a character (escape pair, surrogate pair) never straddles two parts. */
	unsigned parts = 1;
	size_t used = 0;
	for (s = utf8; *s != '\0';) {
		int32_t cp = next_cp(&s);
		size_t w = ucs2 ? (cp > 0xffff ? 2 : 1) : (size_t)gsm_width(cp);
		if (used + w > part) {
			parts++;
			used = 0;
		}
		used += w;
	}
	return parts;
}

int render_sms(const struct renderer *r, const struct report *rep, const struct notification *n,
               const struct render_options *o, const uint8_t *notification, size_t len, char **text,
               unsigned *segments, char *err, size_t errlen)
{
	const struct language *lang = pick_language(r, o, err, errlen);
	if (lang == NULL)
		return -1;
	if (notification == NULL || len == 0)
		return seterr(err, errlen,
		              "SMS cần thông báo đã ký / an SMS needs the signed notification");
	char code[11];
	notify_sms_code(notification, len, code);
	struct values vs;
	/* No clear fields at all: the SMS template cannot name them, and they are not even
	 * computed. */
	values_fill(&vs, lang, rep, n, o, code, false);
	char *raw = substitute(&lang->templates[T_SMS], &vs);
	values_clear(&vs);
	char *line = clean(raw, false, 0);
	free(raw);
	char *out = o->sms_ucs2 ? render_nfc(line) : render_gsm7(line);
	free(line);
	*segments = render_sms_segments(out, o->sms_ucs2);
	*text = out;
	return 0;
}

/* ---- webhook JSON --------------------------------------------------------------------------- */

static void json_escape_into(struct sbuf *b, const char *s)
{
	while (*s != '\0') {
		const char *start = s;
		int32_t cp = next_cp(&s);
		switch (cp) {
		case '"':
			sb_puts(b, "\\\"");
			break;
		case '\\':
			sb_puts(b, "\\\\");
			break;
		case '\n':
			sb_puts(b, "\\n");
			break;
		case '\r':
			sb_puts(b, "\\r");
			break;
		case '\t':
			sb_puts(b, "\\t");
			break;
		case '\b':
			sb_puts(b, "\\b");
			break;
		case '\f':
			sb_puts(b, "\\f");
			break;
		default:
			if (cp_unwanted(cp))
				sb_printf(b, "\\u%04x", (unsigned)cp);
			else if (cp == 0xfffd &&
			         !(s - start == 3 && memcmp(start, "\xef\xbf\xbd", 3) == 0))
				sb_puts(b, "\\ufffd"); /* an invalid byte */
			else
				sb_put(b, start, (size_t)(s - start));
		}
	}
}

char *render_json_escape(const char *s)
{
	struct sbuf b = {0};
	json_escape_into(&b, s);
	return sb_take(&b);
}

static void json_str(struct sbuf *b, const char *s)
{
	sb_puts(b, "\"");
	json_escape_into(b, s != NULL ? s : "");
	sb_puts(b, "\"");
}

static void json_key(struct sbuf *b, bool *first, const char *key)
{
	if (!*first)
		sb_puts(b, ",");
	*first = false;
	json_str(b, key);
	sb_puts(b, ":");
}

/* A report time as ISO 8601 in Vietnam's offset, the way the unit wrote it. */
static void iso_local_time(struct sbuf *b, uint64_t secs)
{
	time_t t = (time_t)secs + HCM_OFFSET;
	struct tm tm;
	char buf[40];
	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	sb_printf(b, "\"%s+07:00\"", buf);
}

static void json_field(struct sbuf *b, const struct report *rep, const struct report_field *f)
{
	const char *base = (const char *)rep + f->offset;
	switch (f->type) {
	case RF_TIME:
		iso_local_time(b, *(const uint64_t *)base);
		break;
	case RF_UINT:
		sb_printf(b, "%llu", (unsigned long long)*(const uint64_t *)base);
		break;
	case RF_BOOL:
		sb_puts(b, *(const bool *)base ? "true" : "false");
		break;
	case RF_LIST: {
		const struct strlist *l = (const struct strlist *)base;
		sb_puts(b, "[");
		for (size_t i = 0; i < l->count; i++) {
			if (i > 0)
				sb_puts(b, ",");
			json_str(b, l->items[i]);
		}
		sb_puts(b, "]");
		break;
	}
	default:
		json_str(b, *(char *const *)base);
		break;
	}
}

int render_webhook(const struct renderer *r, const struct report *rep, const struct notification *n,
                   const struct render_options *o, const uint8_t *notification, size_t len,
                   char **json, char *err, size_t errlen)
{
	const struct language *lang = pick_language(r, o, err, errlen);
	if (lang == NULL || check_fields(o, err, errlen) != 0)
		return -1;
	if (notification == NULL || len == 0)
		return seterr(
		    err, errlen,
		    "webhook cần thông báo đã ký / a webhook needs the signed notification");
	struct values vs;
	values_fill(&vs, lang, rep, n, o, NULL, false);
	char *subject_raw = substitute(&lang->templates[T_SUBJECT], &vs);
	char *subject = clean(subject_raw, false, SUBJECT_MAX_CHARS);
	free(subject_raw);
	bool drill = is_drill(rep, n);
	struct sbuf b = {0};
	bool first = true;
	sb_puts(&b, "{\"type\":\"incident.report\",\"timestamp\":");
	char ms[8];
	snprintf(ms, sizeof ms, ".%03u", (unsigned)(n->received_ms % 1000));
	{
		time_t t = (time_t)(n->received_ms / 1000);
		struct tm tm;
		char buf[40];
		gmtime_r(&t, &tm);
		strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
		sb_printf(&b, "\"%s%sZ\"", buf, ms);
	}
	sb_puts(&b, ",\"data\":{");
	json_key(&b, &first, "notification_id");
	json_str(&b, n->nid);
	json_key(&b, &first, "report_id");
	json_str(&b, n->report_id);
	json_key(&b, &first, "incident_id");
	json_str(&b, vs.v[P_INCIDENT_ID]);
	json_key(&b, &first, "agency");
	json_str(&b, n->agency);
	json_key(&b, &first, "agency_name");
	json_str(&b, vs.v[P_AGENCY_NAME]);
	json_key(&b, &first, "recipient");
	json_str(&b, n->recipient);
	json_key(&b, &first, "channel");
	json_str(&b, n->channel);
	json_key(&b, &first, "kind");
	json_str(&b, vs.v[P_KIND]);
	json_key(&b, &first, "kind_label");
	json_str(&b, vs.v[P_KIND_LABEL]);
	json_key(&b, &first, "drill");
	sb_puts(&b, drill ? "true" : "false");
	if (drill) {
		json_key(&b, &first, "drill_label");
		json_str(&b, label_get(lang, "drill_label"));
	}
	json_key(&b, &first, "category");
	json_str(&b, rep->category);
	json_key(&b, &first, "category_label");
	json_str(&b, vs.v[P_CATEGORY_LABEL]);
	json_key(&b, &first, "severity");
	json_str(&b, rep->severity);
	json_key(&b, &first, "severity_label");
	json_str(&b, vs.v[P_SEVERITY_LABEL]);
	json_key(&b, &first, "confidential");
	sb_puts(&b, rep->confidential ? "true" : "false");
	json_key(&b, &first, "received_ms");
	sb_printf(&b, "%llu", (unsigned long long)n->received_ms);
	json_key(&b, &first, "received_time");
	json_str(&b, vs.v[P_RECEIVED_TIME]);
	json_key(&b, &first, "log_index");
	sb_printf(&b, "%llu", (unsigned long long)n->log_index);
	json_key(&b, &first, "subject");
	json_str(&b, subject);
	json_key(&b, &first, "fields");
	sb_puts(&b, "{");
	bool ffirst = true;
	for (size_t i = 0; i < report_field_count; i++) {
		const struct report_field *f = &report_fields[i];
		if (!field_visible(rep, o, f->key) || !field_present(rep, f))
			continue;
		json_key(&b, &ffirst, f->key);
		json_field(&b, rep, f);
	}
	sb_puts(&b, "}");
	if (o->ack_url != NULL && *o->ack_url) {
		json_key(&b, &first, "ack_url");
		json_str(&b, o->ack_url);
	}
	json_key(&b, &first, "notification");
	char *b64 = b64_encode(notification, len);
	sb_puts(&b, "\""); /* base64 needs no JSON escaping */
	sb_puts(&b, b64);
	sb_puts(&b, "\"");
	free(b64);
	sb_puts(&b, "}}");
	free(subject);
	values_clear(&vs);
	*json = sb_take(&b);
	return 0;
}
