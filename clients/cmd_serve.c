/* cmd_serve.c: `incident serve`: a recipient's HTTPS webhook receiver: verify, deduplicate, open,
 * store. */
#include "client.h"
#include "httpc.h"
#include "keyfile.h"
#include "notify.h"
#include "recipient.h"
#include "registry.h"
#include "subcommands.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char USAGE[] =
    "Cách dùng / usage: incident serve --listen ĐỊA-CHỈ:CỔNG --tls-cert TỆP --tls-key TỆP\n"
    "        --key KHÓA.sec --relay-key TỆP --registry TỆP --store THƯ-MỤC [--ack]\n"
    "\n"
    "Máy nhận webhook HTTPS của một đơn vị nhận: kiểm tra chữ ký v1a (Standard Webhooks) trên\n"
    "đúng nội dung nhận được bằng khóa relay, bỏ bản trùng theo webhook-id, mở báo cáo, kiểm tra\n"
    "chữ ký của đơn vị báo cáo, lưu (fsync) vào THƯ-MỤC rồi mới trả lời 200.\n"
    "A recipient's HTTPS webhook receiver: checks the v1a signature over the exact body with the\n"
    "relay key, drops duplicates by webhook-id (remembered in the store across restarts), opens\n"
    "the report, checks the reporting agency's signature, stores it (fsync), then answers 200.\n"
    "\n"
    "  --listen ĐC:CỔNG       địa chỉ IPv4 và cổng / IPv4 address and port (0: any free port)\n"
    "  --tls-cert TỆP         chứng chỉ PEM / PEM certificate (chain)\n"
    "  --tls-key TỆP          khóa PEM / PEM private key\n"
    "  --key TỆP              khóa bí mật của đơn vị nhận / the recipient's secret key\n"
    "  --relay-key TỆP        khóa công khai của relay / relay public key\n"
    "  --registry TỆP         sổ đăng ký đơn vị (SIGHUP đọc lại) / agency registry (reread on "
    "SIGHUP)\n"
    "  --store THƯ-MỤC        nơi lưu báo cáo / where reports are stored\n"
    "  --tolerance GIÂY       độ lệch webhook-timestamp cho phép / timestamp tolerance (300)\n"
    "  --ack                  tự xác nhận với relay sau khi lưu (cần --relay) / acknowledge to "
    "the\n"
    "                         relay after storing (needs --relay)\n"
    "  --relay URL            relay nhận xác nhận / relay to acknowledge to\n"
    "  --agency ID            mã đơn vị của khóa (mặc định: người nhận trong thông báo) / the "
    "key's\n"
    "                         registry id (default: the notification's recipient)\n"
    "\n"
    "Trả lời / answers: 200 đã lưu hoặc trùng / stored or duplicate; 400 sai định dạng / "
    "malformed;\n"
    "401 chữ ký hoặc thời điểm sai / bad signature or timestamp; 403 báo cáo không xác thực được\n"
    "theo sổ đăng ký (giữ trong quarantine/) / report not authentic per the registry (kept in\n"
    "quarantine/); 413 quá lớn / too large; 503 không lưu được / cannot store.\n"
    "Trong THƯ-MỤC / in the store: <id>.tbsc (thông báo / notification), <id>.report (báo cáo ký "
    "/\n"
    "signed report), <id>.txt (bản đọc / readable), seen/<id>.\n";

#define SERVE_MAX_BODY (512 * 1024)

struct server {
	struct keypair *key;
	uint8_t relay_pk[KEY_PK_BYTES];
	pthread_mutex_t lock; /* guards reg, swapped on SIGHUP */
	struct registry *reg;
	const char *store;
	long long tolerance;
	const char *ack_relay; /* relay URL to acknowledge to (--ack), or NULL */
	const char
	    *ack_agency; /* registry id the key belongs to; NULL: the notification's recipient */
};

