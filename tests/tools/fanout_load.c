/* fanout_load.c: the fan-out benchmark's driver: pre-signed reports submitted to relayd, an HTTPS
 * webhook receiver that timestamps each arrival, and the figures (rate, time to the last delivery,
 * submit-to-receipt latency).
 *
 *   fanout_load run DIR --port N --reports N [--clients N | --interval-ms MS]
 *                   [--sink-ports P,P,... --cert FILE --key FILE] [--maildir DIR]
 *                   [--expect N] [--timeout S] [--first N]
 *
 * DIR is a bench directory written by `loadgen setup` (relay.sec, registry.ini, agencies/ID.sec);
 * agencies of the registry without a secret key there (the recipients) are skipped. The receiver
 * (libmicrohttpd + GnuTLS, one daemon per port, keep-alive) answers 200 to every request and
 * records when its body was complete, its webhook-id and the report_id of its JSON body; the
 * submitter's clock is the same CLOCK_MONOTONIC. With --maildir the deliveries counted are the
 * files in DIR (smtp-sink -d). Prints "key value" lines on stdout for the calling script. */
#include "keyfile.h"
#include "registry.h"
#include "report.h"
#include "util.h"
#include "wire.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define RESPONSE_MAX   16384
#define MAX_CLIENTS    64
#define MAX_SINK_PORTS 32
#define BODY_PREFIX    512 /* enough of the JSON body to find "report_id" */
#define NID_MAX        64
#define REPORT_DESC_BASE                                                                           \
	"Máy tính tiếp đón bị mã hóa dữ liệu; yêu cầu tiền chuộc.\nĐã cách ly khỏi mạng.\n"

static const char USAGE[] =
    "usage: fanout_load run DIR --port N --reports N [--clients N | --interval-ms MS]\n"
    "                       [--sink-ports P,P,... --cert FILE --key FILE] [--maildir DIR]\n"
    "                       [--expect N] [--timeout S] [--first N]\n"
    "\n"
    "Submits N pre-signed reports from the agencies of DIR (written by loadgen setup) to the\n"
    "relay on 127.0.0.1:PORT, as fast as --clients keep-alive clients go (a burst) or one\n"
    "every --interval-ms from one client (light load), then waits (--timeout, default 120 s)\n"
    "until --expect distinct deliveries have reached the HTTPS receiver it runs on\n"
    "--sink-ports, or the files in --maildir number --expect. --first numbers the incidents\n"
    "from N (default 0), so that runs against one relay file distinct reports.\n"
    "Prints \"key value\" lines.\n";

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long parse_long(const char *opt, const char *s, long min, long max)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < min || v > max)
		fatal("%s: expected an integer in %ld..%ld, got \"%s\"", opt, min, max, s);
	return v;
}

/* ---- the receiver ------------------------------------------------------------------------- */

struct arrival {
	double at; /* CLOCK_MONOTONIC seconds, when the body was complete */
	char report_id[REPORT_ID_CHARS + 1];
};

struct sink {
	pthread_mutex_t lock;
	/* Distinct webhook-ids seen: open addressing, capacity a power of two. */
	char (*nids)[NID_MAX + 1];
	size_t cap;
	struct arrival *arrivals; /* one per distinct delivery, in arrival order */
	size_t count, max;
	size_t requests, duplicates, unmatched;
	size_t expect;
	double done_at; /* when the expect-th distinct delivery arrived, 0 until then */
	struct MHD_Daemon *daemons[MAX_SINK_PORTS];
	size_t ndaemons;
	struct MHD_Response *ok;
};

struct request_state {
	char prefix[BODY_PREFIX + 1];
	size_t len;
};

static struct sink sink;

