/* recipient.c: notifications as recipients get them: from an email, a webhook body or a file;
 * opened. */
#include "recipient.h"

#include "mpack.h"
#include "util.h"

#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <utf8proc.h>

#define MIME_MAX_DEPTH  5
#define MIME_MAX_PARTS  64
#define MIME_HEADER_MAX 4096
#define JSON_MAX_DEPTH  32

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_put(struct sbuf *b, const void *s, size_t n)
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

/* ---- MIME ----------------------------------------------------------------------------------- */

struct mime_found {
	uint8_t *data;
	size_t len;
	unsigned count;
	unsigned parts;
};

/* The end of the line starting at p (at the LF, or end), and where the next line starts. */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL) {
		*next = end;
		return end;
	}
	*next = nl + 1;
	return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

/* Header value (unfolded) of name in the header block [p, end); empty when absent. */
static void header_get(const char *p, const char *end, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name), used = 0;
	bool in = false;
	out[0] = '\0';
	while (p < end) {
		const char *next;
		const char *le = line_end(p, end, &next);
		if (p < le && (*p == ' ' || *p == '\t')) {
			if (in) { /* a folded continuation line */
				for (const char *c = p; c < le && used + 1 < cap; c++)
					out[used++] = *c;
				out[used] = '\0';
			}
		} else {
			in = false;
			if ((size_t)(le - p) > nl && strncasecmp(p, name, nl) == 0 &&
			    p[nl] == ':') {
				in = true;
				used = 0;
				for (const char *c = p + nl + 1; c < le && used + 1 < cap; c++)
					out[used++] = *c;
				out[used] = '\0';
			}
		}
		p = next;
	}
}

/* The value of parameter name in a structured header value ("type; a=b; c=\"d\""); "" if absent. */
static void header_param(const char *value, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	out[0] = '\0';
	const char *p = strchr(value, ';');
	while (p != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, name, nl) == 0 && (p[nl] == '=' || p[nl] == ' ')) {
			const char *v = p + nl;
			while (*v == ' ')
				v++;
			if (*v != '=')
				goto next;
			v++;
			while (*v == ' ')
				v++;
			size_t used = 0;
			if (*v == '"') {
				for (v++; *v != '\0' && *v != '"' && used + 1 < cap; v++) {
					if (*v == '\\' && v[1] != '\0')
						v++;
					out[used++] = *v;
				}
			} else {
				for (; *v != '\0' && *v != ';' && *v != ' ' && *v != '\t' &&
				       used + 1 < cap;
				     v++)
					out[used++] = *v;
			}
			out[used] = '\0';
			return;
		}
	next:
		p = strchr(p, ';');
	}
}

/* The media type of a Content-Type value, lower-cased, without parameters. */
static void media_type(const char *value, char *out, size_t cap)
{
	size_t used = 0;
	const char *v = value;
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v != '\0' && *v != ';' && *v != ' ' && used + 1 < cap; v++)
		out[used++] = (char)tolower((unsigned char)*v);
	out[used] = '\0';
}

