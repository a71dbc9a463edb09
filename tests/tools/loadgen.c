/* loadgen.c: the intake benchmark: bench set-up, pre-signed envelopes, keep-alive clients, crypto
 * ceiling. */
#include "keyfile.h"
#include "registry.h"
#include "report.h"
#include "util.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define REPORT_TARGET_BYTES 1024
#define RESPONSE_MAX        16384
#define MAX_THREADS         64

static const char USAGE[] =
    "usage: loadgen setup DIR [--agencies N] [--threads N] [--port N]\n"
    "       loadgen wait --port N [--timeout S]\n"
    "       loadgen run DIR --port N [--reports N] [--clients N] [--ceiling N]\n"
    "\n"
    "setup  writes a relay keypair, N agencies with keys in a registry and relay.ini\n"
    "       (rate limits out of the way, a free loopback port unless --port); prints the port.\n"
    "wait   waits until GET /healthz answers 200 (default 10 s).\n"
    "run    pre-signs the reports, measures the crypto-only ceiling (1 and 2 threads, --ceiling\n"
    "       reports per pass), then submits every report from --clients keep-alive HTTP/1.1\n"
    "       clients, checks each reply is 202 with a valid receipt and prints BENCH lines.\n";

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

/* ---- set-up ------------------------------------------------------------------------------- */

static unsigned free_loopback_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		fatal("cannot find a free loopback port: %s", strerror(errno));
	close(fd);
	return ntohs(sa.sin_port);
}

static void agency_id(char *out, size_t outlen, long i)
{
	snprintf(out, outlen, "bench-unit-%03ld", i);
}