static uint64_t nid_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Records one delivery (under sink.lock); false when its webhook-id was seen before. */
static bool sink_record(const char *nid, const char *body, double at)
{
	size_t i = (size_t)nid_hash(nid) & (sink.cap - 1);
	while (sink.nids[i][0] != '\0') {
		if (strcmp(sink.nids[i], nid) == 0)
			return false;
		i = (i + 1) & (sink.cap - 1);
	}
	if (sink.count == sink.max)
		return false; /* more distinct deliveries than asked for: counted, not kept */
	snprintf(sink.nids[i], sizeof sink.nids[i], "%s", nid);
	struct arrival *a = &sink.arrivals[sink.count++];
	a->at = at;
	const char *p = strstr(body, "\"report_id\":\"");
	if (p != NULL && strspn(p + 13, "0123456789abcdef") >= REPORT_ID_CHARS) {
		memcpy(a->report_id, p + 13, REPORT_ID_CHARS);
		a->report_id[REPORT_ID_CHARS] = '\0';
	} else {
		sink.unmatched++;
	}
	if (sink.count == sink.expect)
		sink.done_at = at;
	return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
	(void)cls, (void)url, (void)method, (void)version;
	struct request_state *rs = *state;
	if (rs == NULL) { /* headers only: come back for the body */
		*state = xcalloc(1, sizeof *rs);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		size_t take =
		    BODY_PREFIX - rs->len < *upload_size ? BODY_PREFIX - rs->len : *upload_size;
		memcpy(rs->prefix + rs->len, upload, take);
		rs->len += take;
		*upload_size = 0;
		return MHD_YES;
	}
	double at = mono_s();
	rs->prefix[rs->len] = '\0';
	const char *nid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "webhook-id");
	char id[NID_MAX + 1];
	snprintf(id, sizeof id, "%s", nid != NULL && nid[0] != '\0' ? nid : "(none)");
	pthread_mutex_lock(&sink.lock);
	sink.requests++;
	if (!sink_record(id, rs->prefix, at))
		sink.duplicates++;
	pthread_mutex_unlock(&sink.lock);
	return MHD_queue_response(conn, MHD_HTTP_OK, sink.ok);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)toe;
	free(*state);
	*state = NULL;
}

static char *read_pem(const char *path)
{
	char err[ERRBUF_MAX];
	uint8_t *pem = NULL;
	size_t len = 0;
	if (file_read_all(path, 1 << 20, &pem, &len, err, sizeof err) != 0)
		fatal("%s", err);
	pem = xrealloc(pem, len + 1); /* MHD wants NUL-terminated PEM */
	pem[len] = '\0';
	return (char *)pem;
}

