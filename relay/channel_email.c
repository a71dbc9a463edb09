/* channel_email.c: email over SMTP with libesmtp: many messages per session, STARTTLS, AUTH, and
 * the MIME message (UTF-8 summary + the signed, sealed notification attached) built here. */
#include "channel_impl.h"

#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

/* OpenSSL first: libesmtp.h declares smtp_starttls_set_ctx() only when ssl.h was included, and
 * smtp_auth_set_context() only after auth-client.h. */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <auth-client.h>

#include <libesmtp.h>

#define EMAIL_MAX_ATTACHMENT (10u * 1024 * 1024)
#define EMAIL_MAX_TEXT       (1u * 1024 * 1024)
#define EMAIL_MAX_SUBJECT    2000
#define EMAIL_MAX_ADDRESS    254
#define EMAIL_MAX_ID         128
#define EMAIL_ID_DOMAIN      "tbsc"

struct email_channel {
	char *host, *helo, *from, *ca_file, *username, *password;
	char server[300]; /* "host:port" for smtp_set_server */
	unsigned port;
	int starttls;
	int timeout_s;
	SSL_CTX *ssl_ctx;           /* our reference; each session takes its own */
	struct session_state *live; /* the session being run, for the certificate callback */
};

/* What the protocol monitor and the event callback learned about one SMTP session. */
struct session_state {
	const struct email_channel *ch;
	bool tls_missing;     /* STARTTLS required but not offered */
	char tls_error[160];  /* certificate or handshake failure */
	bool in_ehlo;         /* reading the reply to EHLO/HELO */
	bool ehlo_ok;         /* the server answered EHLO with 2xx at least once */
	bool auth_offered;    /* the last EHLO reply listed AUTH */
	bool auth_pending;    /* an AUTH exchange is under way */
	bool auth_ok;         /* 235 received */
	bool auth_failed;     /* a 4xx/5xx answer to AUTH */
	char auth_reply[160]; /* that answer */
	int auth_code;
	bool tls_tried;       /* STARTTLS was sent */
	char last_error[200]; /* last 4xx/5xx reply, forgotten at the next 2xx other than 221 */
	int last_error_code;
	char line[512]; /* reply line being assembled */
	size_t line_len;
};

/* One message of a batch. */
struct email_msg {
	struct channel_buf text; /* the whole message, CRLF lines */
	size_t pos;              /* read position for the libesmtp callback */
	smtp_message_t msg;
	smtp_recipient_t rcpt;
};

static char *dup_opt(const char *s)
{
	s = channel_opt(s);
	return s ? xstrdup(s) : NULL;
}

static void free_secret(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

static bool address_valid(const char *a)
{
	if (a == NULL || *a == '\0' || strlen(a) > EMAIL_MAX_ADDRESS)
		return false;
	const char *at = strrchr(a, '@');
	if (at == NULL || at == a || at[1] == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("<>()[],;:\\\"", *p) != NULL)
			return false;
	return true;
}

static bool host_is_ip(const char *h)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

static struct session_state *state_of_store(X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl == NULL)
		return NULL;
	struct email_channel *ch = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	return ch ? ch->live : NULL;
}

/* Keeps OpenSSL's verdict, and remembers why the first failure happened. */
static int verify_cb(int ok, X509_STORE_CTX *x)
{
	if (!ok) {
		struct session_state *st = state_of_store(x);
		if (st != NULL && st->tls_error[0] == '\0') {
			int e = X509_STORE_CTX_get_error(x);
			snprintf(st->tls_error, sizeof st->tls_error,
			         "server certificate refused: %s (depth %d)",
			         X509_verify_cert_error_string(e),
			         X509_STORE_CTX_get_error_depth(x));
		}
	}
	return ok;
}