static int decode_base64_body(const char *p, const char *end, uint8_t **out, size_t *outlen)
{
	struct sbuf clean = {0};
	for (; p < end; p++)
		if (!isspace((unsigned char)*p))
			sb_put(&clean, p, 1);
	size_t cap = clean.len / 4 * 3 + 3;
	uint8_t *buf = xmalloc(cap);
	long n = clean.len > 0 ? b64_decode(buf, cap, clean.p, clean.len) : -1;
	free(clean.p);
	if (n < 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = (size_t)n;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int decode_qp_body(const char *p, const char *end, uint8_t **out, size_t *outlen)
{
	struct sbuf b = {0};
	while (p < end) {
		if (*p == '=') {
			if (p + 1 < end && p[1] == '\n') {
				p += 2;
				continue;
			}
			if (p + 2 < end && p[1] == '\r' && p[2] == '\n') {
				p += 3;
				continue;
			}
			if (p + 2 < end && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
				uint8_t c = (uint8_t)(hexval(p[1]) << 4 | hexval(p[2]));
				sb_put(&b, &c, 1);
				p += 3;
				continue;
			}
			free(b.p);
			return -1;
		}
		if (*p == '\r' && p + 1 < end && p[1] == '\n') {
			sb_put(&b, "\r\n", 2);
			p += 2;
			continue;
		}
		sb_put(&b, p, 1);
		p++;
	}
	*out = b.p != NULL ? (uint8_t *)b.p : xmalloc(1);
	*outlen = b.len;
	return 0;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int mime_part(const char *p, const char *end, unsigned depth, struct mime_found *f,
                     char *err, size_t errlen)
{
	if (depth > MIME_MAX_DEPTH)
		return seterr(err, errlen, "thư lồng nhau quá sâu / MIME nesting too deep");
	if (++f->parts > MIME_MAX_PARTS)
		return seterr(err, errlen, "thư có quá nhiều phần / too many MIME parts");
	/* Headers end at the first empty line. */
	const char *hend = p, *body = end, *q = p;
	while (q < end) {
		const char *next;
		const char *le = line_end(q, end, &next);
		if (le == q) {
			hend = q;
			body = next;
			break;
		}
		q = next;
		hend = q;
	}
	char ctype[MIME_HEADER_MAX], cte[256], disp[MIME_HEADER_MAX], type[128], name[256];
	header_get(p, hend, "Content-Type", ctype, sizeof ctype);
	header_get(p, hend, "Content-Transfer-Encoding", cte, sizeof cte);
	header_get(p, hend, "Content-Disposition", disp, sizeof disp);
	media_type(ctype, type, sizeof type);
	if (strncmp(type, "multipart/", 10) == 0) {
		char boundary[128], delim[140];
		header_param(ctype, "boundary", boundary, sizeof boundary);
		if (boundary[0] == '\0')
			return seterr(err, errlen,
			              "multipart không có boundary / multipart without a boundary");
		int dl = snprintf(delim, sizeof delim, "--%s", boundary);
		const char *part = NULL;
		for (q = body; q < end;) {
			const char *next;
			const char *le = line_end(q, end, &next);
			size_t n = (size_t)(le - q);
			while (n > 0 && (q[n - 1] == ' ' || q[n - 1] == '\t'))
				n--;
			bool is_delim = n >= (size_t)dl && memcmp(q, delim, (size_t)dl) == 0 &&
			                (n == (size_t)dl ||
			                 (n == (size_t)dl + 2 && q[dl] == '-' && q[dl + 1] == '-'));
			if (is_delim) {
				if (part != NULL) {
					/* The line break before a delimiter belongs to the
					 * delimiter. */
					const char *pe = q;
					if (pe > part && pe[-1] == '\n')
						pe--;
					if (pe > part && pe[-1] == '\r')
						pe--;
					if (mime_part(part, pe, depth + 1, f, err, errlen) != 0)
						return -1;
				}
				if (n == (size_t)dl + 2)
					return 0; /* the closing delimiter */
				part = next;
			}
			q = next;
		}
		/* No closing delimiter: the last part runs to the end, as lenient readers take it.
		 */
		return part != NULL ? mime_part(part, end, depth + 1, f, err, errlen) : 0;
	}
	header_param(disp, "filename", name, sizeof name);
	if (name[0] == '\0')
		header_param(ctype, "name", name, sizeof name);
	if (!ends_with_ci(name, ".tbsc") && strcmp(type, "application/vnd.tbsc.notification") != 0)
		return 0;
	uint8_t *data = NULL;
	size_t len = 0;
	char enc[64];
	media_type(cte, enc, sizeof enc);
	int rc;
	if (strcmp(enc, "base64") == 0)
		rc = decode_base64_body(body, end, &data, &len);
	else if (strcmp(enc, "quoted-printable") == 0)
		rc = decode_qp_body(body, end, &data, &len);
	else if (enc[0] == '\0' || strcmp(enc, "7bit") == 0 || strcmp(enc, "8bit") == 0 ||
	         strcmp(enc, "binary") == 0) {
		len = (size_t)(end - body);
		data = xmalloc(len > 0 ? len : 1);
		if (len > 0)
			memcpy(data, body, len);
		rc = 0;
	} else {
		return seterr(err, errlen,
		              "tệp đính kèm mã hóa lạ \"%.40s\" / unknown transfer encoding", enc);
	}
	if (rc != 0)
		return seterr(err, errlen,
		              "tệp đính kèm %s: mã hóa hỏng / attachment %s: bad encoding", name,
		              name);
	if (f->count > 0) {
		bool same = f->len == len && memcmp(f->data, data, len) == 0;
		free(data);
		if (!same)
			return seterr(err, errlen,
			              "thư có nhiều thông báo khác nhau / the message carries more "
			              "than one notification");
		return 0;
	}
	f->data = data;
	f->len = len;
	f->count = 1;
	return 0;
}

int mime_notification(const char *msg, size_t len, uint8_t **out, size_t *outlen, char *err,
                      size_t errlen)
{
	struct mime_found f;
	memset(&f, 0, sizeof f);
	*out = NULL;
	*outlen = 0;
	if (len > RECIPIENT_EMAIL_MAX)
		return seterr(err, errlen, "thư quá lớn / message too large");
	if (mime_part(msg, msg + len, 0, &f, err, errlen) != 0) {
		free(f.data);
		return -1;
	}
	if (f.count == 0)
		return seterr(err, errlen,
		              "thư không có tệp thông báo .tbsc đính kèm / no .tbsc notification "
		              "attached to the message");
	*out = f.data;
	*outlen = f.len;
	return 0;
}

/* ---- JSON ----------------------------------------------------------------------------------- */

struct json {
	const char *start, *p, *end;
	const char *member;
	char *found;
	char *err;
	size_t errlen;
};

static int json_fail(struct json *j, const char *what)
{
	return seterr(j->err, j->errlen, "JSON không hợp lệ (%s, byte %ld) / malformed JSON", what,
	              (long)(j->p - j->start));
}

static void json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int json_hex4(struct json *j, uint32_t *v)
{
	*v = 0;
	if (j->end - j->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hexval((unsigned char)j->p[i]);
		if (h < 0)
			return -1;
		*v = *v << 4 | (uint32_t)h;
	}
	j->p += 4;
	return 0;
}

/* A string at j->p (on its opening quote); decoded into out when out is not NULL. */
static int json_string(struct json *j, struct sbuf *out)
{
	j->p++;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p;
		if (c == '"') {
			j->p++;
			if (out != NULL && out->p == NULL)
				sb_put(out, "", 0);
			return 0;
		}
		if (c < 0x20)
			return json_fail(j, "control character in a string");
		if (c != '\\') {
			if (out != NULL)
				sb_put(out, j->p, 1);
			j->p++;
			continue;
		}
		j->p++;
		if (j->p >= j->end)
			break;
		char e = *j->p++;
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e != '\0' && simple != NULL) {
			static const char repl[] = "\"\\/\b\f\n\r\t";
			if (out != NULL)
				sb_put(out, &repl[simple - "\"\\/bfnrt"], 1);
			continue;
		}
		if (e != 'u')
			return json_fail(j, "bad escape");
		uint32_t cp;
		if (json_hex4(j, &cp) != 0)
			return json_fail(j, "bad \\u escape");
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return json_fail(j, "lone low surrogate");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo;
			if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
				return json_fail(j, "lone high surrogate");
			j->p += 2;
			if (json_hex4(j, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
				return json_fail(j, "bad surrogate pair");
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (out != NULL) {
			uint8_t u[4];
			utf8proc_ssize_t n = utf8proc_encode_char((utf8proc_int32_t)cp, u);
			sb_put(out, u, (size_t)n);
		}
	}
	return json_fail(j, "unterminated string");
}

static int json_number(struct json *j)
{
	const char *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	size_t digits = 0;
	while (j->p < j->end && isdigit((unsigned char)*j->p))
		j->p++, digits++;
	if (digits == 0)
		return json_fail(j, "bad number");
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		digits = 0;
		while (j->p < j->end && isdigit((unsigned char)*j->p))
			j->p++, digits++;
		if (digits == 0)
			return json_fail(j, "bad number");
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		digits = 0;
		while (j->p < j->end && isdigit((unsigned char)*j->p))
			j->p++, digits++;
		if (digits == 0)
			return json_fail(j, "bad number");
	}
	return j->p > s ? 0 : json_fail(j, "bad number");
}

/* level: 0 the document, 1 the value of top-level "data", 2 the value of data.<member>, -1 other.
 */
static int json_value(struct json *j, int level, unsigned depth)
{
	if (depth > JSON_MAX_DEPTH)
		return json_fail(j, "nested too deeply");
	json_ws(j);
	if (j->p >= j->end)
		return json_fail(j, "value expected");
	char c = *j->p;
	if (level == 0 && c != '{')
		return json_fail(j, "the body must be an object");
	if (level == 2) {
		if (c != '"')
			return seterr(j->err, j->errlen,
			              "data.%s: phải là chuỗi / must be a string", j->member);
		if (j->found != NULL)
			return seterr(j->err, j->errlen, "data.%s: lặp lại / duplicated",
			              j->member);
		struct sbuf s = {0};
		if (json_string(j, &s) != 0) {
			free(s.p);
			return -1;
		}
		j->found = s.p;
		return 0;
	}
	if (c == '{') {
		j->p++;
		json_ws(j);
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return 0;
		}
		for (;;) {
			json_ws(j);
			if (j->p >= j->end || *j->p != '"')
				return json_fail(j, "key expected");
			struct sbuf key = {0};
			if (json_string(j, &key) != 0) {
				free(key.p);
				return -1;
			}
			int child = -1;
			if (level == 0 && strcmp(key.p, "data") == 0)
				child = 1;
			else if (level == 1 && strcmp(key.p, j->member) == 0)
				child = 2;
			free(key.p);
			json_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return json_fail(j, "':' expected");
			j->p++;
			if (json_value(j, child, depth + 1) != 0)
				return -1;
			json_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == '}') {
				j->p++;
				return 0;
			}
			return json_fail(j, "',' or '}' expected");
		}
	}
	if (c == '[') {
		j->p++;
		json_ws(j);
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return 0;
		}
		for (;;) {
			if (json_value(j, -1, depth + 1) != 0)
				return -1;
			json_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == ']') {
				j->p++;
				return 0;
			}
			return json_fail(j, "',' or ']' expected");
		}
	}
	if (c == '"')
		return json_string(j, NULL);
	static const char *const literals[] = {"true", "false", "null"};
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(literals[i]);
		if ((size_t)(j->end - j->p) >= n && memcmp(j->p, literals[i], n) == 0) {
			j->p += n;
			return 0;
		}
	}
	return json_number(j);
}