static void sink_start(const char *ports, const char *cert, const char *key, size_t expect)
{
	pthread_mutex_init(&sink.lock, NULL);
	sink.expect = expect;
	sink.max = expect * 2 + 16;
	for (sink.cap = 64; sink.cap < sink.max * 2; sink.cap *= 2)
		;
	sink.nids = xcalloc(sink.cap, sizeof *sink.nids);
	sink.arrivals = xcalloc(sink.max, sizeof *sink.arrivals);
	sink.ok = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
	char *cert_pem = read_pem(cert), *key_pem = read_pem(key);
	char *list = xstrdup(ports), *save = NULL;
	size_t nports = 0;
	for (char *t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
		nports++;
	free(list);
	/* A pool of two polling threads for a single port, one thread per port otherwise (MHD
	 * takes no pool of one). */
	struct MHD_OptionItem pool[] = {
	    {nports == 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, 2, NULL},
	    {MHD_OPTION_END, 0, NULL},
	};
	list = xstrdup(ports);
	for (char *t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (sink.ndaemons == MAX_SINK_PORTS)
			fatal("--sink-ports: at most %d ports", MAX_SINK_PORTS);
		unsigned port = (unsigned)parse_long("--sink-ports", t, 1, 65535);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		struct MHD_Daemon *d = MHD_start_daemon(
		    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY | MHD_USE_TLS |
		        MHD_USE_ERROR_LOG,
		    (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
		    MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
		    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
		    60u, MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_ARRAY, pool,
		    MHD_OPTION_END);
		if (d == NULL)
			fatal("cannot start the HTTPS receiver on 127.0.0.1:%u", port);
		sink.daemons[sink.ndaemons++] = d;
	}
	free(list);
	free(cert_pem);
	free(key_pem);
}

static void sink_stop(void)
{
	for (size_t i = 0; i < sink.ndaemons; i++)
		MHD_stop_daemon(sink.daemons[i]);
	if (sink.ok != NULL)
		MHD_destroy_response(sink.ok);
	free(sink.nids);
	free(sink.arrivals);
}

/* Files in dir (smtp-sink's dump files), -1 when it cannot be read. */
static long dir_count(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ---- a minimal keep-alive HTTP/1.1 client (as in loadgen.c) -------------------------------- */

struct http_conn {
	int fd;
	unsigned port;
	char buf[RESPONSE_MAX];
	size_t have;
};

static int http_connect(struct http_conn *hc)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)hc->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	hc->have = 0;
	hc->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (hc->fd < 0)
		return -1;
	int one = 1;
	setsockopt(hc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(hc->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		close(hc->fd);
		hc->fd = -1;
		return -1;
	}
	return 0;
}

static void http_close(struct http_conn *hc)
{
	if (hc->fd >= 0)
		close(hc->fd);
	hc->fd = -1;
	hc->have = 0;
}

static int write_all(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static const char *find_header(const char *head, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
			return p + 3 + n;
	return NULL;
}

/* POSTs one envelope and reads the whole reply; 0 with *status, -1 on a transport error. */
static int http_post(struct http_conn *hc, const uint8_t *data, size_t len, unsigned *status)
{
	if (hc->fd < 0 && http_connect(hc) != 0)
		return -1;
	char head[256];
	int hl = snprintf(head, sizeof head,
	                  "POST /v1/reports HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: "
	                  "application/msgpack\r\n"
	                  "Content-Length: %zu\r\n\r\n",
	                  hc->port, len);
	struct iovec iov[2] = {{head, (size_t)hl}, {(void *)data, len}};
	if (write_all(hc->fd, iov, 2) != 0)
		goto fail;
	char *end = NULL;
	for (;;) {
		hc->buf[hc->have] = '\0';
		end = strstr(hc->buf, "\r\n\r\n");
		if (end != NULL)
			break;
		if (hc->have + 1 >= sizeof hc->buf)
			goto fail;
		ssize_t n = recv(hc->fd, hc->buf + hc->have, sizeof hc->buf - 1 - hc->have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		hc->have += (size_t)n;
	}
	*end = '\0';
	unsigned st = 0;
	if (sscanf(hc->buf, "HTTP/1.%*c %u", &st) != 1)
		goto fail;
	const char *cl = find_header(hc->buf, "Content-Length");
	const char *conn = find_header(hc->buf, "Connection");
	bool must_close = conn != NULL && strstr(conn, "close") != NULL;
	if (cl == NULL)
		goto fail;
	size_t blen = strtoul(cl, NULL, 10), hdr = (size_t)(end + 4 - hc->buf);
	if (hdr + blen >= sizeof hc->buf)
		goto fail;
	while (hc->have < hdr + blen) {
		ssize_t n = recv(hc->fd, hc->buf + hc->have, sizeof hc->buf - 1 - hc->have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		hc->have += (size_t)n;
	}
	*status = st;
	memmove(hc->buf, hc->buf + hdr + blen, hc->have - hdr - blen);
	hc->have -= hdr + blen;
	if (must_close)
		http_close(hc);
	return 0;
fail:
	http_close(hc);
	return -1;
}

/* ---- pre-signed reports --------------------------------------------------------------------- */

struct bench_agency {
	char id[AGENCY_ID_MAX + 1];
	struct keypair *kp;
};

struct item {
	uint8_t *env;
	size_t env_len;
	char report_id[REPORT_ID_CHARS + 1];
	unsigned status;
	double sent_at; /* just before the POST */
};

struct bench {
	const char *dir;
	unsigned port;
	struct keypair *relay;
	struct bench_agency *agencies;
	size_t agency_count;
	struct item *items;
	size_t count;
	long first;
	uint64_t ts;
	long interval_ms;
	_Atomic size_t next;
	pthread_barrier_t start;
	double t0;
};

static void report_for(struct report *r, long seq)
{
	char err[ERRBUF_MAX], inc[32], created[24];
	report_init(r);
	snprintf(inc, sizeof inc, "FANOUT-%08ld", seq);
	snprintf(created, sizeof created, "%lld", (long long)now_s());
	const char *kv[][2] = {
	    {"kind", "initial"},
	    {"incident_id", inc},
	    {"category", "ransomware"},
	    {"severity", "serious"},
	    {"created", created},
	    {"detected", "1763990000"},
	    {"reporter_name", "Trạm Y tế xã Thạch Quảng"},
	    {"reporter_address", "Thôn Quảng Thịnh, xã Thạch Quảng, tỉnh Thanh Hóa"},
	    {"reporter_phone", "0237 3870 123"},
	    {"reporter_email", "tyt.thachquang@thanhhoa.gov.vn"},
	    {"contact_name", "Nguyễn Thị Hà"},
	    {"contact_phone", "0912 345 678"},
	    {"contact_email", "ha.nt@thanhhoa.gov.vn"},
	    {"operator", "Trạm Y tế xã Thạch Quảng"},
	    {"system_name", "Máy tính tiếp đón"},
	    {"status", "not_handled"},
	    {"detection_method", "logs"},
	    {"notified", "network_member,coordinator"},
	    {"ips", "203.0.113.7, 203.0.113.8"},
	    {"description", REPORT_DESC_BASE},
	};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
		if (report_set(r, kv[i][0], kv[i][1], err, sizeof err) != 0)
			fatal("report %s: %s", kv[i][0], err);
}

static void presign(struct bench *b)
{
	char err[ERRBUF_MAX];
	for (size_t i = 0; i < b->count; i++) {
		struct item *it = &b->items[i];
		const struct bench_agency *ag = &b->agencies[i % b->agency_count];
		struct report r;
		report_for(&r, b->first + (long)i);
		uint8_t *rep;
		size_t rep_len;
		if (report_encode(&r, &rep, &rep_len, err, sizeof err) != 0)
			fatal("report: %s", err);
		report_clear(&r);
		if (envelope_create(ag->kp, ag->id, b->relay->xpk, rep, rep_len, b->ts, &it->env,
		                    &it->env_len, err, sizeof err) != 0)
			fatal("envelope: %s", err);
		free(rep);
		struct envelope env;
		uint8_t hash[WIRE_HASH_BYTES];
		if (envelope_decode(it->env, it->env_len, &env, err, sizeof err) != 0)
			fatal("envelope: %s", err);
		envelope_hash(&env, hash);
		envelope_clear(&env);
		report_id_from_hash(hash, it->report_id);
	}
}

static void load_bench_dir(struct bench *b)
{
	char err[4096];
	char *path = xasprintf("%s/relay.sec", b->dir);
	b->relay = keyfile_read_secret(path, NULL, err, sizeof err);
	if (b->relay == NULL)
		fatal("%s", err);
	free(path);
	path = xasprintf("%s/registry.ini", b->dir);
	struct registry *reg = registry_load(path, err, sizeof err);
	if (reg == NULL)
		fatal("%s", err);
	free(path);
	b->agencies = xcalloc(reg->count ? reg->count : 1, sizeof *b->agencies);
	for (size_t i = 0; i < reg->count; i++) {
		path = xasprintf("%s/agencies/%s.sec", b->dir, reg->agencies[i].id);
		if (access(path, R_OK) == 0) { /* a reporting agency, not a recipient */
			struct bench_agency *ag = &b->agencies[b->agency_count++];
			snprintf(ag->id, sizeof ag->id, "%s", reg->agencies[i].id);
			ag->kp = keyfile_read_secret(path, NULL, err, sizeof err);
			if (ag->kp == NULL)
				fatal("%s", err);
		}
		free(path);
	}
	registry_free(reg);
	if (b->agency_count == 0)
		fatal("%s: no agency with a secret key under agencies/", b->dir);
}

/* ---- submission ------------------------------------------------------------------------------ */

static void sleep_until(double t)
{
	double now = mono_s();
	if (t <= now)
		return;
	struct timespec ts = {(time_t)(t - now),
	                      (long)((t - now - (double)(time_t)(t - now)) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *client_run(void *arg)
{
	struct bench *b = arg;
	struct http_conn *hc = xcalloc(1, sizeof *hc);
	hc->fd = -1;
	hc->port = b->port;
	if (http_connect(hc) != 0)
		fatal("cannot connect to 127.0.0.1:%u: %s", b->port, strerror(errno));
	pthread_barrier_wait(&b->start);
	for (;;) {
		size_t i = atomic_fetch_add(&b->next, 1);
		if (i >= b->count)
			break;
		struct item *it = &b->items[i];
		if (b->interval_ms > 0)
			sleep_until(b->t0 + (double)i * (double)b->interval_ms / 1000.0);
		it->sent_at = mono_s();
		if (http_post(hc, it->env, it->env_len, &it->status) != 0)
			it->status = 0;
	}
	http_close(hc);
	free(hc);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t k = (size_t)(p / 100.0 * (double)n + 0.999999);
	return sorted[k == 0 ? 0 : (k > n ? n : k) - 1];
}

struct id_index {
	const char *id;
	size_t item;
};

static int cmp_id_index(const void *a, const void *b)
{
	return strcmp(((const struct id_index *)a)->id, ((const struct id_index *)b)->id);
}

/* Latency of each matched delivery (ms, sorted) from its report's submission; returns the count. */
static size_t latencies(const struct bench *b, double *out)
{
	struct id_index *idx = xcalloc(b->count, sizeof *idx);
	for (size_t i = 0; i < b->count; i++)
		idx[i] = (struct id_index){b->items[i].report_id, i};
	qsort(idx, b->count, sizeof *idx, cmp_id_index);
	size_t n = 0;
	for (size_t i = 0; i < sink.count; i++) {
		struct id_index key = {sink.arrivals[i].report_id, 0};
		const struct id_index *hit =
		    bsearch(&key, idx, b->count, sizeof *idx, cmp_id_index);
		if (hit != NULL)
			out[n++] = (sink.arrivals[i].at - b->items[hit->item].sent_at) * 1000.0;
	}
	free(idx);
	qsort(out, n, sizeof *out, cmp_double);
	return n;
}

static int run_main(int argc, char **argv)
{
	static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
	                                     {"reports", required_argument, NULL, 'n'},
	                                     {"clients", required_argument, NULL, 'c'},
	                                     {"interval-ms", required_argument, NULL, 'i'},
	                                     {"sink-ports", required_argument, NULL, 's'},
	                                     {"cert", required_argument, NULL, 'C'},
	                                     {"key", required_argument, NULL, 'K'},
	                                     {"maildir", required_argument, NULL, 'm'},
	                                     {"expect", required_argument, NULL, 'e'},
	                                     {"timeout", required_argument, NULL, 't'},
	                                     {"first", required_argument, NULL, 'f'},
	                                     {NULL, 0, NULL, 0}};
	long port = 0, reports = 1000, clients = 8, interval_ms = 0, expect = 0, timeout = 120,
	     first = 0;
	const char *ports = NULL, *cert = NULL, *key = NULL, *maildir = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = parse_long("--port", optarg, 1, 65535);
			break;
		case 'n':
			reports = parse_long("--reports", optarg, 1, 10000000);
			break;
		case 'c':
			clients = parse_long("--clients", optarg, 1, MAX_CLIENTS);
			break;
		case 'i':
			interval_ms = parse_long("--interval-ms", optarg, 0, 60000);
			break;
		case 's':
			ports = optarg;
			break;
		case 'C':
			cert = optarg;
			break;
		case 'K':
			key = optarg;
			break;
		case 'm':
			maildir = optarg;
			break;
		case 'e':
			expect = parse_long("--expect", optarg, 0, 100000000);
			break;
		case 't':
			timeout = parse_long("--timeout", optarg, 1, 3600);
			break;
		case 'f':
			first = parse_long("--first", optarg, 0, 100000000);
			break;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (port == 0 || optind + 1 != argc || (ports != NULL && (cert == NULL || key == NULL)) ||
	    (ports != NULL && maildir != NULL)) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (interval_ms > 0)
		clients = 1;
	struct bench b;
	memset(&b, 0, sizeof b);
	b.dir = argv[optind];
	b.port = (unsigned)port;
	b.count = (size_t)reports;
	b.first = first;
	b.interval_ms = interval_ms;
	load_bench_dir(&b);
	b.items = xcalloc(b.count, sizeof *b.items);
	b.ts = (uint64_t)now_s();
	presign(&b);
	if (ports != NULL)
		sink_start(ports, cert, key, (size_t)expect);

	pthread_barrier_init(&b.start, NULL, (unsigned)clients + 1);
	pthread_t *t = xcalloc((size_t)clients, sizeof *t);
	for (long i = 0; i < clients; i++)
		if (pthread_create(&t[i], NULL, client_run, &b) != 0)
			fatal("pthread_create");
	b.t0 = mono_s();
	pthread_barrier_wait(&b.start);
	for (long i = 0; i < clients; i++)
		pthread_join(t[i], NULL);
	double submitted = mono_s();
	free(t);
	pthread_barrier_destroy(&b.start);
	double t_first = b.items[0].sent_at;
	for (size_t i = 1; i < b.count; i++)
		if (b.items[i].sent_at > 0 && b.items[i].sent_at < t_first)
			t_first = b.items[i].sent_at;
	size_t accepted = 0;
	unsigned other = 0;
	for (size_t i = 0; i < b.count; i++) {
		if (b.items[i].status == 202)
			accepted++;
		else if (other == 0)
			other = b.items[i].status ? b.items[i].status : 1;
	}

	/* Wait for the deliveries. */
	double deadline = submitted + (double)timeout, done_at = 0;
	size_t delivered = 0;
	while (expect > 0) {
		if (ports != NULL) {
			pthread_mutex_lock(&sink.lock);
			delivered = sink.count;
			done_at = sink.done_at;
			pthread_mutex_unlock(&sink.lock);
		} else if (maildir != NULL) {
			long n = dir_count(maildir);
			delivered = n > 0 ? (size_t)n : 0;
			if (delivered >= (size_t)expect)
				done_at = mono_s();
		}
		if (done_at > 0 || mono_s() > deadline)
			break;
		usleep(ports != NULL ? 2000 : 5000);
	}

	printf("reports %zu\naccepted %zu\n", b.count, accepted);
	if (accepted != b.count)
		printf("first_other_status %u\n", other);
	printf("submit_s %.3f\n", submitted - t_first);
	printf("delivered %zu\nexpected %ld\n", delivered, expect);
	int rc = accepted == b.count ? 0 : 1;
	if (expect > 0 && done_at > 0) {
		double elapsed = done_at - t_first;
		printf("last_delivery_s %.3f\n", elapsed);
		printf("deliveries_per_s %.0f\n", (double)expect / elapsed);
	} else if (expect > 0) {
		rc = 1;
	}
	if (ports != NULL) {
		pthread_mutex_lock(&sink.lock);
		double *lat = xcalloc(sink.count ? sink.count : 1, sizeof *lat);
		size_t n = latencies(&b, lat);
		printf("requests %zu\nduplicates %zu\nunmatched %zu\n", sink.requests,
		       sink.duplicates, sink.count - n);
		if (n > 0)
			printf("latency_p50_ms %.2f\nlatency_p90_ms %.2f\nlatency_p99_ms "
			       "%.2f\nlatency_max_ms %.2f\n",
			       percentile(lat, n, 50), percentile(lat, n, 90),
			       percentile(lat, n, 99), lat[n - 1]);
		free(lat);
		pthread_mutex_unlock(&sink.lock);
		sink_stop();
	}
	for (size_t i = 0; i < b.count; i++)
		free(b.items[i].env);
	free(b.items);
	for (size_t i = 0; i < b.agency_count; i++)
		keypair_free(b.agencies[i].kp);
	free(b.agencies);
	keypair_free(b.relay);
	return rc;
}

int main(int argc, char **argv)
{
	log_set_prefix("fanout_load");
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		fatal("libsodium init failed");
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return run_main(argc - 1, argv + 1);
	fputs(USAGE, stderr);
	return 2;
}