struct email_channel *email_channel_new(const struct email_config *cfg, char *err, size_t errlen)
{
	if (cfg == NULL || channel_opt(cfg->host) == NULL) {
		seterr(err, errlen, "email: no SMTP host configured");
		return NULL;
	}
	if (cfg->port == 0 || cfg->port > 65535) {
		seterr(err, errlen, "email: SMTP port %u out of range", cfg->port);
		return NULL;
	}
	if (!address_valid(cfg->from)) {
		seterr(err, errlen, "email: invalid sender address \"%s\"",
		       cfg->from ? cfg->from : "");
		return NULL;
	}
	if (cfg->starttls < 0 || cfg->starttls > 2) {
		seterr(err, errlen, "email: starttls must be 0, 1 or 2 (got %d)", cfg->starttls);
		return NULL;
	}
	if (channel_opt(cfg->username) && channel_opt(cfg->password) == NULL) {
		seterr(err, errlen, "email: username set without a password");
		return NULL;
	}
	for (const char *p = cfg->host; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == ':')) {
			seterr(err, errlen, "email: invalid SMTP host \"%s\"", cfg->host);
			return NULL;
		}
	const char *helo = channel_opt(cfg->helo);
	if (helo && !channel_token_valid(helo, 253)) {
		seterr(err, errlen, "email: invalid HELO name \"%s\"", helo);
		return NULL;
	}

	struct email_channel *ch = xcalloc(1, sizeof *ch);
	ch->host = xstrdup(cfg->host);
	ch->helo = dup_opt(cfg->helo);
	ch->from = xstrdup(cfg->from);
	ch->ca_file = dup_opt(cfg->ca_file);
	ch->username = dup_opt(cfg->username);
	ch->password = ch->username ? xstrdup(cfg->password) : NULL;
	ch->starttls = cfg->starttls;
	ch->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : 30;
	ch->port = cfg->port;
	snprintf(ch->server, sizeof ch->server, "%s:%u", ch->host, cfg->port);

	if (ch->starttls > 0) {
		ch->ssl_ctx = SSL_CTX_new(TLS_client_method());
		if (ch->ssl_ctx == NULL) {
			seterr(err, errlen, "email: cannot create a TLS context");
			goto fail;
		}
		/* TLS 1.2 only. With TLS 1.3 the server's NewSessionTicket arrives after the
		 * handshake; libesmtp 1.1 then polls for the EHLO reply before flushing EHLO and
		 * stalls until its timeout (seen against Postfix, about one session in five). */
		SSL_CTX_set_min_proto_version(ch->ssl_ctx, TLS1_2_VERSION);
		SSL_CTX_set_max_proto_version(ch->ssl_ctx, TLS1_2_VERSION);
		int loaded = ch->ca_file
		                 ? SSL_CTX_load_verify_locations(ch->ssl_ctx, ch->ca_file, NULL)
		                 : SSL_CTX_set_default_verify_paths(ch->ssl_ctx);
		if (loaded != 1) {
			char e[160];
			ERR_error_string_n(ERR_get_error(), e, sizeof e);
			seterr(err, errlen, "email: cannot load CA certificates %s: %s",
			       ch->ca_file ? ch->ca_file : "(system store)", e);
			ERR_clear_error();
			goto fail;
		}
		/* OpenSSL checks the chain and the name (DNS name or IP address) during the
		 * handshake; libesmtp checks again afterwards, DNS names only. */
		X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ch->ssl_ctx);
		int named = host_is_ip(ch->host) ? X509_VERIFY_PARAM_set1_ip_asc(param, ch->host)
		                                 : X509_VERIFY_PARAM_set1_host(param, ch->host, 0);
		if (named != 1) {
			seterr(err, errlen, "email: cannot set the expected certificate name %s",
			       ch->host);
			goto fail;
		}
		SSL_CTX_set_verify(ch->ssl_ctx, SSL_VERIFY_PEER, verify_cb);
		SSL_CTX_set_app_data(ch->ssl_ctx, ch);
	}
	if (ch->username && ch->starttls == 0)
		log_warn("email: SMTP AUTH without STARTTLS sends the password in clear to %s",
		         ch->server);
	return ch;
fail:
	email_channel_free(ch);
	return NULL;
}

void email_channel_free(struct email_channel *ch)
{
	if (ch == NULL)
		return;
	SSL_CTX_free(ch->ssl_ctx);
	free(ch->host);
	free(ch->helo);
	free(ch->from);
	free(ch->ca_file);
	free(ch->username);
	free_secret(ch->password);
	free(ch);
}

/* ---- MIME ------------------------------------------------------------------------------- */