int webhook_data_string(const char *json, size_t len, const char *member, char **out, char *err,
                        size_t errlen)
{
	*out = NULL;
	if (len > RECIPIENT_WEBHOOK_MAX)
		return seterr(err, errlen, "nội dung webhook quá lớn / webhook body too large");
	if (!utf8_valid((const uint8_t *)json, len))
		return seterr(err, errlen,
		              "nội dung webhook không phải UTF-8 / webhook body is not UTF-8");
	struct json j = {json, json, json + len, member, NULL, err, errlen};
	if (json_value(&j, 0, 0) != 0) {
		free(j.found);
		return -1;
	}
	json_ws(&j);
	if (j.p != j.end) {
		free(j.found);
		return json_fail(&j, "trailing bytes");
	}
	if (j.found == NULL)
		return seterr(err, errlen, "data.%s: thiếu / missing", member);
	*out = j.found;
	return 0;
}

int webhook_notification(const char *json, size_t len, uint8_t **out, size_t *outlen, char *err,
                         size_t errlen)
{
	char *b64 = NULL;
	*out = NULL;
	*outlen = 0;
	if (webhook_data_string(json, len, "notification", &b64, err, errlen) != 0)
		return -1;
	size_t n = strlen(b64), cap = n / 4 * 3 + 3;
	uint8_t *buf = xmalloc(cap);
	long got = n > 0 ? b64_decode(buf, cap, b64, n) : -1;
	free(b64);
	if (got <= 0) {
		free(buf);
		return seterr(err, errlen, "data.notification: không phải base64 / not base64");
	}
	*out = buf;
	*outlen = (size_t)got;
	return 0;
}

