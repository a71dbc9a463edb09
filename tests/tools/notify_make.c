/* notify_make.c: test tool: what the relay would send one recipient for one report, on every
 * channel. */
#include "notify.h"
#include "render.h"
#include "report.h"
#include "util.h"
#include "wire.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char USAGE[] =
    "usage: notify_make --relay-key RELAY.sec --agency ID --agency-key AGENCY.sec\n"
    "         --recipient ID --recipient-key RECIPIENT.pub --report FILE --out DIR\n"
    "         [--kind KIND] [--drill] [--templates DIR] [--language vi|en] [--clear k1,k2,...]\n"
    "         [--agency-name NAME] [--timestamp UNIX-S] [--log-index N] [--gsm7]\n"
    "\n"
    "Builds the envelope an agency would send, opens it as the relay would, and writes what the\n"
    "relay would deliver to the recipient (each channel's notification is signed with RELAY.sec):\n"
    "  DIR/email.tbsc DIR/mail.eml                      email notification and the whole message\n"
    "  DIR/webhook.tbsc DIR/webhook.json                webhook notification and body\n"
    "  DIR/webhook.id DIR/webhook.timestamp DIR/webhook.signature   its Standard Webhooks headers\n"
    "  DIR/sms.tbsc DIR/sms.txt DIR/sms.segments        SMS notification, text, parts\n"
    "  DIR/report-id DIR/incident-id                    the ids, for the tests\n";

/* "key = value" lines, "\n" standing for a line break, as `incident report --file` reads them. */
static int read_report(const char *path, struct report *r)
{
	uint8_t *buf;
	size_t len;
	char err[ERRBUF_MAX];
	if (file_read_all(path, 1 << 20, &buf, &len, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	char *text = xmalloc(len + 1);
	memcpy(text, buf, len);
	text[len] = '\0';
	free(buf);
	int rc = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, "\r")] = '\0';
		while (*line == ' ')
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		char *end = eq;
		while (end > line && end[-1] == ' ')
			end--;
		*end = '\0';
		char *v = eq + 1;
		while (*v == ' ')
			v++;
		for (char *s = v, *d = v;; s++, d++) {
			if (s[0] == '\\' && s[1] == 'n') {
				*d = '\n';
				s++;
			} else {
				*d = *s;
			}
			if (*s == '\0')
				break;
		}
		if (report_set(r, line, v, err, sizeof err) != 0) {
			fprintf(stderr, "%s: %s\n", path, err);
			rc = -1;
		}
	}
	free(text);
	return rc;
}

static void put(const char *dir, const char *name, const void *data, size_t len)
{
	char err[ERRBUF_MAX];
	char *p = xasprintf("%s/%s", dir, name);
	if (file_write_atomic(p, data, len, 0644, err, sizeof err) != 0)
		fatal("%s", err);
	free(p);
}
static void put_str(const char *dir, const char *name, const char *s)
{
	put(dir, name, s, strlen(s));
}

/* Base64 in 76-character lines, CRLF, as MIME wants it. */
static char *b64_lines(const uint8_t *data, size_t len)
{
	char *flat = b64_encode(data, len);
	size_t n = strlen(flat);
	char *out = xmalloc(n + (n / 76 + 2) * 2 + 1), *o = out;
	for (size_t i = 0; i < n; i += 76) {
		size_t k = n - i < 76 ? n - i : 76;
		memcpy(o, flat + i, k);
		o += k;
		*o++ = '\r';
		*o++ = '\n';
	}
	*o = '\0';
	free(flat);
	return out;
}