/* Appends base64 of in in lines of 76 characters, each ending in CRLF. */
static void add_base64_lines(struct channel_buf *b, const uint8_t *in, size_t len)
{
	if (len == 0)
		return;
	char *enc = b64_encode(in, len);
	size_t n = strlen(enc);
	for (size_t i = 0; i < n; i += 76) {
		size_t k = n - i < 76 ? n - i : 76;
		channel_buf_add(b, enc + i, k);
		channel_buf_adds(b, "\r\n");
	}
	free(enc);
}

/* "Subject:" as RFC 2047 B-encoded UTF-8 words, each at most 39 octets of text (64 characters
 * encoded), split on character boundaries, folded onto continuation lines. */
static void add_subject(struct channel_buf *b, const char *subject)
{
	size_t len = strlen(subject);
	char *clean = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)subject[i];
		clean[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	channel_buf_adds(b, "Subject:");
	size_t i = 0;
	while (i < len) {
		size_t k = 0;
		while (i + k < len) {
			size_t step = 1;
			unsigned char c = (unsigned char)clean[i + k];
			if (c >= 0xf0)
				step = 4;
			else if (c >= 0xe0)
				step = 3;
			else if (c >= 0xc0)
				step = 2;
			if (k + step > 39)
				break;
			k += step;
		}
		if (k == 0) /* cannot happen with valid UTF-8; never loop forever */
			k = 1;
		char *enc = b64_encode((const uint8_t *)clean + i, k);
		channel_buf_printf(b, "%s=?UTF-8?B?%s?=", i == 0 ? " " : "\r\n ", enc);
		free(enc);
		i += k;
	}
	channel_buf_adds(b, "\r\n");
	free(clean);
}

static void add_date(struct channel_buf *b, time_t t)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;
	gmtime_r(&t, &tm);
	channel_buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
	                   tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	                   tm.tm_sec);
}

/* The summary in canonical form: every line break becomes CRLF. */
static void canonical_text(struct channel_buf *out, const char *text)
{
	for (const char *p = text; *p; p++) {
		if (*p == '\r') {
			channel_buf_adds(out, "\r\n");
			if (p[1] == '\n')
				p++;
		} else if (*p == '\n') {
			channel_buf_adds(out, "\r\n");
		} else {
			channel_buf_add(out, p, 1);
		}
	}
}

/* Checks one delivery; 0, or -1 with the reason (a permanent problem of the delivery). */
static int email_check(const struct delivery *d, char *err, size_t errlen)
{
	if (d->kind != CHANNEL_EMAIL)
		return seterr(err, errlen, "not an email delivery");
	if (!channel_token_valid(d->notification_id, EMAIL_MAX_ID))
		return seterr(err, errlen, "invalid notification id (want 1-%d of [A-Za-z0-9._-])",
		              EMAIL_MAX_ID);
	if (!address_valid(d->address))
		return seterr(err, errlen, "invalid email address");
	if (channel_opt(d->thread_id) && !channel_token_valid(d->thread_id, EMAIL_MAX_ID))
		return seterr(err, errlen, "invalid thread id");
	if (d->subject == NULL || strlen(d->subject) > EMAIL_MAX_SUBJECT ||
	    !channel_utf8_valid(d->subject, strlen(d->subject)))
		return seterr(err, errlen, "subject missing, too long or not UTF-8");
	if (d->text == NULL || strlen(d->text) > EMAIL_MAX_TEXT ||
	    !channel_utf8_valid(d->text, strlen(d->text)))
		return seterr(err, errlen, "text missing, too long or not UTF-8");
	if (d->attachment_len > EMAIL_MAX_ATTACHMENT)
		return seterr(err, errlen, "attachment larger than %u bytes", EMAIL_MAX_ATTACHMENT);
	if (d->attachment_len > 0 && d->attachment == NULL)
		return seterr(err, errlen, "attachment length without data");
	if (channel_opt(d->attachment_name) && !channel_token_valid(d->attachment_name, 100))
		return seterr(err, errlen, "invalid attachment name (want [A-Za-z0-9._-])");
	return 0;
}

/* Builds the whole message of d into out (CRLF lines, none longer than 998 octets). */
static void email_build(const struct email_channel *ch, const struct delivery *d, time_t now,
                        struct channel_buf *out)
{
	uint8_t rnd[12];
	char boundary[64], hex[sizeof rnd * 2 + 1];
	randombytes_buf(rnd, sizeof rnd);
	hex_encode(hex, rnd, sizeof rnd);
	snprintf(boundary, sizeof boundary, "=_tbsc_%s", hex); /* "=_" never occurs in base64 */