int webhook_matches(const char *json, size_t len, const struct notification *n, char *err,
                    size_t errlen)
{
	static const char *const members[] = {"notification_id", "report_id", "incident_id"};
	const char *want[] = {n->nid, n->report_id, n->incident_id};
	for (size_t i = 0; i < 3; i++) {
		char *v = NULL;
		if (webhook_data_string(json, len, members[i], &v, err, errlen) != 0)
			return -1;
		bool same = strcmp(v, want[i]) == 0;
		free(v);
		if (!same)
			return seterr(err, errlen,
			              "data.%s khác với thông báo đã ký / data.%s differs from the "
			              "signed notification",
			              members[i], members[i]);
	}
	return 0;
}

/* ---- SMS ------------------------------------------------------------------------------------ */

bool sms_text_has_code(const char *text, const char code[11], char found[11])
{
	bool match = false;
	found[0] = '\0';
	for (const char *p = text; *p != '\0';) {
		if (!isalnum((unsigned char)*p)) {
			p++;
			continue;
		}
		const char *w = p;
		while (isalnum((unsigned char)*p))
			p++;
		if (p - w != 10)
			continue;
		char word[11];
		bool ok = true;
		for (int i = 0; i < 10; i++) {
			word[i] = (char)toupper((unsigned char)w[i]);
			ok = ok && strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", word[i]) != NULL;
		}
		word[10] = '\0';
		if (!ok)
			continue;
		if (found[0] == '\0')
			memcpy(found, word, 11);
		if (sodium_memcmp(word, code, 10) == 0)
			match = true;
	}
	return match;
}

