/* registry.c: parse, look up and write the agency registry. */
#include "registry.h"

#include "util.h"

#include <ctype.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const registry_roles[] = {
    "unit",        "system_owner",    "commune_office", "culture_society",   "commune_police",
    "commune_irt", "national_centre", "provincial_irt", "provincial_police", "auditor",
    NULL};

struct registry *registry_new(void)
{
	return xcalloc(1, sizeof(struct registry));
}

void registry_free(struct registry *reg)
{
	if (reg == NULL)
		return;
	for (size_t i = 0; i < reg->count; i++) {
		struct agency *a = &reg->agencies[i];
		free(a->id);
		free(a->name);
		free(a->role);
		free(a->group);
		free(a->keys);
	}
	free(reg->agencies);
	free(reg);
}

bool registry_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > AGENCY_ID_MAX)
		return false;
	for (const char *p = id; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-' &&
		    *p != '_' && *p != '.')
			return false;
	return true;
}

struct agency *registry_find(const struct registry *reg, const char *id)
{
	for (size_t i = 0; i < reg->count; i++)
		if (strcmp(reg->agencies[i].id, id) == 0)
			return &reg->agencies[i];
	return NULL;
}

struct agency *registry_add(struct registry *reg, const char *id, const char *name,
                            const char *role, const char *group, char *err, size_t errlen)
{
	if (!registry_id_valid(id)) {
		seterr(
		    err, errlen,
		    "mã đơn vị không hợp lệ \"%s\" (a-z 0-9 . - _, tối đa %d) / invalid agency id",
		    id, AGENCY_ID_MAX);
		return NULL;
	}
	if (registry_find(reg, id) != NULL) {
		seterr(err, errlen, "đơn vị \"%s\" đã có / agency already registered", id);
		return NULL;
	}
	reg->agencies = xrealloc(reg->agencies, (reg->count + 1) * sizeof *reg->agencies);
	struct agency *a = &reg->agencies[reg->count++];
	memset(a, 0, sizeof *a);
	a->id = xstrdup(id);
	a->name = xstrdup(name ? name : id);
	a->role = xstrdup(role ? role : "unit");
	a->group = xstrdup(group ? group : "");
	return a;
}

void agency_add_key(struct agency *a, const uint8_t pk[KEY_PK_BYTES], int64_t from, int64_t until)
{
	a->keys = xrealloc(a->keys, (a->key_count + 1) * sizeof *a->keys);
	struct registry_key *k = &a->keys[a->key_count++];
	memset(k, 0, sizeof *k);
	memcpy(k->pk, pk, KEY_PK_BYTES);
	key_id(pk, k->kid);
	k->valid_from = from;
	k->valid_until = until;
}