	channel_buf_printf(out, "From: %s\r\n", ch->from);
	channel_buf_printf(out, "To: %s\r\n", d->address);
	add_subject(out, d->subject);
	add_date(out, now);
	channel_buf_printf(out, "Message-ID: <%s@%s>\r\n", d->notification_id, EMAIL_ID_DOMAIN);
	const char *thread = channel_opt(d->thread_id);
	if (thread && strcmp(thread, d->notification_id) != 0) {
		channel_buf_printf(out, "In-Reply-To: <%s@%s>\r\n", thread, EMAIL_ID_DOMAIN);
		channel_buf_printf(out, "References: <%s@%s>\r\n", thread, EMAIL_ID_DOMAIN);
	}
	channel_buf_adds(out, "Auto-Submitted: auto-generated\r\n");
	channel_buf_adds(out, "MIME-Version: 1.0\r\n");
	channel_buf_printf(out, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n", boundary);
	channel_buf_adds(out, "\r\nThis is a multi-part message in MIME format.\r\n");

	channel_buf_printf(out, "\r\n--%s\r\n", boundary);
	channel_buf_adds(out, "Content-Type: text/plain; charset=UTF-8\r\n"
	                      "Content-Transfer-Encoding: base64\r\n\r\n");
	struct channel_buf text = {0};
	canonical_text(&text, d->text);
	add_base64_lines(out, (const uint8_t *)text.data, text.len);
	channel_buf_free(&text);

	const char *name =
	    channel_opt(d->attachment_name) ? d->attachment_name : "notification.tbsc";
	channel_buf_printf(out, "\r\n--%s\r\n", boundary);
	channel_buf_printf(out,
	                   "Content-Type: application/octet-stream; name=\"%s\"\r\n"
	                   "Content-Disposition: attachment; filename=\"%s\"\r\n"
	                   "Content-Transfer-Encoding: base64\r\n\r\n",
	                   name, name);
	add_base64_lines(out, d->attachment, d->attachment_len);
	channel_buf_printf(out, "\r\n--%s--\r\n", boundary);
}

/* ---- libesmtp callbacks ------------------------------------------------------------------- */

static const char *message_cb(void **ctx, int *len, void *arg)
{
	(void)ctx; /* our state lives in arg; libesmtp frees *ctx, so leave it NULL */
	struct email_msg *m = arg;
	if (len == NULL) {
		m->pos = 0;
		return NULL;
	}
	size_t left = m->text.len - m->pos;
	if (left > (size_t)1 << 30)
		left = (size_t)1 << 30;
	*len = (int)left;
	const char *p = m->text.data + m->pos;
	m->pos += left;
	return left ? p : NULL;
}

static int interact_cb(auth_client_request_t req, char **result, int fields, void *arg)
{
	const struct email_channel *ch = arg;
	for (int i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_USER)
			result[i] = ch->username;
		else if (req[i].flags & AUTH_PASS)
			result[i] = ch->password;
		else if (req[i].flags & AUTH_REALM)
			result[i] = (char *)"";
		else
			return 0;
		if (result[i] == NULL)
			return 0;
	}
	return 1;
}

static void copy_line(char *dst, size_t cap, const char *src, size_t len)
{
	channel_sanitize(dst, cap, src, len);
}

/* One complete reply line from the server. */
static void monitor_line(struct session_state *st, const char *l, size_t n)
{
	if (n < 3 || !isdigit((unsigned char)l[0]) || !isdigit((unsigned char)l[1]) ||
	    !isdigit((unsigned char)l[2]))
		return;
	int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	bool last = n == 3 || l[3] != '-';
	if (st->in_ehlo) {
		if (n >= 8 && strncasecmp(l + 4, "AUTH", 4) == 0 &&
		    (n == 8 || l[8] == ' ' || l[8] == '='))
			st->auth_offered = true;
		if (last) {
			st->in_ehlo = false;
			if (code / 100 == 2)
				st->ehlo_ok = true;
		}
	}
	if (st->auth_pending && last) {
		if (code == 235) {
			st->auth_ok = true;
			st->auth_pending = false;
		} else if (code / 100 != 3) {
			st->auth_pending = false;
			st->auth_failed = true;
			st->auth_code = code;
			copy_line(st->auth_reply, sizeof st->auth_reply, l, n);
		}
	}
	if (last && code >= 400) {
		st->last_error_code = code;
		copy_line(st->last_error, sizeof st->last_error, l, n);
	} else if (last && code / 100 == 2 && code != 221) {
		st->last_error_code = 0;
		st->last_error[0] = '\0';
	}
}