/* Acknowledges a stored notification to the relay, signed with the recipient's key (--ack). */
static void send_ack(struct server *srv, const struct notification *n)
{
	struct ack a;
	memset(&a, 0, sizeof a);
	snprintf(a.agency, sizeof a.agency, "%s", srv->ack_agency ? srv->ack_agency : n->recipient);
	memcpy(a.report_id, n->report_id, sizeof a.report_id);
	snprintf(a.recipient, sizeof a.recipient, "%s", n->recipient);
	a.ts = (uint64_t)now_s();
	ack_sign(&a, srv->key);
	uint8_t *body;
	size_t len;
	ack_encode(&a, &body, &len);
	char *url = xasprintf("%s/v1/acks", srv->ack_relay);
	struct http_reply r;
	http_request(url, "application/msgpack", body, len, NULL, &r);
	if (r.status == 200 || r.status == 202)
		log_info("đã xác nhận / acknowledged %s to %s", n->report_id, srv->ack_relay);
	else
		log_warn("xác nhận thất bại / acknowledgement failed for %s: HTTP %ld %s",
		         n->report_id, r.status, r.status ? (const char *)r.body : r.error);
	http_reply_clear(&r);
	free(url);
	free(body);
}

struct request {
	char *body;
	size_t len, cap;
	bool too_large;
};

struct answer {
	unsigned status;
	char *json; /* malloc'd */
};