static int parse_date(const char *s, int64_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *rest = strptime(s, "%Y-%m-%d", &tm);
	if (rest == NULL || *rest != '\0')
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static void format_date(char *buf, size_t n, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%d", &tm);
}

struct parse_state {
	FILE *f;
	const char *path;
	int line;
	struct registry *reg;
	struct agency *current;
	char *err;
	size_t errlen;
	size_t errused;
	int errors;
};

static void parse_error(struct parse_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void parse_error(struct parse_state *st, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	st->errors++;
	if (st->err == NULL || st->errused + 1 >= st->errlen)
		return;
	int n = snprintf(st->err + st->errused, st->errlen - st->errused, "%s%s:%d: %s",
	                 st->errused ? "\n" : "", st->path, st->line, msg);
	if (n > 0)
		st->errused +=
		    (size_t)n < st->errlen - st->errused ? (size_t)n : st->errlen - st->errused - 1;
}

/* inih calls the reader once per line, which lets the handler know its line number. */
static char *line_reader(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	char *r = fgets(str, num, st->f);
	if (r != NULL)
		st->line++;
	return r;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0")) {
		*out = false;
		return true;
	}
	return false;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	char reason[ERRBUF_MAX];
	if (strncmp(section, "agency ", 7) != 0) {
		parse_error(st,
		            "mục không hợp lệ [%s], cần [agency ID] / section must be [agency ID]",
		            section);
		return 1;
	}
	const char *id = section + 7;
	if (st->current == NULL || strcmp(st->current->id, id) != 0) {
		st->current = registry_find(st->reg, id);
		if (st->current == NULL) {
			st->current =
			    registry_add(st->reg, id, NULL, NULL, NULL, reason, sizeof reason);
			if (st->current == NULL) {
				parse_error(st, "%s", reason);
				return 1;
			}
		}
	}
	struct agency *a = st->current;
	if (strcmp(name, "name") == 0) {
		free(a->name);
		a->name = xstrdup(value);
	} else if (strcmp(name, "role") == 0) {
		bool ok = false;
		for (const char *const *r = registry_roles; *r; r++)
			ok |= strcmp(*r, value) == 0;
		if (!ok)
			parse_error(st, "role: vai trò không biết \"%s\" / unknown role", value);
		free(a->role);
		a->role = xstrdup(value);
	} else if (strcmp(name, "group") == 0) {
		free(a->group);
		a->group = xstrdup(value);
	} else if (strcmp(name, "revoked") == 0) {
		if (!parse_bool(value, &a->revoked))
			parse_error(st, "revoked: cần yes/no / must be yes or no");
	} else if (strcmp(name, "key") == 0) {
		/* key = <public key line> <valid from YYYY-MM-DD> <valid until YYYY-MM-DD>
		 * [revoked] */
		char b64[128], from[32], until[32], flag[32];
		flag[0] = '\0';
		int n = sscanf(value, "%127s %31s %31s %31s", b64, from, until, flag);
		uint8_t pk[KEY_PK_BYTES], kid[KEY_ID_BYTES];
		int64_t f, u;
		if (n < 3) {
			parse_error(st, "key: cần \"KHÓA TỪ-NGÀY ĐẾN-NGÀY [revoked]\" / expected "
			                "\"KEY FROM UNTIL [revoked]\"");
			return 1;
		}
		if (keyfile_parse_public(b64, pk, kid, reason, sizeof reason) != 0) {
			parse_error(st, "key: %s", reason);
			return 1;
		}
		if (parse_date(from, &f) != 0 || parse_date(until, &u) != 0 || u <= f) {
			parse_error(st, "key: ngày hiệu lực không hợp lệ / invalid validity dates");
			return 1;
		}
		if (n == 4 && strcmp(flag, "revoked") != 0) {
			parse_error(st, "key: cờ không biết \"%s\" / unknown flag", flag);
			return 1;
		}
		for (size_t i = 0; i < st->reg->count; i++)
			for (size_t j = 0; j < st->reg->agencies[i].key_count; j++)
				if (memcmp(st->reg->agencies[i].keys[j].pk, pk, KEY_PK_BYTES) ==
				    0) {
					parse_error(st,
					            "key: khóa đã thuộc đơn vị %s / key already "
					            "belongs to %s",
					            st->reg->agencies[i].id,
					            st->reg->agencies[i].id);
					return 1;
				}
		agency_add_key(a, pk, f, u);
		a->keys[a->key_count - 1].revoked = n == 4;
	} else {
		parse_error(st, "khóa cấu hình không biết \"%s\" / unknown directive", name);
	}
	return 1;
}

struct registry *registry_load(const char *path, char *err, size_t errlen)
{
	struct parse_state st;
	memset(&st, 0, sizeof st);
	st.path = path;
	st.err = err;
	st.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	st.f = fopen(path, "r");
	if (st.f == NULL) {
		seterr(err, errlen, "%s: không mở được / cannot open", path);
		return NULL;
	}
	st.reg = registry_new();
	int rc = ini_parse_stream(line_reader, &st, on_entry, &st);
	fclose(st.f);
	if (rc > 0) {
		st.line = rc;
		parse_error(&st, "dòng không hợp lệ / malformed line");
	} else if (rc < 0) {
		parse_error(&st, "lỗi đọc / read error");
	}
	if (st.errors > 0) {
		registry_free(st.reg);
		return NULL;
	}
	return st.reg;
}

int registry_save(const struct registry *reg, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		fatal("open_memstream failed");
	fprintf(f, "# Sổ đăng ký đơn vị / agency registry. Sửa bằng `incident registry`, không sửa "
	           "tay.\n");
	for (size_t i = 0; i < reg->count; i++) {
		const struct agency *a = &reg->agencies[i];
		fprintf(f, "\n[agency %s]\nname = %s\nrole = %s\ngroup = %s\nrevoked = %s\n", a->id,
		        a->name, a->role, a->group, a->revoked ? "yes" : "no");
		for (size_t j = 0; j < a->key_count; j++) {
			char from[16], until[16];
			char *line = keyfile_public_line(a->keys[j].pk);
			format_date(from, sizeof from, a->keys[j].valid_from);
			format_date(until, sizeof until, a->keys[j].valid_until);
			fprintf(f, "key = %s %s %s%s\n", line, from, until,
			        a->keys[j].revoked ? " revoked" : "");
			free(line);
		}
	}
	fclose(f);
	int rc = file_write_atomic(path, buf, len, 0644, err, errlen);
	free(buf);
	return rc;
}

enum registry_verdict registry_lookup(const struct registry *reg, const char *agency_id,
                                      const uint8_t kid[KEY_ID_BYTES], int64_t now,
                                      const struct registry_key **key, const struct agency **agency)
{
	const struct agency *a = registry_find(reg, agency_id);
	if (a == NULL)
		return REGISTRY_UNKNOWN_AGENCY;
	if (agency != NULL)
		*agency = a;
	if (a->revoked)
		return REGISTRY_AGENCY_REVOKED;
	for (size_t i = 0; i < a->key_count; i++) {
		const struct registry_key *k = &a->keys[i];
		if (memcmp(k->kid, kid, KEY_ID_BYTES) != 0)
			continue;
		if (k->revoked)
			return REGISTRY_KEY_REVOKED;
		if (now < k->valid_from)
			return REGISTRY_KEY_NOT_YET_VALID;
		if (now >= k->valid_until)
			return REGISTRY_KEY_EXPIRED;
		*key = k;
		return REGISTRY_OK;
	}
	return REGISTRY_UNKNOWN_KEY;
}

const char *registry_verdict_text(enum registry_verdict v)
{
	switch (v) {
	case REGISTRY_OK:
		return "hợp lệ / valid";
	case REGISTRY_UNKNOWN_AGENCY:
		return "đơn vị chưa đăng ký / unknown agency";
	case REGISTRY_UNKNOWN_KEY:
		return "mã khóa không thuộc đơn vị / unknown key id for this agency";
	case REGISTRY_AGENCY_REVOKED:
		return "đơn vị đã bị thu hồi / agency revoked";
	case REGISTRY_KEY_REVOKED:
		return "khóa đã bị thu hồi / key revoked";
	case REGISTRY_KEY_NOT_YET_VALID:
		return "khóa chưa có hiệu lực / key not yet valid";
	case REGISTRY_KEY_EXPIRED:
		return "khóa đã hết hạn / key expired";
	}
	return "?";
}

const struct registry_key *registry_current_key(const struct registry *reg, const char *agency_id,
                                                int64_t now)
{
	const struct agency *a = registry_find(reg, agency_id);
	const struct registry_key *best = NULL;
	if (a == NULL || a->revoked)
		return NULL;
	for (size_t i = 0; i < a->key_count; i++) {
		const struct registry_key *k = &a->keys[i];
		if (k->revoked || now < k->valid_from || now >= k->valid_until)
			continue;
		if (best == NULL || k->valid_from > best->valid_from)
			best = k;
	}
	return best;
}