/* Sees the protocol in clear (inside TLS). Only command verbs are looked at when writing, so
 * neither the AUTH secrets nor the message are kept. */
static void monitor_cb(const char *buf, int buflen, int writing, void *arg)
{
	struct session_state *st = arg;
	if (buflen <= 0)
		return;
	size_t n = (size_t)buflen;
	if (writing == SMTP_CB_WRITING) {
		if (n >= 5 &&
		    (strncasecmp(buf, "EHLO ", 5) == 0 || strncasecmp(buf, "HELO ", 5) == 0)) {
			st->in_ehlo = true;
			st->auth_offered = false;
		} else if (n >= 5 && strncasecmp(buf, "AUTH ", 5) == 0) {
			st->auth_pending = true;
		} else if (n >= 8 && strncasecmp(buf, "STARTTLS", 8) == 0) {
			st->tls_tried = true;
		}
		return;
	}
	if (writing != SMTP_CB_READING)
		return;
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];
		if (c == '\n') {
			size_t len = st->line_len;
			if (len > 0 && st->line[len - 1] == '\r')
				len--;
			monitor_line(st, st->line, len);
			st->line_len = 0;
		} else if (st->line_len < sizeof st->line - 1) {
			st->line[st->line_len++] = c;
		}
	}
}

/* libesmtp writes a message in 2 KiB pieces and leaves Nagle's algorithm on, so the last piece
 * waits for the server's delayed ACK: 40 ms per message on Linux. It does not expose its
 * socket, so on connect find the TCP sockets of this process whose peer is the server's port
 * and set TCP_NODELAY. Setting it on another connection to that port by mistake is harmless. */
static void smtp_socket_nodelay(unsigned port)
{
	DIR *dir = opendir("/proc/self/fd");
	if (dir == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*e->d_name == '\0' || *end != '\0' || fd < 0 || fd == dirfd(dir))
			continue;
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		if (getpeername((int)fd, (struct sockaddr *)&ss, &len) != 0)
			continue;
		unsigned peer_port = 0;
		if (ss.ss_family == AF_INET)
			peer_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			peer_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		int type = 0;
		socklen_t tlen = sizeof type;
		if (peer_port != port ||
		    getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tlen) != 0 ||
		    type != SOCK_STREAM)
			continue;
		int one = 1;
		setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	closedir(dir);
}

static void event_cb(smtp_session_t session, int event, void *arg, ...)
{
	(void)session;
	struct session_state *st = arg;
	va_list ap;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_CONNECT:
		smtp_socket_nodelay(st->ch->port);
		break;
	case SMTP_EV_EXTNA_STARTTLS:
		st->tls_missing = true;
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE: {
		long result = va_arg(ap, long);
		int *ok = va_arg(ap, int *);
		*ok = 0;
		if (st->tls_error[0] == '\0')
			snprintf(st->tls_error, sizeof st->tls_error,
			         "server certificate refused: %s",
			         X509_verify_cert_error_string(result));
		break;
	}
	case SMTP_EV_WRONG_PEER_CERTIFICATE: {
		/* libesmtp matches DNS names only. OpenSSL already checked the configured name
		 * (DNS or IP) in the handshake, so its verdict decides. */
		int *ok = va_arg(ap, int *);
		const char *seen = va_arg(ap, const char *);
		SSL *ssl = va_arg(ap, SSL *);
		*ok = ssl != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
		if (!*ok && st->tls_error[0] == '\0')
			snprintf(st->tls_error, sizeof st->tls_error,
			         "server certificate name %.50s does not match %.50s",
			         seen ? seen : "?", st->ch->host);
		break;
	}
	case SMTP_EV_NO_PEER_CERTIFICATE: {
		int *ok = va_arg(ap, int *);
		*ok = 0;
		snprintf(st->tls_error, sizeof st->tls_error, "server sent no certificate");
		break;
	}
	case SMTP_EV_WEAK_CIPHER: {
		int bits = va_arg(ap, int);
		int *ok = va_arg(ap, int *);
		*ok = 0;
		snprintf(st->tls_error, sizeof st->tls_error, "weak cipher (%d bits)", bits);
		break;
	}
	case SMTP_EV_UNUSABLE_CLIENT_CERTIFICATE:
	case SMTP_EV_NO_CLIENT_CERTIFICATE:
		snprintf(st->tls_error, sizeof st->tls_error,
		         "unusable client certificate file under ~/.config/libesmtp");
		if (event == SMTP_EV_NO_CLIENT_CERTIFICATE) {
			int *ok = va_arg(ap, int *);
			*ok = 0;
		}
		break;
	default:
		break; /* SYNTAXWARNING, EXTNA_DSN...: their out-parameters default to "go on" */
	}
	va_end(ap);
}

