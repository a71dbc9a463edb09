/* cmd_audit.c: `incident audit`: offline verification of the relay's transparency log. */
#include "mpack.h"
#include "note.h"
#include "subcommands.h"
#include "tlog.h"
#include "util.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char USAGE[] =
    "Cách dùng / usage: incident audit --log THƯ-MỤC|URL --key KHÓA|TỆP [TÙY CHỌN]\n"
    "\n"
    "Kiểm tra ngoại tuyến nhật ký minh bạch của relay: chữ ký checkpoint, mọi ô (tile) và\n"
    "gốc cây dựng lại từ các mục, tính nhất quán với checkpoint đã thấy lần trước và giữa\n"
    "các checkpoint được lưu, và ý nghĩa của từng mục (giao sau tiếp nhận, thời gian không lùi).\n"
    "Verifies the relay's transparency log offline: the checkpoint signature, every tile and\n"
    "the root rebuilt from the entries, consistency with the checkpoint seen last time and\n"
    "between the kept checkpoints, and what each entry says (deliveries follow acceptance,\n"
    "time never goes backwards).\n"
    "\n"
    "  --log THƯ-MỤC|URL   bản sao thư mục nhật ký, hoặc URL của relay (đọc /log/...)\n"
    "                      a copy of the log directory, or the relay's URL (reads /log/...)\n"
    "  --key KHÓA|TỆP      khóa xác minh đã ghim (<tên>+<mã>+<khóa>) hoặc tệp chứa nó\n"
    "                      the pinned verifier key (<name>+<id>+<key>) or a file holding it\n"
    "  --state TỆP         checkpoint đã thấy lần trước; được cập nhật khi kiểm tra đạt\n"
    "                      the checkpoint seen last time; updated when the audit passes\n"
    "  --report MÃ         mọi người nhận, kênh, kết quả, thời gian của một báo cáo, kèm\n"
    "                      bằng chứng bao gồm của từng mục / every recipient, channel,\n"
    "                      outcome and time of one report, with each entry's inclusion proof\n"
    "  --deadline GIÂY     liệt kê báo cáo chưa giao đủ trong GIÂY giây sau khi tiếp nhận\n"
    "                      list reports not delivered to every route within SECONDS of\n"
    "                      acceptance (judged as of the log's last entry)\n"
    "  --help              trợ giúp này / this help\n"
    "\n"
    "Mã thoát / exit: 0 hợp lệ / everything holds, 1 kiểm tra không đạt (lý do ở stderr) /\n"
    "verification failed (reason on stderr), 2 lỗi sử dụng hoặc hệ thống / usage or system "
    "error.\n";

#define LISTING_MAX   ((size_t)64 << 20)
#define KEYFILE_MAX   4096
#define FIELD_MAX     256
#define ROUTES_MAX    1024
#define KEPT_MAX      ((size_t)100000000)
#define CACHE_SLOTS   256
#define REPORT_ID_HEX 32

enum { CH_EMAIL, CH_SMS, CH_WEBHOOK };
static const char *const channel_names[] = {"email", "sms", "webhook"};
enum { OUT_NONE, OUT_DELIVERED, OUT_DEFERRED, OUT_FAILED, OUT_UNDELIVERABLE };
static const char *const outcome_names[] = {"-", "delivered", "deferred", "failed",
                                            "undeliverable"};

/* ---- where the log comes from: a directory or the relay over HTTP ---- */

struct source {
	char *base;
	bool http;
	CURL *curl;
	unsigned char *buf;
	size_t len, max;
	bool overflow;
};

static size_t source_on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct source *s = user;
	size_t n = size * nmemb;
	if (n > s->max - s->len) {
		s->overflow = true;
		return 0;
	}
	s->buf = xrealloc(s->buf, s->len + n + 1);
	memcpy(s->buf + s->len, ptr, n);
	s->len += n;
	return n;
}

/*
 * Fetches rel (relative to the log root). 0 with *out malloc'd (NUL-terminated), 1 when it
 * does not exist, -1 on another error (reason in err).
 */
static int source_get(struct source *s, const char *rel, size_t max, unsigned char **out,
                      size_t *outlen, char *err, size_t errlen)
{
	if (!s->http) {
		char *path = xasprintf("%s/%s", s->base, rel);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;
			int rc = e == ENOENT ? 1 : seterr(err, errlen, "%s: %s", path, strerror(e));
			free(path);
			return rc;
		}
		struct stat st;
		if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
			close(fd);
			seterr(err, errlen, "%s: not a regular file of at most %zu bytes", path,
			       max);
			free(path);
			return -1;
		}
		size_t len = (size_t)st.st_size, got = 0;
		unsigned char *buf = xmalloc(len + 1);
		while (got < len) {
			ssize_t r = read(fd, buf + got, len - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(fd);
				free(buf);
				seterr(err, errlen, "%s: read error", path);
				free(path);
				return -1;
			}
			got += (size_t)r;
		}
		close(fd);
		free(path);
		buf[len] = '\0';
		*out = buf;
		*outlen = len;
		return 0;
	}
	char *url = xasprintf("%s/%s", s->base, rel);
	char cerr[CURL_ERROR_SIZE] = "";
	s->buf = NULL;
	s->len = 0;
	s->max = max;
	s->overflow = false;
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, cerr);
	CURLcode rc = curl_easy_perform(s->curl);
	long status = 0;
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	int ret = -1;
	if (s->overflow)
		seterr(err, errlen, "%s: larger than %zu bytes", url, max);
	else if (rc != CURLE_OK)
		seterr(err, errlen, "%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(rc));
	else if (status == 404)
		ret = 1;
	else if (status != 200)
		seterr(err, errlen, "%s: HTTP %ld", url, status);
	else
		ret = 0;
	free(url);
	if (ret != 0) {
		free(s->buf);
		s->buf = NULL;
		return ret;
	}
	if (s->buf == NULL)
		s->buf = xmalloc(1);
	s->buf[s->len] = '\0';
	*out = s->buf;
	*outlen = s->len;
	s->buf = NULL;
	return 0;
}

static int source_open(struct source *s, const char *where, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	if (strncmp(where, "http://", 7) == 0 || strncmp(where, "https://", 8) == 0) {
		s->http = true;
		size_t n = strlen(where);
		while (n > 0 && where[n - 1] == '/')
			n--;
		const char *host = strstr(where, "://") + 3;
		const char *path = memchr(host, '/', n - (size_t)(host - where));
		/* A bare relay URL: the log is served under /log/. */
		s->base = path == NULL ? xasprintf("%.*s/log", (int)n, where)
		                       : xasprintf("%.*s", (int)n, where);
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			return seterr(err, errlen, "curl_global_init failed");
		s->curl = curl_easy_init();
		if (s->curl == NULL)
			return seterr(err, errlen, "curl_easy_init failed");
		curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, source_on_data);
		curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, 10L);
		curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 120L);
		curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
		return 0;
	}
	struct stat st;
	if (stat(where, &st) != 0 || !S_ISDIR(st.st_mode))
		return seterr(err, errlen, "%s: not a directory", where);
	s->base = xstrdup(where);
	return 0;
}

static void source_close(struct source *s)
{
	if (s->curl != NULL) {
		curl_easy_cleanup(s->curl);
		curl_global_cleanup();
	}
	free(s->buf);
	free(s->base);
}

/* ---- bookkeeping ---- */

struct route {
	uint32_t name_off;
	uint16_t name_len;
	uint8_t channel;
	uint8_t best;          /* most telling outcome seen: delivered beats the others */
	uint64_t delivered_at; /* first "delivered" attempt, 0 if none */
	uint64_t last_at;
};

struct report {
	uint8_t id[16];
	bool used;
	uint64_t index; /* of the accept entry */
	uint64_t at;
	uint32_t route_first, nroutes;
	uint32_t extra_head; /* newest route added by an escalation, as index + 1; 0 for none */
};

/* A route an "escalate" entry added after the acceptance (another channel, a backup, the office).
 */
struct extra_route {
	struct route route;
	uint32_t next; /* index + 1 of the previous extra route of the same report */
};

/* One entry of the report asked for with --report. */
struct shown {
	uint64_t index;
	char type[12];
	char r[FIELD_MAX + 1];
	char c[8];
	char o[FIELD_MAX + 1];
	uint64_t n, at;
	tlog_hash leaf;
};

/* A size where the rebuilt root must equal a signed one. */
struct target {
	uint64_t size;
	tlog_hash root;
	int what; /* TARGET_KEPT or TARGET_STATE */
};
enum { TARGET_KEPT, TARGET_STATE };

struct audit {
	struct source src;
	struct note_verifier key;
	struct note_checkpoint cp;
	char *cp_note;
	size_t cp_len;
	bool have_state;
	struct note_checkpoint state;
	bool have_listing;
	struct target *kept;
	size_t nkept;
	struct target *targets;
	size_t ntargets, next_target;