/* Reasons are our own text plus validated ids; escape anyway so the reply is always JSON. */
static char *json_escape(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(6 * n + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\u%04x", *p);
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
}

static void answer_set(struct answer *a, unsigned status, const char *state, const char *nid,
                       const char *reason)
{
	char *r = json_escape(reason != NULL ? reason : "");
	a->status = status;
	a->json = xasprintf("{\"status\":\"%s\",\"notification_id\":\"%s\",\"reason\":\"%s\"}\n",
	                    state, nid != NULL ? nid : "", r);
	free(r);
}

static bool lower_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* Writes the opened delivery: notification, signed report, readable text, and last the seen mark.
 */
static int store_delivery(const struct server *srv, const struct notification *n,
                          const uint8_t *bytes, size_t len, const struct opened_report *o,
                          char *err, size_t errlen)
{
	char *text = NULL;
	size_t text_len = 0;
	FILE *f = open_memstream(&text, &text_len);
	if (f == NULL)
		return seterr(err, errlen, "open_memstream: %s", strerror(errno));
	recipient_print_attestation(f, n);
	recipient_print_report(f, &o->rep, o->agency_name);
	fclose(f);
	char *paths[4] = {xasprintf("%s/%s.tbsc", srv->store, n->nid),
	                  xasprintf("%s/%s.report", srv->store, n->nid),
	                  xasprintf("%s/%s.txt", srv->store, n->nid),
	                  xasprintf("%s/seen/%s", srv->store, n->nid)};
	char *seen = xasprintf("%s %lld\n", n->report_id, (long long)now_s());
	const void *data[4] = {bytes, o->plain, text, seen};
	size_t lens[4] = {len, o->plain_len, text_len, strlen(seen)};
	int rc = 0;
	for (int i = 0; i < 4 && rc == 0; i++)
		rc = file_write_atomic(paths[i], data[i], lens[i], 0600, err, errlen);
	for (int i = 0; i < 4; i++)
		free(paths[i]);
	free(seen);
	sodium_memzero(text, text_len);
	free(text);
	return rc;
}

static void process(struct server *srv, struct MHD_Connection *conn, const struct request *rq,
                    struct answer *a)
{
	const char *id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "webhook-id");
	const char *ts = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "webhook-timestamp");
	const char *sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "webhook-signature");
	const char *body = rq->body != NULL ? rq->body : "";
	char err[ERRBUF_MAX];
	struct notification n;
	struct opened_report o;
	uint8_t *bytes = NULL;
	size_t len = 0;
	memset(&n, 0, sizeof n);
	memset(&o, 0, sizeof o);
	if (id == NULL || ts == NULL || sig == NULL) {
		answer_set(
		    a, MHD_HTTP_BAD_REQUEST, "malformed", NULL,
		    "thiếu tiêu đề webhook-id/-timestamp/-signature / missing webhook headers");
		return;
	}
	/* The id names a file in the store: only a notification id (32 hex) is accepted. */
	if (!lower_hex(id, NOTIFY_ID_CHARS)) {
		answer_set(a, MHD_HTTP_BAD_REQUEST, "malformed", NULL,
		           "webhook-id phải là mã thông báo (32 hex) / webhook-id must be a "
		           "notification id");
		return;
	}
	size_t tl = strlen(ts);
	if (tl == 0 || tl > 18 || strspn(ts, "0123456789") != tl) {
		answer_set(a, MHD_HTTP_BAD_REQUEST, "malformed", id,
		           "webhook-timestamp: số giây / Unix seconds");
		return;
	}
	long long skew = (long long)now_s() - strtoll(ts, NULL, 10);
	if (skew > srv->tolerance || -skew > srv->tolerance) {
		snprintf(err, sizeof err,
		         "webhook-timestamp lệch %lld giây / is %lld s away from now", skew, skew);
		answer_set(a, MHD_HTTP_UNAUTHORIZED, "bad_timestamp", id, err);
		return;
	}
	if (webhook_verify(srv->relay_pk, id, ts, body, rq->len, sig) != 0) {
		answer_set(a, MHD_HTTP_UNAUTHORIZED, "bad_signature", id,
		           "chữ ký v1a không hợp lệ / bad v1a signature");
		return;
	}
	char *seen = xasprintf("%s/seen/%s", srv->store, id);
	bool duplicate = access(seen, F_OK) == 0;
	free(seen);
	if (duplicate) {
		answer_set(a, MHD_HTTP_OK, "duplicate", id, "đã nhận trước đó / already received");
		return;
	}
	if (webhook_notification(body, rq->len, &bytes, &len, err, sizeof err) != 0 ||
	    notify_verify(bytes, len, srv->relay_pk, &n, err, sizeof err) != 0 ||
	    webhook_matches(body, rq->len, &n, err, sizeof err) != 0) {
		answer_set(a, MHD_HTTP_BAD_REQUEST, "malformed", id, err);
		goto out;
	}
	if (strcmp(n.nid, id) != 0) {
		answer_set(
		    a, MHD_HTTP_BAD_REQUEST, "malformed", id,
		    "webhook-id khác mã thông báo / webhook-id differs from the notification id");
		goto out;
	}
	pthread_mutex_lock(&srv->lock);
	int opened = recipient_open(&n, srv->key, srv->reg, &o, err, sizeof err);
	pthread_mutex_unlock(&srv->lock);
	if (opened == -1) {
		answer_set(a, MHD_HTTP_BAD_REQUEST, "not_for_us", id, err);
		goto out;
	}
	if (opened != 0) {
		/* Authentic from the relay but not verifiable end to end: keep it, refuse it. */
		char qerr[ERRBUF_MAX];
		char *q = xasprintf("%s/quarantine/%s.tbsc", srv->store, id);
		if (file_write_atomic(q, bytes, len, 0600, qerr, sizeof qerr) != 0)
			log_error("%s", qerr);
		free(q);
		answer_set(a, MHD_HTTP_FORBIDDEN, "not_authentic", id, err);
		goto out;
	}
	if (store_delivery(srv, &n, bytes, len, &o, err, sizeof err) != 0) {
		log_error("store: %s", err);
		answer_set(a, MHD_HTTP_SERVICE_UNAVAILABLE, "store_failed", id,
		           "không lưu được, gửi lại sau / cannot store, retry later");
		goto out;
	}
	answer_set(a, MHD_HTTP_OK, "stored", id, n.drill ? "DIỄN TẬP / drill" : "");
	log_info("stored %s: report %s, incident %s, agency %s%s", id, n.report_id, n.incident_id,
	         n.agency, n.drill ? " (DIỄN TẬP / drill)" : "");
	if (srv->ack_relay != NULL)
		send_ack(srv, &n);
out:
	opened_report_clear(&o);
	notify_clear(&n);
	free(bytes);
}