/* ---- sending ------------------------------------------------------------------------------ */

static enum delivery_outcome smtp_outcome(int code)
{
	switch (code / 100) {
	case 2:
		return DELIVERY_OK;
	case 5:
		return DELIVERY_PERMANENT;
	default:
		return DELIVERY_TEMPORARY;
	}
}

static void status_result(struct delivery_result *r, const smtp_status_t *s)
{
	const char *text = s->text ? s->text : "";
	if (s->enh_class > 0)
		channel_result(r, smtp_outcome(s->code), s->code, 0, "%d %d.%d.%d %s", s->code,
		               s->enh_class, s->enh_subject, s->enh_detail, text);
	else
		channel_result(r, smtp_outcome(s->code), s->code, 0, "%d %s", s->code, text);
}

/* Why the session did not complete a message: the most specific reason known. */
static void session_failure(const struct email_channel *ch, const struct session_state *st,
                            struct delivery_result *r)
{
	if (st->tls_missing) {
		channel_result(r, DELIVERY_TEMPORARY, 0, 0,
		               "server %s does not offer STARTTLS, required by configuration",
		               ch->server);
	} else if (st->tls_error[0]) {
		channel_result(r, DELIVERY_TEMPORARY, 0, 0, "STARTTLS with %s failed: %s",
		               ch->server, st->tls_error);
	} else if (st->auth_failed) {
		channel_result(r, DELIVERY_TEMPORARY, st->auth_code, 0, "SMTP AUTH failed: %s",
		               st->auth_reply);
	} else if (st->last_error[0]) {
		channel_result(r, DELIVERY_TEMPORARY, st->last_error_code, 0, "%s", st->last_error);
	} else {
		char buf[128];
		int e = smtp_errno();
		if (e == 0)
			channel_result(r, DELIVERY_TEMPORARY, 0, 0,
			               "SMTP session with %s ended before this message",
			               ch->server);
		else
			channel_result(r, DELIVERY_TEMPORARY, 0, 0, "SMTP session with %s: %s",
			               ch->server, smtp_strerror(e, buf, sizeof buf));
	}
}

int email_send(struct email_channel *ch, const struct delivery *const *d, size_t n,
               struct delivery_result *res)
{
	if (n == 0)
		return 0;
	struct email_msg *msgs = xcalloc(n, sizeof *msgs);
	struct session_state st = {.ch = ch};
	smtp_session_t session = NULL;
	auth_context_t auth = NULL;
	size_t queued = 0;
	int rc = 0;
	char err[200];