/* ---- reading and checking ------------------------------------------------------------------ */

int recipient_check(const struct recipient_input *in, const uint8_t relay_pk[KEY_PK_BYTES],
                    struct notification *n, uint8_t **bytes, size_t *len, char *err, size_t errlen)
{
	uint8_t *raw = NULL, *notification = NULL;
	size_t raw_len = 0, notification_len = 0;
	int rc = 2;
	memset(n, 0, sizeof *n);
	*bytes = NULL;
	*len = 0;
	int sources = (in->notification_path != NULL) + (in->email_path != NULL) +
	              (in->webhook_body_path != NULL);
	int headers = (in->webhook_id != NULL) + (in->webhook_timestamp != NULL) +
	              (in->webhook_signature != NULL);
	if (sources != 1) {
		seterr(err, errlen,
		       "cần đúng một trong --notification, --email, --webhook-body / exactly one "
		       "of --notification, "
		       "--email, --webhook-body");
		return 2;
	}
	if (headers != 0 && (headers != 3 || in->webhook_body_path == NULL)) {
		seterr(err, errlen,
		       "--webhook-id, --webhook-timestamp, --webhook-signature đi cùng nhau và với "
		       "--webhook-body / "
		       "go together, with --webhook-body");
		return 2;
	}
	const char *path = in->notification_path ? in->notification_path
	                   : in->email_path      ? in->email_path
	                                         : in->webhook_body_path;
	size_t max = in->notification_path ? RECIPIENT_NOTIFICATION_MAX
	             : in->email_path      ? RECIPIENT_EMAIL_MAX
	                                   : RECIPIENT_WEBHOOK_MAX;
	if (file_read_all(path, max, &raw, &raw_len, err, errlen) != 0)
		return 2;
	rc = 1;
	if (in->notification_path != NULL) {
		notification = raw;
		notification_len = raw_len;
		raw = NULL;
	} else if (in->email_path != NULL) {
		if (mime_notification((const char *)raw, raw_len, &notification, &notification_len,
		                      err, errlen) != 0)
			goto cleanup;
	} else {
		if (headers == 3 &&
		    webhook_verify(relay_pk, in->webhook_id, in->webhook_timestamp,
		                   (const char *)raw, raw_len, in->webhook_signature) != 0) {
			seterr(err, errlen,
			       "chữ ký webhook v1a không hợp lệ (sai khóa relay, nội dung hoặc "
			       "tiêu đề bị sửa) / bad v1a "
			       "webhook signature (wrong relay key, or body or headers altered)");
			goto cleanup;
		}
		if (webhook_notification((const char *)raw, raw_len, &notification,
		                         &notification_len, err, errlen) != 0)
			goto cleanup;
	}
	if (notify_verify(notification, notification_len, relay_pk, n, err, errlen) != 0)
		goto cleanup;
	if (in->webhook_body_path != NULL) {
		if (webhook_matches((const char *)raw, raw_len, n, err, errlen) != 0)
			goto cleanup;
		if (headers == 3 && strcmp(in->webhook_id, n->nid) != 0) {
			seterr(err, errlen,
			       "webhook-id %.64s không phải mã thông báo %s / webhook-id is not "
			       "the notification id %s",
			       in->webhook_id, n->nid, n->nid);
			goto cleanup;
		}
	}
	*bytes = notification;
	*len = notification_len;
	notification = NULL;
	rc = 0;
cleanup:
	if (rc != 0)
		notify_clear(n);
	free(raw);
	free(notification);
	return rc;
}