static enum MHD_Result reply(struct MHD_Connection *conn, struct answer *a)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(a->json), a->json, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
	enum MHD_Result ret = MHD_queue_response(conn, a->status, r);
	MHD_destroy_response(r);
	a->json = NULL;
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
	struct server *srv = cls;
	struct answer a = {0, NULL};
	(void)url;
	(void)version;
	if (*con_cls == NULL) {
		struct request *rq = xcalloc(1, sizeof *rq);
		*con_cls = rq;
		if (strcmp(method, "POST") != 0) {
			answer_set(&a, MHD_HTTP_METHOD_NOT_ALLOWED, "method", NULL,
			           "chỉ nhận POST / POST only");
			return reply(conn, &a);
		}
		const char *cl =
		    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl != NULL && strtoull(cl, NULL, 10) > SERVE_MAX_BODY) {
			rq->too_large = true;
			answer_set(&a, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
			           "quá lớn / too large");
			return reply(conn, &a);
		}
		return MHD_YES;
	}
	struct request *rq = *con_cls;
	if (strcmp(method, "POST") != 0 || rq->too_large) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (rq->len + *upload_data_size > SERVE_MAX_BODY) {
			rq->too_large = true;
			*upload_data_size = 0;
			answer_set(&a, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
			           "quá lớn / too large");
			return reply(conn, &a);
		}
		if (rq->len + *upload_data_size + 1 > rq->cap) {
			rq->cap = rq->len + *upload_data_size + 4096;
			rq->body = xrealloc(rq->body, rq->cap);
		}
		memcpy(rq->body + rq->len, upload_data, *upload_data_size);
		rq->len += *upload_data_size;
		rq->body[rq->len] = '\0';
		*upload_data_size = 0;
		return MHD_YES;
	}
	process(srv, conn, rq, &a);
	if (a.status != MHD_HTTP_OK)
		log_warn("%u %.*s", a.status, (int)strcspn(a.json, "\n"), a.json);
	return reply(conn, &a);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct request *rq = *con_cls;
	if (rq == NULL)
		return;
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char buf[512];
	vsnprintf(buf, sizeof buf, fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("http: %s", buf);
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (colon == NULL || (size_t)(colon - s) >= sizeof host)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	char *end = NULL;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port > 65535)
		return -1;
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host,
	                 &sa->sin_addr) == 1
	           ? 0
	           : -1;
}

static int read_pem(const char *path, char **out, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	if (file_read_all(path, 1 << 20, &buf, &len, err, errlen) != 0)
		return -1;
	char *s = xmalloc(len + 1);
	memcpy(s, buf, len);
	s[len] = '\0';
	sodium_memzero(buf, len);
	free(buf);
	*out = s;
	return 0;
}

static int make_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return seterr(err, errlen, "%s: %s", path, strerror(errno));
	return 0;
}