	session = smtp_create_session();
	if (session == NULL) {
		for (size_t i = 0; i < n; i++)
			channel_result(&res[i], DELIVERY_TEMPORARY, 0, 0,
			               "cannot create an SMTP session");
		rc = -1;
		goto cleanup;
	}
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		if (d[i] == NULL || email_check(d[i], err, sizeof err) < 0) {
			channel_result(&res[i], DELIVERY_PERMANENT, 0, 0, "%s",
			               d[i] ? err : "no delivery");
			continue;
		}
		struct email_msg *m = &msgs[i];
		email_build(ch, d[i], now, &m->text);
		/* These fail only when memory runs out: a message added but left half set up
		 * would be sent as it is, so there is no way back. */
		m->msg = smtp_add_message(session);
		if (m->msg == NULL || !smtp_set_reverse_path(m->msg, ch->from) ||
		    !smtp_set_messagecb(m->msg, message_cb, m) ||
		    (m->rcpt = smtp_add_recipient(m->msg, d[i]->address)) == NULL)
			fatal("libesmtp: cannot queue a message (out of memory)");
		queued++;
	}
	if (queued == 0)
		goto cleanup;

	if (!smtp_set_server(session, ch->server) ||
	    (ch->helo && !smtp_set_hostname(session, ch->helo))) {
		for (size_t i = 0; i < n; i++)
			if (msgs[i].msg)
				channel_result(&res[i], DELIVERY_TEMPORARY, 0, 0,
				               "libesmtp refused server %s", ch->server);
		rc = -1;
		goto cleanup;
	}
	long ms = (long)ch->timeout_s * 1000;
	static const int which[] = {Timeout_GREETING, Timeout_ENVELOPE, Timeout_DATA,
	                            Timeout_TRANSFER, Timeout_DATA2};
	for (size_t i = 0; i < sizeof which / sizeof which[0]; i++)
		smtp_set_timeout(session, which[i] | Timeout_OVERRIDE_RFC2822_MINIMUM, ms);
	smtp_set_eventcb(session, event_cb, &st);
	smtp_set_monitorcb(session, monitor_cb, &st, 0);
	if (ch->starttls > 0) {
		smtp_starttls_enable(session,
		                     ch->starttls == 2 ? Starttls_REQUIRED : Starttls_ENABLED);
		smtp_starttls_set_ctx(session, ch->ssl_ctx);
	} else {
		smtp_starttls_enable(session, Starttls_DISABLED);
	}
	if (ch->username) {
		auth = auth_create_context();
		if (auth == NULL)
			fatal("out of memory (auth context)");
		auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(auth, interact_cb, ch);
		smtp_auth_set_context(session, auth);
	}

	ERR_clear_error();
	ch->live = &st;
	int started = smtp_start_session(session);
	ch->live = NULL;
	if (st.tls_tried && st.tls_error[0] == '\0' && ERR_peek_last_error() != 0) {
		char e[120];
		ERR_error_string_n(ERR_peek_last_error(), e, sizeof e);
		snprintf(st.tls_error, sizeof st.tls_error, "%s", e);
	}
	ERR_clear_error();

	/* AUTH was configured but did not succeed: whatever the server did not accept is a
	 * temporary failure of the session, not a verdict on the message. */
	bool auth_missing =
	    ch->username && st.ehlo_ok && !st.auth_ok && !st.tls_missing && st.tls_error[0] == '\0';
	bool any_status = false;
	for (size_t i = 0; i < n; i++) {
		struct email_msg *m = &msgs[i];
		if (m->msg == NULL)
			continue;
		const smtp_status_t *mail = smtp_reverse_path_status(m->msg);
		const smtp_status_t *rcpt = smtp_recipient_status(m->rcpt);
		const smtp_status_t *data = smtp_message_transfer_status(m->msg);
		if (mail && mail->code != 0)
			any_status = true;
		if (mail && mail->code != 0 && mail->code / 100 != 2)
			status_result(&res[i], mail);
		else if (rcpt && rcpt->code != 0 && rcpt->code / 100 != 2)
			status_result(&res[i], rcpt);
		else if (data && data->code != 0)
			status_result(&res[i], data);
		else
			session_failure(ch, &st, &res[i]);
		if (res[i].outcome != DELIVERY_OK && auth_missing) {
			if (st.auth_failed)
				channel_result(&res[i], DELIVERY_TEMPORARY, st.auth_code, 0,
				               "SMTP AUTH failed: %s", st.auth_reply);
			else
				channel_result(&res[i], DELIVERY_TEMPORARY, 0, 0,
				               "server %s did not offer AUTH%s", ch->server,
				               ch->starttls ? "" : " (STARTTLS is off)");
		}
	}
	(void)started; /* libesmtp reports success even when it quit early: statuses decide */
	if (!any_status)
		rc = -1;

cleanup:
	if (session)
		smtp_destroy_session(session);
	if (auth)
		auth_destroy_context(auth);
	for (size_t i = 0; i < n; i++)
		channel_buf_free(&msgs[i].text);
	free(msgs);
	return rc;
}