static int setup_main(int argc, char **argv)
{
	static const struct option opts[] = {{"agencies", required_argument, NULL, 'a'},
	                                     {"threads", required_argument, NULL, 't'},
	                                     {"port", required_argument, NULL, 'p'},
	                                     {NULL, 0, NULL, 0}};
	long agencies = 100, threads = 2, port = 0;
	int c;
	while ((c = getopt_long(argc, argv, "a:t:p:", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			agencies = parse_long("--agencies", optarg, 1, 999);
			break;
		case 't':
			threads = parse_long("--threads", optarg, 1, 64);
			break;
		case 'p':
			port = parse_long("--port", optarg, 1, 65535);
			break;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fputs(USAGE, stderr);
		return 2;
	}
	const char *dir = argv[optind];
	char err[ERRBUF_MAX];
	char *sub = xasprintf("%s/agencies", dir);
	if ((mkdir(dir, 0700) != 0 && errno != EEXIST) ||
	    (mkdir(sub, 0700) != 0 && errno != EEXIST))
		fatal("%s: %s", sub, strerror(errno));

	struct keypair *relay = keypair_generate();
	char *sec = xasprintf("%s/relay.sec", dir), *pub = xasprintf("%s/relay.pub", dir);
	if (keyfile_write_secret(sec, relay, NULL, true, err, sizeof err) != 0 ||
	    keyfile_write_public(pub, relay, "bench relay", true, err, sizeof err) != 0)
		fatal("%s", err);
	keypair_free(relay);

	struct registry *reg = registry_new();
	int64_t now = now_s();
	for (long i = 0; i < agencies; i++) {
		char id[AGENCY_ID_MAX + 1], name[64];
		agency_id(id, sizeof id, i);
		snprintf(name, sizeof name, "Đơn vị thử tải %03ld", i);
		struct agency *a = registry_add(reg, id, name, "unit", "bench", err, sizeof err);
		if (a == NULL)
			fatal("%s", err);
		struct keypair *kp = keypair_generate();
		agency_add_key(a, kp->pk, now - 86400, now + 365 * 86400);
		char *path = xasprintf("%s/%s.sec", sub, id);
		if (keyfile_write_secret(path, kp, NULL, true, err, sizeof err) != 0)
			fatal("%s", err);
		free(path);
		keypair_free(kp);
	}
	char *regpath = xasprintf("%s/registry.ini", dir);
	if (registry_save(reg, regpath, err, sizeof err) != 0)
		fatal("%s", err);
	registry_free(reg);

	if (port == 0)
		port = free_loopback_port();
	char *cfg =
	    xasprintf("# relay.ini: written by loadgen setup for the intake benchmark.\n"
	              "[relay]\nlisten = 127.0.0.1:%ld\nstore = relay.db\nlog_dir = log\n"
	              "secret_key = relay.sec\nregistry = registry.ini\n"
	              "[limits]\nrate_per_minute = 10000000\nrate_burst = 10000000\n"
	              "timestamp_window = 3600\nmax_connections = 1024\nper_ip_connections = 1024\n"
	              "threads = %ld\n",
	              port, threads);
	char *cfgpath = xasprintf("%s/relay.ini", dir);
	if (file_write_atomic(cfgpath, cfg, strlen(cfg), 0600, err, sizeof err) != 0)
		fatal("%s", err);
	printf("%ld\n", port);
	free(cfg);
	free(cfgpath);
	free(regpath);
	free(sec);
	free(pub);
	free(sub);
	return 0;
}

/* ---- a minimal keep-alive HTTP/1.1 client --------------------------------------------------- */

struct http_conn {
	int fd;
	unsigned port;
	char buf[RESPONSE_MAX];
	size_t have; /* bytes in buf not yet consumed */
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

/*
 * Sends one request on the connection (opening it when needed) and reads the whole reply.
 * 0 with *status and the body copied into body (up to bodycap; *bodylen), -1 on a transport error
 * (the connection is closed then).
 */
static int http_post(struct http_conn *hc, const char *path, const uint8_t *data, size_t len,
                     unsigned *status, uint8_t *body, size_t bodycap, size_t *bodylen)
{
	if (hc->fd < 0 && http_connect(hc) != 0)
		return -1;
	char head[256];
	int hl =
	    snprintf(head, sizeof head,
	             "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/msgpack\r\n"
	             "Content-Length: %zu\r\n\r\n",
	             data ? "POST" : "GET", path, hc->port, len);
	struct iovec iov[2] = {{head, (size_t)hl}, {(void *)data, len}};
	if (write_all(hc->fd, iov, data ? 2 : 1) != 0)
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
	*bodylen = blen < bodycap ? blen : bodycap;
	memcpy(body, hc->buf + hdr, *bodylen);
	memmove(hc->buf, hc->buf + hdr + blen, hc->have - hdr - blen);
	hc->have -= hdr + blen;
	if (must_close)
		http_close(hc);
	return 0;
fail:
	http_close(hc);
	return -1;
}

static int wait_main(int argc, char **argv)
{
	static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
	                                     {"timeout", required_argument, NULL, 't'},
	                                     {NULL, 0, NULL, 0}};
	long port = 0, timeout = 10;
	int c;
	while ((c = getopt_long(argc, argv, "p:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = parse_long("--port", optarg, 1, 65535);
			break;
		case 't':
			timeout = parse_long("--timeout", optarg, 1, 3600);
			break;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (port == 0 || optind != argc) {
		fputs(USAGE, stderr);
		return 2;
	}
	struct http_conn *hc = xcalloc(1, sizeof *hc);
	hc->fd = -1;
	hc->port = (unsigned)port;
	double deadline = mono_s() + (double)timeout;
	int rc = 1;
	while (mono_s() < deadline) {
		unsigned status = 0;
		uint8_t body[256];
		size_t blen;
		if (http_post(hc, "/healthz", NULL, 0, &status, body, sizeof body, &blen) == 0 &&
		    status == 200) {
			rc = 0;
			break;
		}
		http_close(hc);
		usleep(50000);
	}
	http_close(hc);
	free(hc);
	if (rc != 0)
		fprintf(stderr, "loadgen: /healthz on port %ld did not answer within %ld s\n", port,
		        timeout);
	return rc;
}

/* ---- pre-signed envelopes ----------------------------------------------------------------- */

struct bench_agency {
	char id[AGENCY_ID_MAX + 1];
	struct keypair *kp;
};

struct item {
	uint8_t *env;
	size_t env_len;
	uint16_t agency;
	uint8_t hash[WIRE_HASH_BYTES]; /* what the receipt must name */
	/* Filled by the load phase. */
	unsigned status;
	double latency_s;
	uint8_t receipt[512];
	size_t receipt_len;
};

struct bench {
	const char *dir;
	unsigned port;
	struct keypair *relay;
	struct bench_agency *agencies;
	size_t agency_count;
	struct item *items;
	size_t count;
	size_t report_len;
	uint64_t ts;
	size_t next; /* load phase: next item to send (atomic) */
	size_t failures;
	pthread_barrier_t start;
};

static void report_for(struct report *r, long seq, const char *pad)
{
	char err[ERRBUF_MAX], inc[32], created[24];
	report_init(r);
	snprintf(inc, sizeof inc, "BENCH-%08ld", seq);
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
	    {"status", "not_handled"},
	    {"detection_method", "logs"},
	    {"notified", "network_member,coordinator"},
	    {"ips", "203.0.113.7, 203.0.113.8"},
	    {"description", pad},
	};
	for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
		if (report_set(r, kv[i][0], kv[i][1], err, sizeof err) != 0)
			fatal("report %s: %s", kv[i][0], err);
}

/* The description that brings the encoded report to REPORT_TARGET_BYTES (all ASCII after the base
 * text). */
static char *description_pad(void)
{
	static const char base[] =
	    "Máy tính tiếp đón bị mã hóa dữ liệu; yêu cầu tiền chuộc.\nĐã cách ly khỏi mạng.\n";
	char err[ERRBUF_MAX];
	struct report r;
	report_for(&r, 0, base);
	uint8_t *out;
	size_t len;
	if (report_encode(&r, &out, &len, err, sizeof err) != 0)
		fatal("report: %s", err);
	free(out);
	report_clear(&r);
	size_t extra = len < REPORT_TARGET_BYTES ? REPORT_TARGET_BYTES - len : 0;
	/* Growing a str past 255 bytes adds a byte to its length prefix. */
	if (sizeof base - 1 <= 255 && sizeof base - 1 + extra > 255 && extra > 0)
		extra--;
	char *pad = xmalloc(sizeof base + extra);
	memcpy(pad, base, sizeof base - 1);
	for (size_t i = 0; i < extra; i++)
		pad[sizeof base - 1 + i] =
		    (i % 64 == 63) ? '\n'
		                   : "Nhat ky may chu ghi nhan truy cap bat thuong. "[i % 46];
	pad[sizeof base - 1 + extra] = '\0';
	return pad;
}

struct sign_job {
	struct bench *b;
	const char *pad;
	size_t from, to;
};

static void *sign_run(void *arg)
{
	struct sign_job *j = arg;
	struct bench *b = j->b;
	char err[ERRBUF_MAX];
	for (size_t i = j->from; i < j->to; i++) {
		struct item *it = &b->items[i];
		it->agency = (uint16_t)(i % b->agency_count);
		const struct bench_agency *ag = &b->agencies[it->agency];
		struct report r;
		report_for(&r, (long)i, j->pad);
		uint8_t *rep;
		size_t rep_len;
		if (report_encode(&r, &rep, &rep_len, err, sizeof err) != 0)
			fatal("report: %s", err);
		report_clear(&r);
		if (i == 0)
			b->report_len = rep_len;
		if (envelope_create(ag->kp, ag->id, b->relay->xpk, rep, rep_len, b->ts, &it->env,
		                    &it->env_len, err, sizeof err) != 0)
			fatal("envelope: %s", err);
		free(rep);
		struct envelope env;
		if (envelope_decode(it->env, it->env_len, &env, err, sizeof err) != 0)
			fatal("envelope: %s", err);
		envelope_hash(&env, it->hash);
		envelope_clear(&env);
	}
	return NULL;
}

/* Runs fn over [0, count) split evenly across n threads. */
static void run_split(int n, void *(*fn)(void *), void *jobs, size_t job_size)
{
	pthread_t t[MAX_THREADS];
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, fn, (char *)jobs + (size_t)i * job_size) != 0)
			fatal("pthread_create");
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

static void presign(struct bench *b, int threads)
{
	char *pad = description_pad();
	struct sign_job jobs[MAX_THREADS];
	for (int i = 0; i < threads; i++)
		jobs[i] = (struct sign_job){b, pad, b->count * (size_t)i / (size_t)threads,
		                            b->count * (size_t)(i + 1) / (size_t)threads};
	run_split(threads, sign_run, jobs, sizeof jobs[0]);
	free(pad);
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
	b->agency_count = reg->count;
	b->agencies = xcalloc(reg->count, sizeof *b->agencies);
	for (size_t i = 0; i < reg->count; i++) {
		snprintf(b->agencies[i].id, sizeof b->agencies[i].id, "%s", reg->agencies[i].id);
		path = xasprintf("%s/agencies/%s.sec", b->dir, reg->agencies[i].id);
		b->agencies[i].kp = keyfile_read_secret(path, NULL, err, sizeof err);
		if (b->agencies[i].kp == NULL)
			fatal("%s", err);
		free(path);
	}
	registry_free(reg);
	if (b->agency_count == 0 || b->agency_count > UINT16_MAX)
		fatal("%s: the registry must hold 1..65535 agencies", b->dir);
}

/* ---- crypto-only ceiling -------------------------------------------------------------------- */

struct ceiling_job {
	struct bench *b;
	size_t from, to;
	size_t ok;
};

/* What the relay does with each report's bytes, minus HTTP and the store. */
static void *ceiling_run(void *arg)
{
	struct ceiling_job *j = arg;
	struct bench *b = j->b;
	char err[ERRBUF_MAX];
	for (size_t i = j->from; i < j->to; i++) {
		const struct item *it = &b->items[i % b->count];
		const uint8_t *pk = b->agencies[it->agency].kp->pk;
		struct envelope env;
		struct signed_report sr;
		struct report r;
		uint8_t *plain = NULL;
		size_t plain_len = 0;
		report_init(&r);
		if (envelope_decode(it->env, it->env_len, &env, err, sizeof err) == 0 &&
		    envelope_verify(&env, pk) == 0 &&
		    envelope_open(&env, b->relay, &plain, &plain_len, err, sizeof err) == 0 &&
		    signed_report_decode(plain, plain_len, &sr, err, sizeof err) == 0 &&
		    signed_report_verify(&sr, pk) == 0 &&
		    report_decode(sr.report, sr.report_len, &r, err, sizeof err) == 0)
			j->ok++;
		report_clear(&r);
		if (plain != NULL) {
			sodium_memzero(plain, plain_len);
			free(plain);
		}
		envelope_clear(&env);
	}
	return NULL;
}

/* Microseconds per report spent in each step of ceiling_run, plus the relay's receipt signature. */
enum {
	STEP_DECODE,
	STEP_VERIFY,
	STEP_OPEN,
	STEP_SR_DECODE,
	STEP_SR_VERIFY,
	STEP_REPORT_DECODE,
	STEP_RECEIPT,
	STEP_COUNT
};
static const char *const step_names[STEP_COUNT] = {"envelope_decode",
                                                   "envelope_verify",
                                                   "envelope_open",
                                                   "signed_report_decode",
                                                   "signed_report_verify",
                                                   "report_decode",
                                                   "receipt_sign (after commit)"};

static void ceiling_steps(struct bench *b, size_t n, double us[STEP_COUNT])
{
	char err[ERRBUF_MAX];
	double total[STEP_COUNT] = {0};
	for (size_t i = 0; i < n; i++) {
		const struct item *it = &b->items[i % b->count];
		const uint8_t *pk = b->agencies[it->agency].kp->pk;
		struct envelope env;
		struct signed_report sr;
		struct report r;
		struct receipt rc;
		uint8_t *plain = NULL;
		size_t plain_len = 0;
		double t[STEP_COUNT + 1];
		report_init(&r);
		memset(&rc, 0, sizeof rc);
		t[0] = mono_s();
		int bad = envelope_decode(it->env, it->env_len, &env, err, sizeof err);
		t[1] = mono_s();
		bad |= envelope_verify(&env, pk);
		t[2] = mono_s();
		bad |= envelope_open(&env, b->relay, &plain, &plain_len, err, sizeof err);
		t[3] = mono_s();
		bad |= signed_report_decode(plain, plain_len, &sr, err, sizeof err);
		t[4] = mono_s();
		bad |= signed_report_verify(&sr, pk);
		t[5] = mono_s();
		bad |= report_decode(sr.report, sr.report_len, &r, err, sizeof err);
		t[6] = mono_s();
		memcpy(rc.hash, it->hash, WIRE_HASH_BYTES);
		memcpy(rc.agency, env.agency, sizeof rc.agency);
		snprintf(rc.incident_id, sizeof rc.incident_id, "%s", r.incident_id);
		receipt_sign(&rc, b->relay);
		t[7] = mono_s();
		if (bad != 0)
			fatal("crypto ceiling: report %zu did not decode and verify", i);
		for (int k = 0; k < STEP_COUNT; k++)
			total[k] += t[k + 1] - t[k];
		report_clear(&r);
		sodium_memzero(plain, plain_len);
		free(plain);
		envelope_clear(&env);
	}
	for (int k = 0; k < STEP_COUNT; k++)
		us[k] = total[k] * 1e6 / (double)n;
}

/* Reports per second with n threads, each doing per_thread reports. */
static double ceiling(struct bench *b, int n, size_t per_thread)
{
	struct ceiling_job jobs[MAX_THREADS];
	for (int i = 0; i < n; i++)
		jobs[i] = (struct ceiling_job){b, per_thread * (size_t)i,
		                               per_thread * (size_t)(i + 1), 0};
	double t0 = mono_s();
	run_split(n, ceiling_run, jobs, sizeof jobs[0]);
	double dt = mono_s() - t0;
	size_t ok = 0;
	for (int i = 0; i < n; i++)
		ok += jobs[i].ok;
	if (ok != per_thread * (size_t)n)
		fatal("crypto ceiling: %zu of %zu reports did not decode and verify",
		      per_thread * (size_t)n - ok, per_thread * (size_t)n);
	return (double)ok / dt;
}

/* ---- load ------------------------------------------------------------------------------------ */

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
		size_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
		if (i >= b->count)
			break;
		struct item *it = &b->items[i];
		double t0 = mono_s();
		if (http_post(hc, "/v1/reports", it->env, it->env_len, &it->status, it->receipt,
		              sizeof it->receipt, &it->receipt_len) != 0)
			it->status = 0;
		it->latency_s = mono_s() - t0;
	}
	http_close(hc);
	free(hc);
	return NULL;
}

struct verify_job {
	struct bench *b;
	size_t from, to;
	size_t bad;
	char first[ERRBUF_MAX + 32];
};

static void *verify_run(void *arg)
{
	struct verify_job *j = arg;
	struct bench *b = j->b;
	char err[ERRBUF_MAX];
	for (size_t i = j->from; i < j->to; i++) {
		const struct item *it = &b->items[i];
		if (it->status != 202)
			continue;
		struct receipt rc;
		const char *why = NULL;
		if (receipt_decode(it->receipt, it->receipt_len, &rc, err, sizeof err) != 0)
			why = err;
		else if (memcmp(rc.hash, it->hash, WIRE_HASH_BYTES) != 0 ||
		         strcmp(rc.agency, b->agencies[it->agency].id) != 0)
			why = "the receipt names another report";
		else if (receipt_verify(&rc, b->relay->pk) != 0)
			why = "the receipt signature does not verify";
		if (why != NULL && j->bad++ == 0)
			snprintf(j->first, sizeof j->first, "report %zu: %s", i, why);
	}
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

static int run_main(int argc, char **argv)
{
	static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
	                                     {"reports", required_argument, NULL, 'n'},
	                                     {"clients", required_argument, NULL, 'c'},
	                                     {"ceiling", required_argument, NULL, 'C'},
	                                     {NULL, 0, NULL, 0}};
	long port = 0, reports = 50000, clients = 16, per_pass = 10000;
	int c;
	while ((c = getopt_long(argc, argv, "p:n:c:C:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = parse_long("--port", optarg, 1, 65535);
			break;
		case 'n':
			reports = parse_long("--reports", optarg, 1, 10000000);
			break;
		case 'c':
			clients = parse_long("--clients", optarg, 1, MAX_THREADS);
			break;
		case 'C':
			per_pass = parse_long("--ceiling", optarg, 0, 10000000);
			break;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (port == 0 || optind + 1 != argc) {
		fputs(USAGE, stderr);
		return 2;
	}
	struct bench b;
	memset(&b, 0, sizeof b);
	b.dir = argv[optind];
	b.port = (unsigned)port;
	b.count = (size_t)reports;
	load_bench_dir(&b);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int sign_threads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;

	b.items = xcalloc(b.count, sizeof *b.items);
	b.ts = (uint64_t)now_s();
	double t0 = mono_s();
	presign(&b, sign_threads);
	double t_sign = mono_s() - t0;
	fprintf(stderr,
	        "loadgen: %zu envelopes of %zu bytes (report %zu bytes) from %zu agencies signed "
	        "in %.1f s\n",
	        b.count, b.items[0].env_len, b.report_len, b.agency_count, t_sign);

	double ceil1 = 0, ceil2 = 0, steps[STEP_COUNT] = {0};
	if (per_pass > 0) {
		ceil1 = ceiling(&b, 1, (size_t)per_pass);
		ceil2 = ceiling(&b, 2, (size_t)per_pass);
		ceiling_steps(&b, (size_t)(per_pass < 2000 ? per_pass : 2000), steps);
	}

	pthread_barrier_init(&b.start, NULL, (unsigned)clients + 1);
	pthread_t *t = xcalloc((size_t)clients, sizeof *t);
	for (long i = 0; i < clients; i++)
		if (pthread_create(&t[i], NULL, client_run, &b) != 0)
			fatal("pthread_create");
	pthread_barrier_wait(&b.start);
	t0 = mono_s();
	for (long i = 0; i < clients; i++)
		pthread_join(t[i], NULL);
	double elapsed = mono_s() - t0;
	free(t);
	pthread_barrier_destroy(&b.start);

	size_t accepted = 0, transport = 0, other = 0;
	unsigned other_status = 0;
	double *lat = xcalloc(b.count, sizeof *lat);
	for (size_t i = 0; i < b.count; i++) {
		if (b.items[i].status == 202)
			lat[accepted++] = b.items[i].latency_s * 1000.0;
		else if (b.items[i].status == 0)
			transport++;
		else if (other++ == 0)
			other_status = b.items[i].status;
	}
	qsort(lat, accepted, sizeof *lat, cmp_double);
	double p50 = percentile(lat, accepted, 50), p99 = percentile(lat, accepted, 99);
	double pmax = accepted ? lat[accepted - 1] : 0;

	struct verify_job vj[MAX_THREADS];
	for (int i = 0; i < sign_threads; i++) {
		memset(&vj[i], 0, sizeof vj[i]);
		vj[i].b = &b;
		vj[i].from = b.count * (size_t)i / (size_t)sign_threads;
		vj[i].to = b.count * (size_t)(i + 1) / (size_t)sign_threads;
	}
	run_split(sign_threads, verify_run, vj, sizeof vj[0]);
	size_t bad_receipts = 0;
	for (int i = 0; i < sign_threads; i++) {
		if (vj[i].bad > 0 && bad_receipts == 0)
			fprintf(stderr, "loadgen: %s\n", vj[i].first);
		bad_receipts += vj[i].bad;
	}

	double rate = (double)accepted / elapsed;
	printf("  reports sent            %zu (%ld clients, keep-alive, %zu agencies)\n", b.count,
	       clients, b.agency_count);
	printf("  envelope / report size  %zu / %zu bytes\n", b.items[0].env_len, b.report_len);
	printf("  accepted (202)          %zu in %.2f s\n", accepted, elapsed);
	printf("  other status / no reply %zu (first status %u) / %zu\n", other, other_status,
	       transport);
	printf("  receipts verified       %zu of %zu (%zu bad)\n", accepted - bad_receipts,
	       accepted, bad_receipts);
	printf("  latency p50 / p99 / max %.2f / %.2f / %.2f ms\n", p50, p99, pmax);
	printf("  crypto ceiling 1 / 2 th %.0f / %.0f reports/s (%ld reports per thread)\n", ceil1,
	       ceil2, per_pass);
	if (per_pass > 0) {
		printf("  one report, single thread (microseconds):\n");
		for (int k = 0; k < STEP_COUNT; k++)
			printf("    %-28s %7.1f\n", step_names[k], steps[k]);
	}
	printf("BENCH intake_reports_per_s %.0f reports/s\n", rate);
	printf("BENCH intake_latency_p50_ms %.2f ms\n", p50);
	printf("BENCH intake_latency_p99_ms %.2f ms\n", p99);
	printf("BENCH crypto_ceiling_1thread_reports_per_s %.0f reports/s\n", ceil1);
	printf("BENCH crypto_ceiling_2threads_reports_per_s %.0f reports/s\n", ceil2);

	free(lat);
	for (size_t i = 0; i < b.count; i++)
		free(b.items[i].env);
	free(b.items);
	for (size_t i = 0; i < b.agency_count; i++)
		keypair_free(b.agencies[i].kp);
	free(b.agencies);
	keypair_free(b.relay);
	return accepted == b.count && bad_receipts == 0 ? 0 : 1;
}

/* ---- main ------------------------------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*main)(int, char **);
} commands[] = {
    {"setup", setup_main},
    {"wait", wait_main},
    {"run", run_main},
};

int main(int argc, char **argv)
{
	log_set_prefix("loadgen");
	if (sodium_init() < 0)
		fatal("libsodium init failed");
	if (argc >= 2)
		for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				return commands[i].main(argc - 1, argv + 1);
	fputs(USAGE, stderr);
	return 2;
}