int serve_main(int argc, char **argv)
{
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
	                                     {"tls-cert", required_argument, NULL, 'c'},
	                                     {"tls-key", required_argument, NULL, 'x'},
	                                     {"key", required_argument, NULL, 'K'},
	                                     {"relay-key", required_argument, NULL, 'k'},
	                                     {"registry", required_argument, NULL, 'r'},
	                                     {"store", required_argument, NULL, 'd'},
	                                     {"tolerance", required_argument, NULL, 't'},
	                                     {"ack", no_argument, NULL, 'a'},
	                                     {"relay", required_argument, NULL, 'R'},
	                                     {"agency", required_argument, NULL, 'A'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *listen = NULL, *cert_path = NULL, *tls_key_path = NULL,
	           *key_path = getenv("TBSC_KEY");
	const char *relay_key = getenv("TBSC_RELAY_KEY"), *registry_path = NULL, *store = NULL;
	long long tolerance = 300;
	bool ack = false;
	const char *ack_relay = NULL, *ack_agency = NULL;
	char err[ERRBUF_MAX];
	int c, rc = 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen = optarg;
			break;
		case 'c':
			cert_path = optarg;
			break;
		case 'x':
			tls_key_path = optarg;
			break;
		case 'K':
			key_path = optarg;
			break;
		case 'k':
			relay_key = optarg;
			break;
		case 'r':
			registry_path = optarg;
			break;
		case 'd':
			store = optarg;
			break;
		case 't': {
			char *end = NULL;
			tolerance = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || tolerance < 0) {
				fprintf(stderr, "--tolerance: số giây / seconds\n");
				return 2;
			}
			break;
		}
		case 'a':
			ack = true;
			break;
		case 'R':
			ack_relay = optarg;
			break;
		case 'A':
			ack_agency = optarg;
			break;
		case 'h':
			fputs(USAGE, stdout);
			return 0;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc || !listen || !cert_path || !tls_key_path || !key_path || !relay_key ||
	    !registry_path || !store) {
		fputs(USAGE, stderr);
		return 2;
	}
	log_set_prefix("incident serve");
	struct server srv;
	struct sockaddr_in sa;
	char *cert = NULL, *tls_key = NULL, *pass = NULL;
	struct MHD_Daemon *d = NULL;
	memset(&srv, 0, sizeof srv);
	pthread_mutex_init(&srv.lock, NULL);
	srv.store = store;
	srv.tolerance = tolerance;
	srv.ack_relay = ack ? ack_relay : NULL;
	srv.ack_agency = ack_agency;
	if (ack && ack_relay == NULL)
		log_warn("--ack không có --relay: không tự xác nhận / --ack without --relay: not "
		         "acknowledging");
	if (parse_listen(listen, &sa) != 0) {
		fprintf(stderr, "--listen: cần ĐỊA-CHỈ-IPv4:CỔNG / expected IPV4-ADDRESS:PORT\n");
		goto out;
	}
	uint8_t kid[KEY_ID_BYTES];
	if (keyfile_read_public(relay_key, srv.relay_pk, kid, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", relay_key, err);
		goto out;
	}
	if ((srv.reg = registry_load(registry_path, err, sizeof err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (keyfile_is_protected(key_path))
		pass = client_passphrase("Mật khẩu khóa / key passphrase", false);
	srv.key = keyfile_read_secret(key_path, pass, err, sizeof err);
	if (pass != NULL)
		sodium_memzero(pass, strlen(pass));
	free(pass);
	if (srv.key == NULL) {
		fprintf(stderr, "%s: %s\n", key_path, err);
		goto out;
	}
	if (read_pem(cert_path, &cert, err, sizeof err) != 0 ||
	    read_pem(tls_key_path, &tls_key, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	char *seen_dir = xasprintf("%s/seen", store),
	     *quarantine = xasprintf("%s/quarantine", store);
	int dirs = make_dir(store, err, sizeof err) == 0 &&
	           make_dir(seen_dir, err, sizeof err) == 0 &&
	           make_dir(quarantine, err, sizeof err) == 0;
	free(seen_dir);
	free(quarantine);
	if (!dirs) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	/* Signals go to sigwait below, never to the server's thread. */
	sigset_t sigs, old;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TLS | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, handle, &srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, tls_key,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	    MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr,
		        "không mở được %s (cổng bận, chứng chỉ hoặc khóa TLS sai?) / cannot serve "
		        "on %s (port "
		        "in use, bad TLS certificate or key?)\n",
		        listen, listen);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	char addr[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa.sin_addr, addr, sizeof addr);
	log_info("đang nghe / listening on https://%s:%u", addr,
	         info != NULL ? (unsigned)info->port : 0u);
	for (;;) {
		int sig = 0;
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		struct registry *reg = registry_load(registry_path, err, sizeof err);
		if (reg == NULL) {
			log_error("SIGHUP: giữ sổ đăng ký cũ / keeping the old registry: %s", err);
			continue;
		}
		pthread_mutex_lock(&srv.lock);
		struct registry *was = srv.reg;
		srv.reg = reg;
		pthread_mutex_unlock(&srv.lock);
		registry_free(was);
		log_info("SIGHUP: đã đọc lại sổ đăng ký / registry reloaded");
	}
	log_info("dừng / stopping");
	MHD_stop_daemon(d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	rc = 0;
out:
	if (tls_key != NULL)
		sodium_memzero(tls_key, strlen(tls_key));
	free(tls_key);
	free(cert);
	keypair_free(srv.key);
	registry_free(srv.reg);
	pthread_mutex_destroy(&srv.lock);
	return rc;
}