/* ---- opening -------------------------------------------------------------------------------- */

void opened_report_clear(struct opened_report *o)
{
	if (o == NULL)
		return;
	report_clear(&o->rep);
	if (o->plain != NULL)
		sodium_memzero(o->plain, o->plain_len);
	free(o->plain);
	memset(o, 0, sizeof *o);
}

int recipient_open(const struct notification *n, const struct keypair *key,
                   const struct registry *reg, struct opened_report *out, char *err, size_t errlen)
{
	char e[ERRBUF_MAX];
	memset(out, 0, sizeof *out);
	report_init(&out->rep);
	if (notify_open(n, key, &out->plain, &out->plain_len, err, errlen) != 0)
		return -1;
	/* From here on the bytes are this recipient's: whatever is wrong is wrong with the report.
	 */
	if (signed_report_decode(out->plain, out->plain_len, &out->sr, e, sizeof e) != 0) {
		seterr(err, errlen, "báo cáo ký hỏng / malformed signed report: %s", e);
		return -2;
	}
	if (strcmp(out->sr.agency, n->agency) != 0) {
		seterr(err, errlen,
		       "relay ghi đơn vị %s nhưng báo cáo do %s ký / the relay names agency %s but "
		       "the report is signed "
		       "by %s",
		       n->agency, out->sr.agency, n->agency, out->sr.agency);
		return -2;
	}
	const struct registry_key *k = NULL;
	const struct agency *a = NULL;
	char kid[2 * KEY_ID_BYTES + 1];
	hex_encode(kid, out->sr.kid, KEY_ID_BYTES);
	enum registry_verdict v = registry_lookup(reg, out->sr.agency, out->sr.kid,
	                                          (int64_t)(n->received_ms / 1000), &k, &a);
	if (a != NULL && a->name != NULL)
		snprintf(out->agency_name, sizeof out->agency_name, "%s", a->name);
	if (v != REGISTRY_OK) {
		seterr(err, errlen, "đơn vị %s, khóa %s: %s / agency %s, key %s", out->sr.agency,
		       kid, registry_verdict_text(v), out->sr.agency, kid);
		return -2;
	}
	if (signed_report_verify(&out->sr, k->pk) != 0) {
		seterr(err, errlen,
		       "chữ ký của đơn vị %s trên báo cáo không hợp lệ / the agency %s's signature "
		       "on the report is not "
		       "valid",
		       out->sr.agency, out->sr.agency);
		return -2;
	}
	if (report_decode(out->sr.report, out->sr.report_len, &out->rep, e, sizeof e) != 0) {
		seterr(err, errlen, "báo cáo hỏng / malformed report: %s", e);
		return -2;
	}
	const struct report *r = &out->rep;
	const char *differs = NULL;
	if (r->incident_id == NULL || strcmp(r->incident_id, n->incident_id) != 0)
		differs = "incident_id";
	else if (strcmp(report_kind_names[r->kind], n->kind) != 0)
		differs = "kind";
	else if (r->drill != n->drill)
		differs = "drill";
	if (differs != NULL) {
		seterr(err, errlen,
		       "%s trong báo cáo khác với xác nhận của relay / the report's %s differs "
		       "from the relay's "
		       "attestation",
		       differs, differs);
		return -2;
	}
	return 0;
}

/* ---- printing ------------------------------------------------------------------------------- */

void recipient_local_time(uint64_t secs, char *buf, size_t len)
{
	time_t t = (time_t)secs + 7 * 3600; /* Asia/Ho_Chi_Minh has no daylight saving time */
	struct tm tm;
	gmtime_r(&t, &tm);
	if (strftime(buf, len, "%Y-%m-%d %H:%M:%S (UTC+07:00)", &tm) == 0 && len > 0)
		buf[0] = '\0';
}