	/* the tree rebuilt from the entries */
	struct tlog_frontier fr;
	tlog_hash upper[TLOG_TILE_LEVELS][TLOG_TILE_WIDTH];

	/* entry semantics */
	struct report *reports;
	size_t nreports, capreports;
	struct route *routes;
	size_t nroutes, caproutes;
	struct extra_route *extras;
	size_t nextras, capextras;
	char *names;
	size_t names_len, names_cap;
	uint64_t last_at;
	msgpack_zone zone;
	msgpack_sbuffer repack;
	unsigned char *fix; /* a legacy accept entry with its map header corrected */
	size_t fix_cap;
	uint64_t legacy;

	/* --report */
	bool want_report;
	uint8_t report_id[16];
	struct shown *shown;
	size_t nshown, capshown;

	char reason[1024];
	bool system_error;
};

/* A read error (I/O, network) rather than a verification failure: exit 2. */
static int sysfail(struct audit *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records the first reason the audit fails: Vietnamese gist, then the English detail. */
static int fail(struct audit *a, const char *vi, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct audit *a, const char *vi, const char *fmt, ...)
{
	if (a->reason[0] != '\0')
		return -1;
	char en[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(en, sizeof en, fmt, ap);
	va_end(ap);
	snprintf(a->reason, sizeof a->reason, "%s / %s", vi, en);
	return -1;
}

static int sysfail(struct audit *a, const char *fmt, ...)
{
	if (a->reason[0] != '\0')
		return -1;
	char en[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(en, sizeof en, fmt, ap);
	va_end(ap);
	snprintf(a->reason, sizeof a->reason, "không đọc được nhật ký / cannot read the log: %s",
	         en);
	a->system_error = true;
	return -1;
}

static void format_time(char *buf, size_t cap, uint64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	if (gmtime_r(&s, &tm) == NULL) {
		snprintf(buf, cap, "%llu ms", (unsigned long long)ms);
		return;
	}
	char day[32];
	strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, cap, "%s.%03u UTC", day, (unsigned)(ms % 1000));
}

static int hex_id(const char *s, size_t len, uint8_t out[16])
{
	if (len != REPORT_ID_HEX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	char tmp[REPORT_ID_HEX + 1];
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return hex_decode(out, 16, tmp);
}

static uint64_t id_hash(const uint8_t id[16])
{
	uint64_t h;
	memcpy(&h, id, sizeof h);
	return h * 0x9E3779B97F4A7C15ull;
}

static struct report *report_find(struct audit *a, const uint8_t id[16])
{
	if (a->capreports == 0)
		return NULL;
	size_t mask = a->capreports - 1;
	for (size_t i = (size_t)(id_hash(id) >> 20) & mask;; i = (i + 1) & mask) {
		struct report *r = &a->reports[i];
		if (!r->used)
			return NULL;
		if (memcmp(r->id, id, 16) == 0)
			return r;
	}
}

static struct report *report_insert(struct audit *a, const uint8_t id[16])
{
	if (2 * (a->nreports + 1) > a->capreports) {
		size_t cap = a->capreports ? 2 * a->capreports : 1024;
		struct report *old = a->reports;
		size_t oldcap = a->capreports;
		a->reports = xcalloc(cap, sizeof *a->reports);
		a->capreports = cap;
		for (size_t i = 0; i < oldcap; i++) {
			if (!old[i].used)
				continue;
			size_t mask = cap - 1, j = (size_t)(id_hash(old[i].id) >> 20) & mask;
			while (a->reports[j].used)
				j = (j + 1) & mask;
			a->reports[j] = old[i];
		}
		free(old);
	}
	size_t mask = a->capreports - 1, i = (size_t)(id_hash(id) >> 20) & mask;
	while (a->reports[i].used)
		i = (i + 1) & mask;
	struct report *r = &a->reports[i];
	memset(r, 0, sizeof *r);
	memcpy(r->id, id, 16);
	r->used = true;
	a->nreports++;
	return r;
}

static bool str_is(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	       memcmp(o->via.str.ptr, s, n) == 0;
}

/* A str of 1..max bytes (0..max when may_be_empty). */
static bool str_ok(const msgpack_object *o, size_t max, bool may_be_empty)
{
	return o->type == MSGPACK_OBJECT_STR && o->via.str.size <= max &&
	       (may_be_empty || o->via.str.size > 0) &&
	       memchr(o->via.str.ptr, 0, o->via.str.size) == NULL;
}

static int channel_of(const msgpack_object *o)
{
	for (int i = 0; i < 3; i++)
		if (str_is(o, channel_names[i]))
			return i;
	return -1;
}

static int outcome_of(const msgpack_object *o)
{
	for (int i = OUT_DELIVERED; i <= OUT_UNDELIVERABLE; i++)
		if (str_is(o, outcome_names[i]))
			return i;
	return -1;
}

static void copy_str(char *dst, size_t cap, const msgpack_object *o)
{
	size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
	memcpy(dst, o->via.str.ptr, n);
	dst[n] = '\0';
}

/* The map's keys must be exactly these, in this order. */
static bool keys_are(const msgpack_object *m, const char *const *keys, size_t n)
{
	if (m->type != MSGPACK_OBJECT_MAP || m->via.map.size != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!str_is(&m->via.map.ptr[i].key, keys[i]))
			return false;
	return true;
}

static struct route *route_find(struct audit *a, const struct report *r, const msgpack_object *name,
                                int channel)
{
	for (uint32_t k = 0; k < r->nroutes; k++) {
		struct route *ro = &a->routes[r->route_first + k];
		if ((channel < 0 || ro->channel == channel) && ro->name_len == name->via.str.size &&
		    memcmp(a->names + ro->name_off, name->via.str.ptr, ro->name_len) == 0)
			return ro;
	}
	for (uint32_t e = r->extra_head; e != 0; e = a->extras[e - 1].next) {
		struct route *ro = &a->extras[e - 1].route;
		if ((channel < 0 || ro->channel == channel) && ro->name_len == name->via.str.size &&
		    memcmp(a->names + ro->name_off, name->via.str.ptr, ro->name_len) == 0)
			return ro;
	}
	return NULL;
}

static void keep_shown(struct audit *a, uint64_t index, const char *type, const msgpack_object *r,
                       const msgpack_object *c, const msgpack_object *o, uint64_t n, uint64_t at,
                       const tlog_hash leaf)
{
	if (a->nshown == a->capshown) {
		a->capshown = a->capshown ? 2 * a->capshown : 16;
		a->shown = xrealloc(a->shown, a->capshown * sizeof *a->shown);
	}
	struct shown *s = &a->shown[a->nshown++];
	memset(s, 0, sizeof *s);
	s->index = index;
	snprintf(s->type, sizeof s->type, "%s", type);
	if (r)
		copy_str(s->r, sizeof s->r, r);
	if (c)
		copy_str(s->c, sizeof s->c, c);
	if (o)
		copy_str(s->o, sizeof s->o, o);
	s->n = n;
	s->at = at;
	memcpy(s->leaf, leaf, TLOG_HASH_SIZE);
}

static int check_accept(struct audit *a, uint64_t index, const msgpack_object *m,
                        const uint8_t id[16], uint64_t at, const tlog_hash leaf)
{
	static const char *const keys[] = {"t", "i", "h", "a", "inc", "k", "d", "at", "routes"};
	if (!keys_are(m, keys, 9))
		return fail(a, "mục sai cấu trúc",
		            "entry %llu: an accept entry has keys "
		            "t, i, h, a, inc, k, d, at, routes in this order",
		            (unsigned long long)index);
	const msgpack_object_kv *kv = m->via.map.ptr;
	if (kv[2].val.type != MSGPACK_OBJECT_BIN || kv[2].val.via.bin.size != 32)
		return fail(a, "mục sai cấu trúc", "entry %llu: \"h\" is not 32 bytes of bin",
		            (unsigned long long)index);
	for (int k = 3; k <= 5; k++)
		if (!str_ok(&kv[k].val, FIELD_MAX, true))
			return fail(a, "mục sai cấu trúc",
			            "entry %llu: \"%s\" is not a string of at most %d bytes",
			            (unsigned long long)index, keys[k], FIELD_MAX);
	if (kv[6].val.type != MSGPACK_OBJECT_BOOLEAN)
		return fail(a, "mục sai cấu trúc", "entry %llu: \"d\" is not a boolean",
		            (unsigned long long)index);
	const msgpack_object *routes = &kv[8].val;
	if (routes->type != MSGPACK_OBJECT_ARRAY || routes->via.array.size > ROUTES_MAX)
		return fail(a, "mục sai cấu trúc",
		            "entry %llu: \"routes\" is not an array of at most %d routes",
		            (unsigned long long)index, ROUTES_MAX);
	struct report *prev = report_find(a, id);
	if (prev != NULL)
		return fail(a, "báo cáo được tiếp nhận hai lần",
		            "entry %llu: report %.*s was already accepted at entry %llu",
		            (unsigned long long)index, (int)kv[1].val.via.str.size,
		            kv[1].val.via.str.ptr, (unsigned long long)prev->index);
	uint32_t first = (uint32_t)a->nroutes;
	if (a->nroutes + routes->via.array.size > UINT32_MAX)
		return fail(a, "nhật ký quá lớn", "entry %llu: too many routes in the log",
		            (unsigned long long)index);
	for (uint32_t k = 0; k < routes->via.array.size; k++) {
		const msgpack_object *pair = &routes->via.array.ptr[k];
		int ch;
		if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2 ||
		    !str_ok(&pair->via.array.ptr[0], FIELD_MAX, false) ||
		    (ch = channel_of(&pair->via.array.ptr[1])) < 0)
			return fail(a, "mục sai cấu trúc",
			            "entry %llu: route %u is not [recipient, "
			            "\"email\"|\"sms\"|\"webhook\"]",
			            (unsigned long long)index, k);
		const msgpack_object *name = &pair->via.array.ptr[0];
		for (uint32_t q = first; q < a->nroutes; q++) {
			struct route *ro = &a->routes[q];
			if (ro->channel == ch && ro->name_len == name->via.str.size &&
			    memcmp(a->names + ro->name_off, name->via.str.ptr, ro->name_len) == 0)
				return fail(a, "tuyến bị lặp",
				            "entry %llu: route %.*s/%s listed twice",
				            (unsigned long long)index, (int)name->via.str.size,
				            name->via.str.ptr, channel_names[ch]);
		}
		if (a->names_len + name->via.str.size > UINT32_MAX)
			return fail(a, "nhật ký quá lớn",
			            "entry %llu: too many recipients in the log",
			            (unsigned long long)index);
		if (a->names_len + name->via.str.size > a->names_cap) {
			a->names_cap = a->names_cap ? 2 * a->names_cap : 1 << 16;
			while (a->names_len + name->via.str.size > a->names_cap)
				a->names_cap *= 2;
			a->names = xrealloc(a->names, a->names_cap);
		}
		if (a->nroutes == a->caproutes) {
			a->caproutes = a->caproutes ? 2 * a->caproutes : 1024;
			a->routes = xrealloc(a->routes, a->caproutes * sizeof *a->routes);
		}
		struct route *ro = &a->routes[a->nroutes++];
		memset(ro, 0, sizeof *ro);
		ro->name_off = (uint32_t)a->names_len;
		ro->name_len = (uint16_t)name->via.str.size;
		ro->channel = (uint8_t)ch;
		memcpy(a->names + a->names_len, name->via.str.ptr, name->via.str.size);
		a->names_len += name->via.str.size;
	}
	struct report *r = report_insert(a, id);
	r->index = index;
	r->at = at;
	r->route_first = first;
	r->nroutes = (uint32_t)(a->nroutes - first);
	if (a->want_report && memcmp(id, a->report_id, 16) == 0)
		keep_shown(a, index, "accept", NULL, NULL, NULL, 0, at, leaf);
	return 0;
}

/*
 * {"t":"escalate","i","r","s":step 1..3,"to":[[recipient, channel], ...],"at"}: recipient r had
 * not acknowledged in time; the relay routed the report on to the pairs in "to".
 */
static int check_escalate(struct audit *a, uint64_t index, const msgpack_object *m,
                          const uint8_t id[16], uint64_t at, const tlog_hash leaf)
{
	static const char *const keys[] = {"t", "i", "r", "s", "to", "at"};
	if (!keys_are(m, keys, 6))
		return fail(
		    a, "mục sai cấu trúc",
		    "entry %llu: escalate entry keys are not t, i, r, s, to, at in this order",
		    (unsigned long long)index);
	const msgpack_object_kv *kv = m->via.map.ptr;
	const msgpack_object *rcpt = &kv[2].val, *step = &kv[3].val, *to = &kv[4].val;
	if (!str_ok(rcpt, FIELD_MAX, false))
		return fail(a, "mục sai cấu trúc", "entry %llu: \"r\" is not a recipient id",
		            (unsigned long long)index);
	if (step->type != MSGPACK_OBJECT_POSITIVE_INTEGER || step->via.u64 < 1 || step->via.u64 > 3)
		return fail(a, "mục sai cấu trúc",
		            "entry %llu: \"s\" is not an escalation step 1..3",
		            (unsigned long long)index);
	if (to->type != MSGPACK_OBJECT_ARRAY || to->via.array.size > 256)
		return fail(a, "mục sai cấu trúc", "entry %llu: \"to\" is not a list of routes",
		            (unsigned long long)index);
	struct report *r = report_find(a, id);
	if (r == NULL)
		return fail(a, "mục trước khi tiếp nhận",
		            "entry %llu: escalate for a report not accepted earlier in the log",
		            (unsigned long long)index);
	if (route_find(a, r, rcpt, -1) == NULL)
		return fail(a, "người nhận không được định tuyến",
		            "entry %llu: escalate names %.*s, which the report did not route",
		            (unsigned long long)index, (int)rcpt->via.str.size, rcpt->via.str.ptr);
	for (uint32_t q = 0; q < to->via.array.size; q++) {
		const msgpack_object *pair = &to->via.array.ptr[q];
		if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2 ||
		    !str_ok(&pair->via.array.ptr[0], FIELD_MAX, false))
			return fail(a, "mục sai cấu trúc",
			            "entry %llu: route %u is not [recipient, channel]",
			            (unsigned long long)index, q);
		const msgpack_object *name = &pair->via.array.ptr[0];
		int ch = channel_of(&pair->via.array.ptr[1]);
		if (ch < 0)
			return fail(a, "mục sai cấu trúc",
			            "entry %llu: route %u has no valid channel",
			            (unsigned long long)index, q);
		if (route_find(a, r, name, ch) != NULL)
			continue;
		if (a->names_len + name->via.str.size > a->names_cap) {
			a->names_cap = a->names_cap ? 2 * a->names_cap : 1 << 16;
			while (a->names_len + name->via.str.size > a->names_cap)
				a->names_cap *= 2;
			a->names = xrealloc(a->names, a->names_cap);
		}
		if (a->nextras == a->capextras) {
			a->capextras = a->capextras ? 2 * a->capextras : 256;
			a->extras = xrealloc(a->extras, a->capextras * sizeof *a->extras);
		}
		struct extra_route *e = &a->extras[a->nextras++];
		memset(e, 0, sizeof *e);
		e->route.name_off = (uint32_t)a->names_len;
		e->route.name_len = (uint16_t)name->via.str.size;
		e->route.channel = (uint8_t)ch;
		memcpy(a->names + a->names_len, name->via.str.ptr, name->via.str.size);
		a->names_len += name->via.str.size;
		e->next = r->extra_head;
		r->extra_head = (uint32_t)a->nextras;
	}
	if (a->want_report && memcmp(id, a->report_id, 16) == 0)
		keep_shown(a, index, "escalate", rcpt, NULL, NULL, step->via.u64, at, leaf);
	return 0;
}

/* Decodes entry index strictly and checks what it says against what came before. */
static int check_entry(struct audit *a, uint64_t index, const unsigned char *data, size_t len,
                       const tlog_hash leaf)
{
	char ebuf[ERRBUF_MAX];
	msgpack_object m;
	/*
	 * Relays built before commit 7cbe929 wrote accept entries with the map header 0x88 (8
	 * pairs) followed by 9 pairs, the last "routes": [] (docs/protocol.md §15). The leaf hash
	 * covers those bytes as they are; their meaning is read from the corrected header.
	 */
	static const unsigned char legacy_tail[8] = {0xa6, 'r', 'o', 'u', 't', 'e', 's', 0x90};
	if (len > sizeof legacy_tail && data[0] == 0x88 &&
	    memcmp(data + len - sizeof legacy_tail, legacy_tail, sizeof legacy_tail) == 0) {
		if (a->fix_cap < len) {
			a->fix = xrealloc(a->fix, len);
			a->fix_cap = len;
		}
		memcpy(a->fix, data, len);
		a->fix[0] = 0x89;
		data = a->fix;
		a->legacy++;
	}
	msgpack_zone_clear(&a->zone);
	if (mpack_decode(data, len, 4, &a->zone, &m, ebuf, sizeof ebuf) != 0)
		return fail(a, "mục không giải mã được", "entry %llu: not a msgpack entry: %s",
		            (unsigned long long)index, ebuf);
	/* Canonical encoding: msgpack-c re-encodes it to the very same bytes. */
	a->repack.size = 0;
	msgpack_packer pk;
	msgpack_packer_init(&pk, &a->repack, msgpack_sbuffer_write);
	if (msgpack_pack_object(&pk, m) != 0 || a->repack.size != len ||
	    memcmp(a->repack.data, data, len) != 0)
		return fail(a, "mục không ở dạng chuẩn",
		            "entry %llu: not in canonical msgpack encoding",
		            (unsigned long long)index);
	if (m.type != MSGPACK_OBJECT_MAP || m.via.map.size < 4 ||
	    !str_is(&m.via.map.ptr[0].key, "t") ||
	    m.via.map.ptr[0].val.type != MSGPACK_OBJECT_STR || !str_is(&m.via.map.ptr[1].key, "i"))
		return fail(a, "mục sai cấu trúc",
		            "entry %llu: not a map starting with \"t\" and \"i\"",
		            (unsigned long long)index);
	const msgpack_object *type = &m.via.map.ptr[0].val, *idobj = &m.via.map.ptr[1].val;
	uint8_t id[16];
	if (idobj->type != MSGPACK_OBJECT_STR ||
	    hex_id(idobj->via.str.ptr, idobj->via.str.size, id) != 0)
		return fail(a, "mục sai cấu trúc",
		            "entry %llu: \"i\" is not 32 lowercase hex digits",
		            (unsigned long long)index);
	/* "at" is the last key of every kind of entry */
	const msgpack_object_kv *last =
	    &m.via.map.ptr[str_is(type, "accept") ? m.via.map.size - 2 : m.via.map.size - 1];
	if (!str_is(&last->key, "at") || last->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return fail(a, "mục sai cấu trúc",
		            "entry %llu: \"at\" missing or not an unsigned integer",
		            (unsigned long long)index);
	uint64_t at = last->val.via.u64;
	if (at < a->last_at)
		return fail(a, "thời gian đi lùi",
		            "entry %llu: time goes backwards (%llu ms after %llu ms)",
		            (unsigned long long)index, (unsigned long long)at,
		            (unsigned long long)a->last_at);
	a->last_at = at;

	if (str_is(type, "accept"))
		return check_accept(a, index, &m, id, at, leaf);
	if (str_is(type, "escalate"))
		return check_escalate(a, index, &m, id, at, leaf);

	/* attempt, dlr and ack: the keys of each kind, in order */
	static const char *const keys[3][7] = {{"t", "i", "r", "c", "o", "n", "at"},
	                                       {"t", "i", "r", "c", "o", "at"},
	                                       {"t", "i", "r", "at"}};
	static const size_t nkeys[3] = {7, 6, 4};
	static const char *const key_lists[3] = {"t, i, r, c, o, n, at", "t, i, r, c, o, at",
	                                         "t, i, r, at"};
	enum { KIND_ATTEMPT, KIND_DLR, KIND_ACK } k;
	static const char *const kinds[3] = {"attempt", "dlr", "ack"};
	if (str_is(type, "attempt"))
		k = KIND_ATTEMPT;
	else if (str_is(type, "dlr"))
		k = KIND_DLR;
	else if (str_is(type, "ack"))
		k = KIND_ACK;
	else
		return fail(a, "loại mục không biết", "entry %llu: unknown entry type \"%.*s\"",
		            (unsigned long long)index,
		            (int)(type->via.str.size > 32 ? 32 : type->via.str.size),
		            type->via.str.ptr);
	const char *kind = kinds[k];
	if (!keys_are(&m, keys[k], nkeys[k]))
		return fail(a, "mục sai cấu trúc",
		            "entry %llu: %s entry keys are not %s in this order",
		            (unsigned long long)index, kind, key_lists[k]);
	const msgpack_object_kv *kv = m.via.map.ptr;
	const msgpack_object *rcpt = &kv[2].val, *chan = NULL, *outc = NULL;
	int ch = -1, oc = OUT_NONE;
	uint64_t n = 0;
	if (!str_ok(rcpt, FIELD_MAX, false))
		return fail(a, "mục sai cấu trúc", "entry %llu: \"r\" is not a recipient id",
		            (unsigned long long)index);
	if (k != KIND_ACK) {
		chan = &kv[3].val;
		outc = &kv[4].val;
		if ((ch = channel_of(chan)) < 0)
			return fail(a, "mục sai cấu trúc",
			            "entry %llu: \"c\" is not email, sms or webhook",
			            (unsigned long long)index);
		if (k == KIND_ATTEMPT) {
			if ((oc = outcome_of(outc)) < 0)
				return fail(a, "mục sai cấu trúc",
				            "entry %llu: \"o\" is not delivered, deferred, failed "
				            "or undeliverable",
				            (unsigned long long)index);
			if (kv[5].val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
				return fail(a, "mục sai cấu trúc",
				            "entry %llu: \"n\" is not an unsigned integer",
				            (unsigned long long)index);
			n = kv[5].val.via.u64;
		} else if (!str_ok(outc, FIELD_MAX, false)) {
			return fail(a, "mục sai cấu trúc", "entry %llu: \"o\" is not a string",
			            (unsigned long long)index);
		}
	}
	struct report *r = report_find(a, id);
	if (r == NULL)
		return fail(
		    a, "mục trước khi tiếp nhận",
		    "entry %llu: %s for report %.*s, which was not accepted earlier in the log",
		    (unsigned long long)index, kind, (int)idobj->via.str.size, idobj->via.str.ptr);
	struct route *ro = route_find(a, r, rcpt, ch);
	if (ro == NULL)
		return fail(
		    a, "người nhận không được định tuyến",
		    "entry %llu: %s names %.*s%s%s, which report %.*s (entry %llu) did not route",
		    (unsigned long long)index, kind, (int)rcpt->via.str.size, rcpt->via.str.ptr,
		    ch >= 0 ? "/" : "", ch >= 0 ? channel_names[ch] : "", (int)idobj->via.str.size,
		    idobj->via.str.ptr, (unsigned long long)r->index);
	if (k == KIND_ATTEMPT) {
		if (oc == OUT_DELIVERED && ro->delivered_at == 0)
			ro->delivered_at = at ? at : 1;
		if (ro->best != OUT_DELIVERED)
			ro->best = (uint8_t)oc;
		ro->last_at = at;
	}
	if (a->want_report && memcmp(id, a->report_id, 16) == 0)
		keep_shown(a, index, kind, rcpt, chan, outc, n, at, leaf);
	return 0;
}

/* ---- rebuilding the tree ---- */

/* Fetches tile (level, index) of width hashes, falling back to a prefix of the full tile. */
/*
 * Fetches tile (level, index) of width hashes or entries. When a partial tile is gone, falls
 * back to the full one (*full set): the relay removes partial tiles once the tile is full.
 * 0, 1 when missing, -1 on a read error (reason in err).
 */
static int fetch_tile(struct audit *a, int level, uint64_t index, unsigned width, size_t max,
                      unsigned char **out, size_t *len, bool *full, char *err, size_t errlen)
{
	char path[TLOG_TILE_PATH_MAX];
	tlog_tile_path(path, sizeof path, level, index, width);
	*full = width == TLOG_TILE_WIDTH;
	int rc = source_get(&a->src, path, max, out, len, err, errlen);
	if (rc == 1 && width < TLOG_TILE_WIDTH) {
		char fullpath[TLOG_TILE_PATH_MAX];
		tlog_tile_path(fullpath, sizeof fullpath, level, index, TLOG_TILE_WIDTH);
		rc = source_get(&a->src, fullpath, max, out, len, err, errlen);
		*full = true;
	}
	if (rc == 1)
		seterr(err, errlen, "%s is missing", path);
	return rc;
}

/* The stored hashes of a fetched tile: exactly width of them, or a full tile standing in. */
static bool tile_size_ok(size_t len, unsigned width, bool full)
{
	return full ? len == TLOG_TILE_BYTES : len == (size_t)width * TLOG_HASH_SIZE;
}

static const char *tile_name(char *buf, size_t cap, unsigned level, uint64_t index, unsigned width)
{
	tlog_tile_path(buf, cap, (int)level, index, width);
	memmove(buf, buf + 5, strlen(buf + 5) + 1); /* without "tile/" */
	return buf;
}

/* Compares rebuilt hashes with the stored tile (level >= 1). */
static int compare_upper(struct audit *a, unsigned level, uint64_t index, unsigned width)
{
	char name[TLOG_TILE_PATH_MAX], ebuf[ERRBUF_MAX];
	unsigned char *data;
	size_t len;
	bool full;
	tile_name(name, sizeof name, level, index, width);
	int rc = fetch_tile(a, (int)level, index, width, TLOG_TILE_BYTES, &data, &len, &full, ebuf,
	                    sizeof ebuf);
	if (rc == 1)
		return fail(a, "thiếu ô", "tile %s is missing", name);
	if (rc != 0)
		return sysfail(a, "tile %s: %s", name, ebuf);
	if (!tile_size_ok(len, width, full)) {
		free(data);
		return fail(a, "ô sai kích thước", "tile %s is %zu bytes, not %u hashes", name, len,
		            width);
	}
	for (unsigned j = 0; j < width; j++) {
		if (memcmp(data + (size_t)j * TLOG_HASH_SIZE, a->upper[level][j], TLOG_HASH_SIZE) !=
		    0) {
			free(data);
			return fail(a, "ô không khớp các mục",
			            "tile %s: hash %u does not match the hash rebuilt from entries "
			            "%llu..%llu",
			            name, j,
			            (unsigned long long)((index * TLOG_TILE_WIDTH + j)
			                                 << (TLOG_TILE_HEIGHT * level)),
			            (unsigned long long)(((index * TLOG_TILE_WIDTH + j + 1)
			                                  << (TLOG_TILE_HEIGHT * level)) -
			                                 1));
		}
	}
	free(data);
	return 0;
}

static void root_mismatch(struct audit *a, const struct target *t)
{
	if (t->what == TARGET_STATE)
		fail(a, "nhật ký bị viết lại hoặc rẽ nhánh",
		     "checkpoint %llu is not consistent with state file checkpoint %llu: the "
		     "entries "
		     "no longer produce the root seen before (the log was rewritten or forked)",
		     (unsigned long long)a->cp.size, (unsigned long long)t->size);
	else
		fail(a, "nhật ký bị viết lại hoặc rẽ nhánh",
		     "kept checkpoint %llu does not match the entries (root differs): the log was "
		     "rewritten or forked",
		     (unsigned long long)t->size);
}

/* Frontier callback: collects rebuilt tile hashes and checks full upper tiles. */
static int on_subtree(void *ctx, unsigned level, uint64_t index, const tlog_hash h)
{
	struct audit *a = ctx;
	if (level == 0)
		return 0;
	unsigned t = level / TLOG_TILE_HEIGHT;
	if (t >= TLOG_TILE_LEVELS)
		return 0;
	memcpy(a->upper[t][index % TLOG_TILE_WIDTH], h, TLOG_HASH_SIZE);
	if (index % TLOG_TILE_WIDTH == TLOG_TILE_WIDTH - 1)
		return compare_upper(a, t, index / TLOG_TILE_WIDTH, TLOG_TILE_WIDTH);
	return 0;
}

/* Pushes one verified leaf, checking the roots due at the new size. */
static int push_leaf(struct audit *a, const tlog_hash leaf)
{
	if (tlog_frontier_push(&a->fr, leaf) != 0)
		return -1;
	while (a->next_target < a->ntargets && a->targets[a->next_target].size == a->fr.size) {
		tlog_hash root;
		tlog_frontier_root(&a->fr, root);
		const struct target *t = &a->targets[a->next_target++];
		if (memcmp(root, t->root, TLOG_HASH_SIZE) != 0) {
			root_mismatch(a, t);
			return -1;
		}
	}
	return 0;
}

/* Reads every entry bundle and level-0 tile, in order, and rebuilds the tree. */
static int rebuild(struct audit *a)
{
	uint64_t size = a->cp.size;
	uint64_t ntiles = (size + TLOG_TILE_WIDTH - 1) / TLOG_TILE_WIDTH;
	char name[TLOG_TILE_PATH_MAX], bname[TLOG_TILE_PATH_MAX];
	char ebuf[ERRBUF_MAX];
	const unsigned char *ents[TLOG_TILE_WIDTH];
	size_t lens[TLOG_TILE_WIDTH], count;

	/* Targets at size 0 (the empty tree) are due before any leaf. */
	while (a->next_target < a->ntargets && a->targets[a->next_target].size == 0) {
		tlog_hash empty;
		tlog_hash_empty(empty);
		const struct target *t = &a->targets[a->next_target++];
		if (memcmp(empty, t->root, TLOG_HASH_SIZE) != 0) {
			root_mismatch(a, t);
			return -1;
		}
	}
	for (uint64_t n = 0; n < ntiles; n++) {
		unsigned width = n + 1 < ntiles || size % TLOG_TILE_WIDTH == 0
		                     ? TLOG_TILE_WIDTH
		                     : (unsigned)(size % TLOG_TILE_WIDTH);
		unsigned char *bundle = NULL, *tile = NULL;
		size_t blen, tlen;
		bool bfull, tfull;
		int rc = -1;
		tile_name(name, sizeof name, 0, n, width);
		tlog_tile_path(bname, sizeof bname, TLOG_LEVEL_ENTRIES, n, width);
		int got = fetch_tile(a, TLOG_LEVEL_ENTRIES, n, width, TLOG_BUNDLE_MAX, &bundle,
		                     &blen, &bfull, ebuf, sizeof ebuf);
		if (got == 1) {
			fail(a, "thiếu gói mục", "entries %llu..%llu: %s",
			     (unsigned long long)(n * TLOG_TILE_WIDTH),
			     (unsigned long long)(n * TLOG_TILE_WIDTH + width - 1), ebuf);
			goto next;
		}
		if (got != 0) {
			sysfail(a, "%s", ebuf);
			goto next;
		}
		got = fetch_tile(a, 0, n, width, TLOG_TILE_BYTES, &tile, &tlen, &tfull, ebuf,
		                 sizeof ebuf);
		if (got == 1) {
			fail(a, "thiếu ô", "tile %s is missing", name);
			goto next;
		}
		if (got != 0) {
			sysfail(a, "tile %s: %s", name, ebuf);
			goto next;
		}
		if (!tile_size_ok(tlen, width, tfull)) {
			fail(a, "ô sai kích thước", "tile %s is %zu bytes, not %u hashes", name,
			     tlen, tfull ? TLOG_TILE_WIDTH : width);
			goto next;
		}
		/* The bundle holds exactly width entries; a full one standing in holds more. */
		if (tlog_bundle_split(bundle, blen, bfull ? TLOG_TILE_WIDTH : width, 1, ents, lens,
		                      &count, ebuf, sizeof ebuf) != 0) {
			fail(a, "gói mục hỏng", "%s: %s", bname + 5, ebuf);
			goto next;
		}
		for (unsigned j = 0; j < width; j++) {
			uint64_t index = n * TLOG_TILE_WIDTH + j;
			tlog_hash leaf;
			tlog_hash_leaf(leaf, ents[j], lens[j]);
			if (memcmp(leaf, tile + (size_t)j * TLOG_HASH_SIZE, TLOG_HASH_SIZE) != 0) {
				fail(a, "mục hoặc ô bị sửa",
				     "entry %llu: leaf hash does not match tile %s (hash %u)",
				     (unsigned long long)index, name, j);
				goto next;
			}
			if (check_entry(a, index, ents[j], lens[j], leaf) != 0 ||
			    push_leaf(a, leaf) != 0)
				goto next;
		}
		rc = 0;
	next:
		free(bundle);
		free(tile);
		if (rc != 0)
			return -1;
	}
	/* The partial tiles above level 0. */
	for (unsigned t = 1; t < TLOG_TILE_LEVELS; t++) {
		unsigned w = tlog_tile_partial_width(size, t);
		if (w > 0 && compare_upper(a, t, tlog_tile_full_count(size, t), w) != 0)
			return -1;
	}
	tlog_hash root;
	tlog_frontier_root(&a->fr, root);
	if (memcmp(root, a->cp.root, TLOG_HASH_SIZE) != 0)
		return fail(a, "gốc cây không khớp checkpoint",
		            "the entries do not produce the root signed in checkpoint %llu",
		            (unsigned long long)size);
	return 0;
}

/* tlog_tile_fetch over the (already verified) tiles of the checkpoint's tree. */
static int audit_fetch(void *ctx, unsigned level, uint64_t index, unsigned need, tlog_hash *hashes,
                       unsigned *width, char *err, size_t errlen)
{
	struct audit *a = ctx;
	unsigned char *data;
	size_t len;
	bool full;
	uint64_t nfull = tlog_tile_full_count(a->cp.size, level);
	unsigned w = index < nfull ? TLOG_TILE_WIDTH : tlog_tile_partial_width(a->cp.size, level);
	if (level >= TLOG_TILE_LEVELS || index > nfull || w < need)
		return seterr(err, errlen, "tile %u/%llu is beyond the tree", level,
		              (unsigned long long)index);
	int rc =
	    fetch_tile(a, (int)level, index, w, TLOG_TILE_BYTES, &data, &len, &full, err, errlen);
	if (rc != 0)
		return -1;
	if (!tile_size_ok(len, w, full)) {
		free(data);
		return seterr(err, errlen, "tile %u/%llu has the wrong size", level,
		              (unsigned long long)index);
	}
	memcpy(hashes, data, (size_t)w * TLOG_HASH_SIZE);
	free(data);
	*width = w;
	return 0;
}

/* Checks consistency proofs, made from the tiles, between consecutive signed checkpoints. */
static int check_proofs(struct audit *a, struct tlog_tilecache *cache)
{
	char ebuf[ERRBUF_MAX];
	tlog_hash proof[TLOG_PROOF_MAX];
	size_t count;
	for (size_t i = 0; i + 1 < a->nkept; i++) {
		const struct target *x = &a->kept[i], *y = &a->kept[i + 1];
		if (tlog_prove_consistency(tlog_tilecache_read, cache, x->size, y->size, proof,
		                           &count, ebuf, sizeof ebuf) != 0 ||
		    tlog_verify_consistency(x->size, y->size, x->root, y->root, proof, count, ebuf,
		                            sizeof ebuf) != 0)
			return fail(a, "hai checkpoint không nhất quán",
			            "kept checkpoints %llu and %llu are not consistent: %s",
			            (unsigned long long)x->size, (unsigned long long)y->size, ebuf);
	}
	if (a->have_state) {
		if (tlog_prove_consistency(tlog_tilecache_read, cache, a->state.size, a->cp.size,
		                           proof, &count, ebuf, sizeof ebuf) != 0 ||
		    tlog_verify_consistency(a->state.size, a->cp.size, a->state.root, a->cp.root,
		                            proof, count, ebuf, sizeof ebuf) != 0)
			return fail(
			    a, "không nhất quán với lần kiểm tra trước",
			    "checkpoint %llu is not consistent with state file checkpoint %llu: %s",
			    (unsigned long long)a->cp.size, (unsigned long long)a->state.size,
			    ebuf);
	}
	return 0;
}

/* ---- checkpoints ---- */

static int cmp_target(const void *x, const void *y)
{
	const struct target *p = x, *q = y;
	return p->size < q->size ? -1 : p->size > q->size;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t p = *(const uint64_t *)x, q = *(const uint64_t *)y;
	return p < q ? -1 : p > q;
}

static bool canonical_size(const char *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* Sizes of the kept checkpoints: a directory listing, or GET checkpoints/ (one size a line). */
static int list_kept(struct audit *a, uint64_t **sizes, size_t *n, char *err, size_t errlen)
{
	size_t cap = 0;
	*sizes = NULL;
	*n = 0;
	if (!a->src.http) {
		char *path = xasprintf("%s/checkpoints", a->src.base);
		DIR *d = opendir(path);
		if (d == NULL) {
			int e = errno;
			int rc = e == ENOENT ? 0 : seterr(err, errlen, "%s: %s", path, strerror(e));
			free(path);
			return rc;
		}
		free(path);
		a->have_listing = true;
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			uint64_t v;
			if (!canonical_size(de->d_name, strlen(de->d_name), &v))
				continue; /* ".", "..", temporary files */
			if (*n == KEPT_MAX) {
				closedir(d);
				return seterr(err, errlen, "more than %zu kept checkpoints",
				              KEPT_MAX);
			}
			if (*n == cap) {
				cap = cap ? 2 * cap : 256;
				*sizes = xrealloc(*sizes, cap * sizeof **sizes);
			}
			(*sizes)[(*n)++] = v;
		}
		closedir(d);
	} else {
		unsigned char *data;
		size_t len;
		int rc = source_get(&a->src, "checkpoints/", LISTING_MAX, &data, &len, err, errlen);
		if (rc == 1)
			return 0;
		if (rc != 0)
			return -1;
		a->have_listing = true;
		const char *p = (const char *)data, *end = p + len;
		while (p < end) {
			const char *eol = memchr(p, '\n', (size_t)(end - p));
			size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);
			uint64_t v;
			if (l > 0 && !canonical_size(p, l, &v)) {
				free(data);
				return seterr(err, errlen,
				              "checkpoints/ listing: bad line \"%.*s\"",
				              (int)(l > 40 ? 40 : l), p);
			}
			if (l > 0) {
				if (*n == cap) {
					cap = cap ? 2 * cap : 256;
					*sizes = xrealloc(*sizes, cap * sizeof **sizes);
				}
				(*sizes)[(*n)++] = v;
			}
			p += l + 1;
		}
		free(data);
	}
	qsort(*sizes, *n, sizeof **sizes, cmp_u64);
	return 0;
}

/*
 * Loads and verifies every kept checkpoint. 0; 1 on a verification failure; 2 on an error; 3 when
 * a kept checkpoint is newer than the checkpoint (a rollback, or a live log that moved on).
 */
static int load_kept(struct audit *a)
{
	char ebuf[ERRBUF_MAX];
	uint64_t *sizes;
	size_t n;
	if (list_kept(a, &sizes, &n, ebuf, sizeof ebuf) != 0) {
		fprintf(stderr, "Lỗi / error: %s\n", ebuf);
		return 2;
	}
	a->kept = xcalloc(n + 1, sizeof *a->kept);
	for (size_t i = 0; i < n; i++) {
		char rel[48];
		unsigned char *data;
		size_t len;
		struct note_checkpoint c;
		if (i > 0 && sizes[i] == sizes[i - 1])
			continue;
		snprintf(rel, sizeof rel, "checkpoints/%llu", (unsigned long long)sizes[i]);
		int rc = source_get(&a->src, rel, NOTE_MAX_BYTES, &data, &len, ebuf, sizeof ebuf);
		if (rc == 1) {
			fail(a, "thiếu checkpoint được lưu", "%s is listed but missing", rel);
			free(sizes);
			return 1;
		}
		if (rc != 0) {
			fprintf(stderr, "Lỗi / error: %s\n", ebuf);
			free(sizes);
			return 2;
		}
		rc = note_checkpoint_open((const char *)data, len, &a->key, &c, ebuf, sizeof ebuf);
		free(data);
		if (rc != 0) {
			fail(a, "checkpoint được lưu không hợp lệ", "%s: %s", rel, ebuf);
			free(sizes);
			return 1;
		}
		if (c.size != sizes[i] || strcmp(c.origin, a->cp.origin) != 0) {
			fail(a, "checkpoint được lưu không hợp lệ",
			     "%s holds a checkpoint of size %llu for origin \"%s\"", rel,
			     (unsigned long long)c.size, c.origin);
			free(sizes);
			return 1;
		}
		if (c.size == a->cp.size && memcmp(c.root, a->cp.root, TLOG_HASH_SIZE) != 0) {
			fail(a, "nhật ký rẽ nhánh",
			     "kept checkpoint %llu and checkpoint %llu have different roots: the "
			     "log "
			     "was forked",
			     (unsigned long long)c.size, (unsigned long long)a->cp.size);
			free(sizes);
			return 1;
		}
		struct target *t = &a->kept[a->nkept++];
		t->size = c.size;
		memcpy(t->root, c.root, TLOG_HASH_SIZE);
		t->what = TARGET_KEPT;
	}
	free(sizes);
	/* Without a listing (the relay serves none), at least the checkpoint seen last time. */
	if (!a->have_listing && a->have_state) {
		char rel[48];
		unsigned char *data;
		size_t len;
		struct note_checkpoint c;
		snprintf(rel, sizeof rel, "checkpoints/%llu", (unsigned long long)a->state.size);
		int rc = source_get(&a->src, rel, NOTE_MAX_BYTES, &data, &len, ebuf, sizeof ebuf);
		if (rc == 1) {
			fail(a, "checkpoint đã thấy không còn được lưu",
			     "%s, the state file's checkpoint, is no longer kept by the log", rel);
			return 1;
		}
		if (rc != 0) {
			fprintf(stderr, "Lỗi / error: %s\n", ebuf);
			return 2;
		}
		rc = note_checkpoint_open((const char *)data, len, &a->key, &c, ebuf, sizeof ebuf);
		free(data);
		if (rc != 0 || c.size != a->state.size) {
			fail(a, "checkpoint được lưu không hợp lệ", "%s: %s", rel,
			     rc != 0 ? ebuf : "wrong tree size");
			return 1;
		}
		if (memcmp(c.root, a->state.root, TLOG_HASH_SIZE) != 0) {
			fail(a, "nhật ký rẽ nhánh",
			     "kept checkpoint %llu and the state file's checkpoint %llu have "
			     "different "
			     "roots: the log was forked",
			     (unsigned long long)c.size, (unsigned long long)a->state.size);
			return 1;
		}
		struct target *t = &a->kept[a->nkept++];
		t->size = c.size;
		memcpy(t->root, c.root, TLOG_HASH_SIZE);
		t->what = TARGET_KEPT;
	}
	if (a->nkept > 0 && a->kept[a->nkept - 1].size > a->cp.size)
		return 3; /* a rollback, unless the live log moved on meanwhile: the caller looks */
	/* A static copy must keep the checkpoint it serves (the relay keeps every one it signs). */
	if (a->have_listing && !a->src.http &&
	    (a->nkept == 0 || a->kept[a->nkept - 1].size != a->cp.size)) {
		fail(a, "checkpoint không được lưu", "checkpoint %llu is not kept in checkpoints/",
		     (unsigned long long)a->cp.size);
		return 1;
	}
	return 0;
}

/* ---- the report view and the deadline check ---- */

static int show_report(struct audit *a, const char *id, struct tlog_tilecache *cache)
{
	char ebuf[ERRBUF_MAX], when[64];
	struct report *r = report_find(a, a->report_id);
	if (r == NULL)
		return fail(a, "không có báo cáo trong nhật ký", "report %s is not in the log", id);
	const struct shown *acc = &a->shown[0];
	format_time(when, sizeof when, acc->at);
	printf("\nBáo cáo / report %s\n", id);
	printf("  tiếp nhận / accepted: %s (mục / entry %llu)\n", when,
	       (unsigned long long)acc->index);
	printf("  Các mục / entries:\n");
	for (size_t i = 1; i < a->nshown; i++) {
		const struct shown *s = &a->shown[i];
		char outcome[FIELD_MAX + 48];
		format_time(when, sizeof when, s->at);
		if (strcmp(s->type, "attempt") == 0)
			snprintf(outcome, sizeof outcome, "%s (lần / attempt %llu)", s->o,
			         (unsigned long long)s->n);
		else if (strcmp(s->type, "dlr") == 0)
			snprintf(outcome, sizeof outcome, "báo cáo giao / DLR: %s", s->o);
		else if (strcmp(s->type, "escalate") == 0)
			snprintf(outcome, sizeof outcome,
			         "chưa xác nhận, leo thang bước / not acknowledged, escalation "
			         "step %llu",
			         (unsigned long long)s->n);
		else
			snprintf(outcome, sizeof outcome, "đã xác nhận / acknowledged");
		printf("    #%-8llu %s  %s%s%s  %s\n", (unsigned long long)s->index, when, s->r,
		       s->c[0] ? "/" : "", s->c, outcome);
	}
	if (a->nshown == 1)
		printf("    (chưa có / none yet)\n");
	printf("  Tóm tắt theo tuyến / per route:\n");
	for (uint32_t k = 0; k < r->nroutes; k++) {
		const struct route *ro = &a->routes[r->route_first + k];
		if (ro->delivered_at) {
			format_time(when, sizeof when, ro->delivered_at);
			printf("    %.*s %s: đã giao / delivered %s (+%.3f s)\n", (int)ro->name_len,
			       a->names + ro->name_off, channel_names[ro->channel], when,
			       (double)(ro->delivered_at - r->at) / 1000.0);
		} else {
			printf("    %.*s %s: chưa giao / not delivered (%s)\n", (int)ro->name_len,
			       a->names + ro->name_off, channel_names[ro->channel],
			       outcome_names[ro->best]);
		}
	}
	if (r->nroutes == 0)
		printf("    (không có tuyến / no routes)\n");
	/* each entry's inclusion proof against the verified checkpoint */
	for (size_t i = 0; i < a->nshown; i++) {
		tlog_hash proof[TLOG_PROOF_MAX];
		size_t count;
		const struct shown *s = &a->shown[i];
		if (tlog_prove_inclusion(tlog_tilecache_read, cache, s->index, a->cp.size, proof,
		                         &count, ebuf, sizeof ebuf) != 0 ||
		    tlog_verify_inclusion(s->index, a->cp.size, s->leaf, proof, count, a->cp.root,
		                          ebuf, sizeof ebuf) != 0)
			return fail(a, "bằng chứng bao gồm sai",
			            "entry %llu: inclusion proof in checkpoint %llu fails: %s",
			            (unsigned long long)s->index, (unsigned long long)a->cp.size,
			            ebuf);
	}
	printf("  Bằng chứng bao gồm hợp lệ / inclusion proofs verified: %zu mục / entries in "
	       "checkpoint %llu\n",
	       a->nshown, (unsigned long long)a->cp.size);
	return 0;
}

static int cmp_report_index(const void *x, const void *y)
{
	const struct report *p = *(const struct report *const *)x,
	                    *q = *(const struct report *const *)y;
	return p->index < q->index ? -1 : p->index > q->index;
}

/* Lists overdue reports; returns how many. */
static size_t check_deadline(struct audit *a, uint64_t deadline_ms)
{
	size_t overdue = 0, pending = 0, nlist = 0;
	struct report **list = xcalloc(a->nreports ? a->nreports : 1, sizeof *list);
	for (size_t i = 0; i < a->capreports; i++)
		if (a->reports[i].used)
			list[nlist++] = &a->reports[i];
	qsort(list, nlist, sizeof *list, cmp_report_index);
	for (size_t i = 0; i < nlist; i++) {
		const struct report *r = list[i];
		bool ok = true;
		for (uint32_t k = 0; k < r->nroutes; k++) {
			const struct route *ro = &a->routes[r->route_first + k];
			if (ro->delivered_at == 0 || ro->delivered_at - r->at > deadline_ms)
				ok = false;
		}
		if (ok)
			continue;
		if (r->at > UINT64_MAX - deadline_ms || r->at + deadline_ms > a->last_at) {
			pending++;
			continue; /* not due yet as of the log's last entry */
		}
		if (overdue == 0)
			printf("\nBáo cáo quá hạn / overdue reports (hạn / deadline %.3f s):\n",
			       (double)deadline_ms / 1000.0);
		char when[64], hex[33];
		hex_encode(hex, r->id, 16);
		format_time(when, sizeof when, r->at);
		printf("  %s tiếp nhận / accepted %s (mục / entry %llu)\n", hex, when,
		       (unsigned long long)r->index);
		for (uint32_t k = 0; k < r->nroutes; k++) {
			const struct route *ro = &a->routes[r->route_first + k];
			if (ro->delivered_at != 0 && ro->delivered_at - r->at <= deadline_ms)
				continue;
			if (ro->delivered_at != 0)
				printf("    %.*s %s: giao trễ / delivered late (+%.3f s)\n",
				       (int)ro->name_len, a->names + ro->name_off,
				       channel_names[ro->channel],
				       (double)(ro->delivered_at - r->at) / 1000.0);
			else
				printf("    %.*s %s: chưa giao / not delivered (%s)\n",
				       (int)ro->name_len, a->names + ro->name_off,
				       channel_names[ro->channel], outcome_names[ro->best]);
		}
		overdue++;
	}
	if (pending > 0)
		printf("  (%zu báo cáo chưa đến hạn / reports not yet due)\n", pending);
	free(list);
	return overdue;
}

/* ---- main ---- */

static int load_key(struct note_verifier *v, const char *arg)
{
	char ebuf[ERRBUF_MAX], ebuf2[ERRBUF_MAX];
	if (note_verifier_parse(v, arg, ebuf, sizeof ebuf) == 0)
		return 0;
	uint8_t *data;
	size_t len;
	if (file_read_all(arg, KEYFILE_MAX, &data, &len, ebuf2, sizeof ebuf2) != 0) {
		fprintf(stderr, "khóa xác minh không hợp lệ / invalid verifier key: %s\n", ebuf);
		return -1;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
		len--;
	data = xrealloc(data, len + 1);
	data[len] = '\0';
	int rc = note_verifier_parse(v, (char *)data, ebuf, sizeof ebuf);
	free(data);
	if (rc != 0)
		fprintf(stderr, "khóa xác minh không hợp lệ / invalid verifier key in %s: %s\n",
		        arg, ebuf);
	return rc;
}

static bool parse_seconds(const char *s, uint64_t *ms)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(d >= 0) || d > 10.0 * 365 * 86400)
		return false;
	*ms = (uint64_t)(d * 1000.0 + 0.5);
	return true;
}

static void audit_free(struct audit *a)
{
	source_close(&a->src);
	free(a->cp_note);
	free(a->kept);
	free(a->targets);
	free(a->reports);
	free(a->routes);
	free(a->extras);
	free(a->names);
	free(a->shown);
	free(a->fix);
	msgpack_zone_destroy(&a->zone);
	msgpack_sbuffer_destroy(&a->repack);
}

int audit_main(int argc, char **argv)
{
	static const struct option opts[] = {{"log", required_argument, NULL, 'l'},
	                                     {"key", required_argument, NULL, 'k'},
	                                     {"state", required_argument, NULL, 's'},
	                                     {"report", required_argument, NULL, 'r'},
	                                     {"deadline", required_argument, NULL, 'd'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *log = NULL, *key = NULL, *state_path = NULL, *report = NULL;
	bool want_deadline = false;
	uint64_t deadline_ms = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			log = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 's':
			state_path = optarg;
			break;
		case 'r':
			report = optarg;
			break;
		case 'd':
			if (!parse_seconds(optarg, &deadline_ms)) {
				fprintf(stderr,
				        "--deadline: số giây không hợp lệ / not a number of "
				        "seconds: %s\n",
				        optarg);
				return 2;
			}
			want_deadline = true;
			break;
		case 'h':
			fputs(USAGE, stdout);
			return 0;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc || log == NULL || key == NULL) {
		fputs(USAGE, stderr);
		return 2;
	}

	struct audit *a = xcalloc(1, sizeof *a);
	char ebuf[ERRBUF_MAX];
	int rc = 2;
	unsigned char *data = NULL;
	size_t len;
	struct tlog_tilecache *cache = NULL;
	msgpack_zone_init(&a->zone, 4096);
	msgpack_sbuffer_init(&a->repack);
	if (report != NULL) {
		if (hex_id(report, strlen(report), a->report_id) != 0) {
			fprintf(stderr,
			        "mã báo cáo phải là 32 ký tự hex thường / a report id is 32 "
			        "lowercase hex characters\n");
			goto out;
		}
		a->want_report = true;
	}
	if (load_key(&a->key, key) != 0)
		goto out;
	if (source_open(&a->src, log, ebuf, sizeof ebuf) != 0) {
		fprintf(stderr, "Lỗi / error: %s\n", ebuf);
		goto out;
	}

	/* 1. the checkpoint and its signature */
	int got = source_get(&a->src, "checkpoint", NOTE_MAX_BYTES, &data, &len, ebuf, sizeof ebuf);
	if (got != 0) {
		fprintf(stderr,
		        "Lỗi / error: không đọc được checkpoint / cannot read the checkpoint: %s\n",
		        got == 1 ? "checkpoint is missing" : ebuf);
		goto out;
	}
	if (note_checkpoint_open((const char *)data, len, &a->key, &a->cp, ebuf, sizeof ebuf) !=
	    0) {
		fail(a, "chữ ký checkpoint không hợp lệ",
		     "checkpoint signature does not verify: %s", ebuf);
		rc = 1;
		goto out;
	}
	a->cp_note = (char *)data;
	a->cp_len = len;
	data = NULL;

	/* 2. the checkpoint the auditor saw last time */
	if (state_path != NULL) {
		uint8_t *st;
		size_t stlen;
		struct stat sb;
		if (stat(state_path, &sb) == 0) {
			if (file_read_all(state_path, NOTE_MAX_BYTES, &st, &stlen, ebuf,
			                  sizeof ebuf) != 0) {
				fprintf(stderr, "Lỗi / error: tệp trạng thái / state file: %s\n",
				        ebuf);
				goto out;
			}
			int bad = note_checkpoint_open((char *)st, stlen, &a->key, &a->state, ebuf,
			                               sizeof ebuf);
			free(st);
			if (bad) {
				fprintf(stderr,
				        "Lỗi / error: tệp trạng thái không hợp lệ / state file %s: "
				        "%s\n",
				        state_path, ebuf);
				goto out;
			}
			if (strcmp(a->state.origin, a->cp.origin) != 0) {
				fprintf(
				    stderr,
				    "Lỗi / error: tệp trạng thái là của nhật ký khác / state file "
				    "is for origin \"%s\", the log is \"%s\"\n",
				    a->state.origin, a->cp.origin);
				goto out;
			}
			a->have_state = true;
			if (a->state.size > a->cp.size) {
				fail(a, "nhật ký bị quay lui",
				     "checkpoint %llu is not consistent with state file checkpoint "
				     "%llu: "
				     "the log was rolled back",
				     (unsigned long long)a->cp.size,
				     (unsigned long long)a->state.size);
				rc = 1;
				goto out;
			}
		} else if (errno != ENOENT) {
			fprintf(stderr, "Lỗi / error: %s: %s\n", state_path, strerror(errno));
			goto out;
		}
	}

	/* 3. every kept checkpoint */
	for (int tries = 0;; tries++) {
		rc = load_kept(a);
		if (rc != 3)
			break;
		/*
		 * A kept checkpoint newer than the checkpoint: either the checkpoint was rolled
		 * back, or a live log signed a new one while we read. Read the checkpoint again.
		 */
		uint64_t newest = a->kept[a->nkept - 1].size;
		struct note_checkpoint again;
		got = source_get(&a->src, "checkpoint", NOTE_MAX_BYTES, &data, &len, ebuf,
		                 sizeof ebuf);
		if (tries < 3 && got == 0 &&
		    note_checkpoint_open((const char *)data, len, &a->key, &again, ebuf,
		                         sizeof ebuf) == 0 &&
		    again.size >= newest && strcmp(again.origin, a->cp.origin) == 0) {
			free(a->cp_note);
			a->cp = again;
			a->cp_note = (char *)data;
			a->cp_len = len;
			data = NULL;
			free(a->kept);
			a->kept = NULL;
			a->nkept = 0;
			continue;
		}
		free(data);
		data = NULL;
		fail(a, "nhật ký bị quay lui",
		     "checkpoint %llu is older than kept checkpoint %llu: the log was rolled back",
		     (unsigned long long)a->cp.size, (unsigned long long)newest);
		rc = 1;
		break;
	}
	if (rc != 0)
		goto out;
	rc = 2;
	a->targets = xcalloc(a->nkept + 1, sizeof *a->targets);
	memcpy(a->targets, a->kept, a->nkept * sizeof *a->targets);
	a->ntargets = a->nkept;
	if (a->have_state) {
		struct target *t = &a->targets[a->ntargets++];
		t->size = a->state.size;
		memcpy(t->root, a->state.root, TLOG_HASH_SIZE);
		t->what = TARGET_STATE;
	}
	qsort(a->targets, a->ntargets, sizeof *a->targets, cmp_target);

	/* 4. every entry, every tile, every root */
	tlog_frontier_init(&a->fr, on_subtree, a);
	if (rebuild(a) != 0) {
		rc = a->system_error ? 2 : 1;
		goto out;
	}
	/* 5. consistency proofs made from the tiles */
	cache = tlog_tilecache_new(audit_fetch, a, CACHE_SLOTS);
	if (check_proofs(a, cache) != 0) {
		rc = 1;
		goto out;
	}
	printf("Nhật ký hợp lệ / log verified: %llu mục / entries, %zu báo cáo / reports, "
	       "%zu checkpoint được lưu / kept checkpoints%s\n",
	       (unsigned long long)a->cp.size, a->nreports, a->nkept,
	       a->have_listing ? "" : " (không có danh sách / no listing)");
	char *root64 = b64_encode(a->cp.root, TLOG_HASH_SIZE);
	printf("  checkpoint %llu, gốc / root %s, nguồn / origin %s\n",
	       (unsigned long long)a->cp.size, root64, a->cp.origin);
	free(root64);
	if (a->legacy > 0)
		printf(
		    "  %llu mục tiếp nhận kiểu cũ (tiêu đề 0x88) / legacy accept entries (0x88 map "
		    "header, relays before 7cbe929)\n",
		    (unsigned long long)a->legacy);
	if (a->have_state)
		printf("  nhất quán với lần trước / consistent with the last audit (checkpoint "
		       "%llu)\n",
		       (unsigned long long)a->state.size);

	/* 6. one report's history, with inclusion proofs */
	if (a->want_report && show_report(a, report, cache) != 0) {
		rc = 1;
		goto out;
	}
	/* 7. the state file now records this checkpoint */
	if (state_path != NULL &&
	    file_write_atomic(state_path, a->cp_note, a->cp_len, 0644, ebuf, sizeof ebuf) != 0) {
		fprintf(stderr, "Lỗi / error: %s\n", ebuf);
		goto out;
	}
	rc = 0;
	/* 8. deliveries within the deadline */
	if (want_deadline) {
		size_t overdue = check_deadline(a, deadline_ms);
		if (overdue > 0) {
			fail(a, "có báo cáo không được giao đủ đúng hạn",
			     "%zu report(s) were not delivered to every routed recipient within "
			     "%.3f s",
			     overdue, (double)deadline_ms / 1000.0);
			rc = 1;
		} else {
			printf(
			    "Mọi báo cáo đã giao đủ đúng hạn / every report was delivered to every "
			    "route within %.3f s\n",
			    (double)deadline_ms / 1000.0);
		}
	}
out:
	if (rc == 1)
		fprintf(stderr, "KHÔNG ĐẠT / FAILED: %s\n", a->reason);
	else if (rc == 2 && a->reason[0] != '\0')
		fprintf(stderr, "Lỗi / error: %s\n", a->reason);
	free(data);
	tlog_tilecache_free(cache);
	audit_free(a);
	free(a);
	return rc;
}