/* A whole message the way an email channel would send it: UTF-8 summary plus the attachment. */
static char *make_eml(const struct notification *n, const char *subject, const char *text,
                      const uint8_t *att, size_t att_len)
{
	char *subj64 = b64_encode((const uint8_t *)subject, strlen(subject));
	char *text64 = b64_lines((const uint8_t *)text, strlen(text));
	char *att64 = b64_lines(att, att_len);
	char date[64];
	time_t t = (time_t)(n->received_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	char *eml = xasprintf(
	    "From: TBSC relay <relay@tbsc.example>\r\n"
	    "To: %s@tbsc.example\r\n"
	    "Subject: =?UTF-8?B?%s?=\r\n"
	    "Date: %s\r\n"
	    "Message-ID: <%s@tbsc.example>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed;\r\n boundary=\"tbsc-%s\"\r\n"
	    "\r\n"
	    "This is a multi-part message in MIME format.\r\n"
	    "--tbsc-%s\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "%s"
	    "--tbsc-%s\r\n"
	    "Content-Type: application/vnd.tbsc.notification;\r\n name=\"thong-bao-%s.tbsc\"\r\n"
	    "Content-Disposition: attachment; filename=\"thong-bao-%s.tbsc\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "%s"
	    "--tbsc-%s--\r\n",
	    n->recipient, subj64, date, n->nid, n->nid, n->nid, text64, n->nid, n->nid, n->nid,
	    att64, n->nid);
	free(subj64);
	free(text64);
	free(att64);
	return eml;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"relay-key", required_argument, NULL, 'R'},
	                                     {"agency", required_argument, NULL, 'a'},
	                                     {"agency-key", required_argument, NULL, 'A'},
	                                     {"recipient", required_argument, NULL, 'r'},
	                                     {"recipient-key", required_argument, NULL, 'P'},
	                                     {"report", required_argument, NULL, 'f'},
	                                     {"out", required_argument, NULL, 'o'},
	                                     {"kind", required_argument, NULL, 'k'},
	                                     {"drill", no_argument, NULL, 'd'},
	                                     {"templates", required_argument, NULL, 'T'},
	                                     {"language", required_argument, NULL, 'l'},
	                                     {"clear", required_argument, NULL, 'c'},
	                                     {"agency-name", required_argument, NULL, 'N'},
	                                     {"timestamp", required_argument, NULL, 't'},
	                                     {"log-index", required_argument, NULL, 'i'},
	                                     {"gsm7", no_argument, NULL, 'g'},
	                                     {NULL, 0, NULL, 0}};
	const char *relay_path = NULL, *agency = NULL, *agency_path = NULL, *recipient = NULL,
	           *recipient_pub = NULL;
	const char *report_path = NULL, *out = NULL, *kind = NULL, *templates = "templates",
	           *language = "vi";
	const char *clear = "", *agency_name = NULL;
	bool drill = false, gsm7 = false;
	int64_t ts = now_s();
	uint64_t log_index = 7;
	char err[ERRBUF_MAX];
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'R':
			relay_path = optarg;
			break;
		case 'a':
			agency = optarg;
			break;
		case 'A':
			agency_path = optarg;
			break;
		case 'r':
			recipient = optarg;
			break;
		case 'P':
			recipient_pub = optarg;
			break;
		case 'f':
			report_path = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'k':
			kind = optarg;
			break;
		case 'd':
			drill = true;
			break;
		case 'T':
			templates = optarg;
			break;
		case 'l':
			language = optarg;
			break;
		case 'c':
			clear = optarg;
			break;
		case 'N':
			agency_name = optarg;
			break;
		case 't':
			ts = strtoll(optarg, NULL, 10);
			break;
		case 'i':
			log_index = strtoull(optarg, NULL, 10);
			break;
		case 'g':
			gsm7 = true;
			break;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (!relay_path || !agency || !agency_path || !recipient || !recipient_pub ||
	    !report_path || !out) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (sodium_init() < 0)
		return 2;
	struct keypair *relay = keyfile_read_secret(relay_path, NULL, err, sizeof err);
	struct keypair *ak = relay ? keyfile_read_secret(agency_path, NULL, err, sizeof err) : NULL;
	uint8_t rpk[KEY_PK_BYTES], rkid[KEY_ID_BYTES];
	if (ak == NULL || keyfile_read_public(recipient_pub, rpk, rkid, err, sizeof err) != 0)
		fatal("%s", err);
	struct renderer *renderer = render_load(templates, err, sizeof err);
	if (renderer == NULL)
		fatal("%s", err);

	/* The agency's side: a report, signed and sealed in an envelope. */
	struct report rep;
	report_init(&rep);
	if (report_set(&rep, "kind", kind ? kind : "initial", err, sizeof err) != 0 ||
	    read_report(report_path, &rep) != 0)
		fatal("report: %s", err);
	if (kind != NULL && report_set(&rep, "kind", kind, err, sizeof err) != 0)
		fatal("%s", err);
	rep.drill = rep.drill || drill;
	if (rep.created == 0)
		rep.created = (uint64_t)ts - 60;
	uint8_t *report_bytes, *env_bytes, *plain;
	size_t report_len, env_len, plain_len;
	if (report_encode(&rep, &report_bytes, &report_len, err, sizeof err) != 0 ||
	    envelope_create(ak, agency, relay->xpk, report_bytes, report_len, (uint64_t)ts,
	                    &env_bytes, &env_len, err, sizeof err) != 0)
		fatal("%s", err);

	/* The relay's side: open, attest, seal to the recipient, sign, render. */
	struct envelope env;
	if (envelope_decode(env_bytes, env_len, &env, err, sizeof err) != 0 ||
	    envelope_open(&env, relay, &plain, &plain_len, err, sizeof err) != 0)
		fatal("%s", err);
	uint8_t hash[WIRE_HASH_BYTES];
	envelope_hash(&env, hash);

	char **fields = xcalloc(strlen(clear) + 1, sizeof *fields);
	size_t nfields = 0;
	char *clear_copy = xstrdup(clear);
	for (char *save = NULL, *k = strtok_r(clear_copy, ",", &save); k;
	     k = strtok_r(NULL, ",", &save))
		fields[nfields++] = k;
	struct render_options ro;
	memset(&ro, 0, sizeof ro);
	ro.language = language;
	ro.sms_ucs2 = !gsm7;
	ro.clear_fields = (const char *const *)fields;
	ro.clear_count = nfields;
	ro.agency_name = agency_name ? agency_name : agency;
	ro.recipient_name = recipient;
	ro.verify_url = "https://relay.tbsc.example";

	static const char *const channels[] = {"email", "webhook", "sms"};
	for (size_t ch = 0; ch < 3; ch++) {
		struct notification n;
		memset(&n, 0, sizeof n);
		memcpy(n.report_hash, hash, sizeof hash);
		report_id_from_hash(hash, n.report_id);
		snprintf(n.incident_id, sizeof n.incident_id, "%s", rep.incident_id);
		snprintf(n.agency, sizeof n.agency, "%s", agency);
		snprintf(n.recipient, sizeof n.recipient, "%s", recipient);
		snprintf(n.channel, sizeof n.channel, "%s", channels[ch]);
		snprintf(n.kind, sizeof n.kind, "%s", report_kind_names[rep.kind]);
		n.drill = rep.drill;
		n.received_ms = (uint64_t)ts * 1000 + 123;
		n.log_index = log_index;
		notify_id(n.report_id, n.recipient, n.channel, n.nid);
		uint8_t *bytes;
		size_t len;
		if (notify_seal(&n, rpk, plain, plain_len, err, sizeof err) != 0 ||
		    notify_encode(&n, relay, &bytes, &len) != 0)
			fatal("notification: %s", err);
		char *name = xasprintf("%s.tbsc", channels[ch]);
		put(out, name, bytes, len);
		free(name);
		if (ch == 0) {
			char *subject, *text;
			if (render_email(renderer, &rep, &n, &ro, &subject, &text, err,
			                 sizeof err) != 0)
				fatal("%s", err);
			char *eml = make_eml(&n, subject, text, bytes, len);
			put_str(out, "mail.eml", eml);
			put_str(out, "mail.txt", text);
			free(eml);
			free(subject);
			free(text);
		} else if (ch == 1) {
			char *json, tsbuf[32];
			if (render_webhook(renderer, &rep, &n, &ro, bytes, len, &json, err,
			                   sizeof err) != 0)
				fatal("%s", err);
			char *sig = webhook_signature(relay, n.nid, ts, json, strlen(json));
			snprintf(tsbuf, sizeof tsbuf, "%lld", (long long)ts);
			put_str(out, "webhook.json", json);
			put_str(out, "webhook.id", n.nid);
			put_str(out, "webhook.timestamp", tsbuf);
			put_str(out, "webhook.signature", sig);
			free(sig);
			free(json);
		} else {
			char *text, segs[16];
			unsigned segments;
			if (render_sms(renderer, &rep, &n, &ro, bytes, len, &text, &segments, err,
			               sizeof err) != 0)
				fatal("%s", err);
			snprintf(segs, sizeof segs, "%u", segments);
			put_str(out, "sms.txt", text);
			put_str(out, "sms.segments", segs);
			free(text);
		}
		put_str(out, "report-id", n.report_id);
		put_str(out, "incident-id", n.incident_id);
		free(bytes);
		notify_clear(&n);
	}
	free(clear_copy);
	free(fields);
	sodium_memzero(plain, plain_len);
	free(plain);
	envelope_clear(&env);
	free(env_bytes);
	free(report_bytes);
	report_clear(&rep);
	render_free(renderer);
	keypair_free(ak);
	keypair_free(relay);
	return 0;
}