/* Width on screen of UTF-8 text: its code points (Vietnamese letters are one column each). */
static size_t columns(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

void recipient_print_row(FILE *f, const char *label, const char *fmt, ...)
{
	va_list ap;
	fprintf(f, "  %s", label);
	for (size_t w = columns(label); w < 40; w++)
		fputc(' ', f);
	fputc(' ', f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

void recipient_print_attestation(FILE *f, const struct notification *n)
{
	char when[64], hash[2 * WIRE_HASH_BYTES + 1];
	int kind = report_kind_from_name(n->kind);
	recipient_local_time(n->received_ms / 1000, when, sizeof when);
	hex_encode(hash, n->report_hash, WIRE_HASH_BYTES);
	recipient_print_row(f, "Mã thông báo / notification id", "%s", n->nid);
	recipient_print_row(f, "Mã báo cáo / report id", "%s", n->report_id);
	recipient_print_row(f, "Băm phong bì / envelope hash", "%s", hash);
	recipient_print_row(f, "Mã sự cố / incident id", "%s", n->incident_id);
	recipient_print_row(f, "Loại báo cáo / kind", "%s (%s)",
	                    kind >= 0 ? report_kind_labels_vi[kind] : "?", n->kind);
	recipient_print_row(f, "Đơn vị báo cáo / reporting agency", "%s", n->agency);
	recipient_print_row(f, "Relay nhận lúc / received", "%s", when);
	recipient_print_row(f, "Vị trí nhật ký / log index", "%llu",
	                    (unsigned long long)n->log_index);
	recipient_print_row(f, "Người nhận / recipient", "%s", n->recipient);
	recipient_print_row(f, "Kênh / channel", "%s", n->channel);
	recipient_print_row(f, "Diễn tập / drill", "%s",
	                    n->drill ? "DIỄN TẬP / DRILL" : "không / no");
}

static void print_value(FILE *f, const struct report *rep, const struct report_field *fd)
{
	const char *base = (const char *)rep + fd->offset;
	char when[64];
	switch (fd->type) {
	case RF_TIME:
		recipient_local_time(*(const uint64_t *)base, when, sizeof when);
		fputs(when, f);
		break;
	case RF_UINT:
		fprintf(f, "%llu", (unsigned long long)*(const uint64_t *)base);
		break;
	case RF_BOOL:
		fputs(*(const bool *)base ? "có / yes" : "không / no", f);
		break;
	case RF_LIST: {
		const struct strlist *l = (const struct strlist *)base;
		for (size_t i = 0; i < l->count; i++)
			fprintf(f, "%s%s", i > 0 ? ", " : "", l->items[i]);
		break;
	}
	default:
		/* Multi-line text keeps its lines, indented under the label. */
		for (const char *p = *(char *const *)base; *p; p++) {
			if (*p == '\n')
				fputs("\n      ", f);
			else if ((unsigned char)*p >= 0x20 || *p == '\t')
				fputc(*p, f);
		}
	}
}

static bool value_present(const struct report *rep, const struct report_field *fd)
{
	const char *base = (const char *)rep + fd->offset;
	switch (fd->type) {
	case RF_TIME:
	case RF_UINT:
		return *(const uint64_t *)base != 0;
	case RF_LIST:
		return ((const struct strlist *)base)->count > 0;
	case RF_BOOL:
		return true;
	default:
		return *(char *const *)base != NULL;
	}
}

void recipient_print_report(FILE *f, const struct report *rep, const char *agency_name)
{
	if (rep->drill)
		fputs("\n  *** DIỄN TẬP / DRILL: không phải sự cố thật / not a real incident ***\n",
		      f);
	fprintf(f, "\n  %s (%s)\n", report_kind_labels_vi[rep->kind], report_kind_names[rep->kind]);
	if (agency_name != NULL && *agency_name)
		fprintf(f, "  Đơn vị báo cáo / reporting agency: %s\n", agency_name);
	fputc('\n', f);
	for (size_t i = 0; i < report_field_count; i++) {
		const struct report_field *fd = &report_fields[i];
		if (!value_present(rep, fd))
			continue;
		fprintf(f, "  %s / %s:\n      ", fd->label_vi, fd->label_en);
		print_value(f, rep, fd);
		fputc('\n', f);
	}
	if (rep->drill)
		fputs("\n  *** DIỄN TẬP / DRILL ***\n", f);
}
