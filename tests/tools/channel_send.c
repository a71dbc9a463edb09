/* channel_send.c: test and benchmark driver for the delivery channels (relay/channel.h).
 *
 *   channel_send email|sms|webhook [options] ID=ADDRESS...
 *
 * builds one struct delivery per ID=ADDRESS (times --repeat), sends them through the channel
 * (in calls of --batch deliveries, the whole list --rounds times on one channel object) and
 * prints one line per delivery: <index> <OK|TEMPORARY|PERMANENT|GONE> <code> <retry_after>
 * <detail>. Exit status: 0 all OK, 1 some delivery not OK, 2 usage or set-up error. */
#include "channel.h"
#include "util.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage_text[] =
    "usage: channel_send email|sms|webhook [options] ID=ADDRESS...\n"
    "common:  --timeout S  --repeat N  --batch N  --rounds R  --quiet  --summary\n"
    "email:   --host H --port P --helo N --from A --starttls 0|1|2 --ca FILE\n"
    "         --user U --password P --subject S --text T --attachment FILE\n"
    "         --attachment-name N --thread ID\n"
    "sms:     --profile kannel|http --url U --user U --password P --from F --dlr-mask N\n"
    "         --method GET|POST --header 'Name: value' (repeatable) --body-template T\n"
    "         --text T --ucs2 --dlr-url U ({id} in U becomes the delivery id)\n"
    "webhook: --ca FILE --concurrency N --max-connections N --body B | --body-file F\n"
    "         --signature S --timestamp T\n";

static void usage(const char *why)
{
	if (why)
		fprintf(stderr, "channel_send: %s\n", why);
	fputs(usage_text, stderr);
	exit(2);
}

static int num(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 100000000)
		usage(what);
	return (int)v;
}

static char *replace_id(const char *tmpl, const char *id)
{
	const char *p = strstr(tmpl, "{id}");
	if (p == NULL)
		return xstrdup(tmpl);
	return xasprintf("%.*s%s%s", (int)(p - tmpl), tmpl, id, p + 4);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage(NULL);
	signal(SIGPIPE, SIG_IGN); /* libesmtp writes to sockets without MSG_NOSIGNAL */
	log_set_prefix("channel_send");
	const char *kind_name = argv[1];
	enum channel_kind kind;
	if (strcmp(kind_name, "email") == 0)
		kind = CHANNEL_EMAIL;
	else if (strcmp(kind_name, "sms") == 0)
		kind = CHANNEL_SMS;
	else if (strcmp(kind_name, "webhook") == 0)
		kind = CHANNEL_WEBHOOK;
	else
		usage("first argument must be email, sms or webhook");

	struct email_config ec = {.host = "127.0.0.1",
	                          .port = 25,
	                          .from = "tbsc-relay@test.example",
	                          .starttls = 0,
	                          .timeout_s = 10};
	struct sms_config sc = {
	    .profile = "kannel", .dlr_mask = 0, .method = "GET", .timeout_s = 10};
	struct webhook_config wc = {
	    .timeout_s = 10, .per_endpoint_concurrency = 4, .max_total_connections = 64};
	const char *subject = "[TBSC] Thông báo sự cố", *text = "Nội dung tóm tắt.";
	const char *attachment_file = NULL, *attachment_name = NULL, *thread = NULL;
	const char *sms_text = "TBSC test", *dlr_url = NULL, *body = "{}", *body_file = NULL;
	const char *signature = "v1a,dGVzdA==";
	int64_t timestamp = 0;
	bool ucs2 = false, quiet = false, summary = false;
	int repeat = 1, batch = 0, rounds = 1;
	char *headers = NULL;

	enum {
		O_HOST = 256,
		O_PORT,
		O_HELO,
		O_FROM,
		O_STARTTLS,
		O_CA,
		O_USER,
		O_PASSWORD,
		O_TIMEOUT,
		O_SUBJECT,
		O_TEXT,
		O_ATTACHMENT,
		O_ATTACHMENT_NAME,
		O_THREAD,
		O_PROFILE,
		O_URL,
		O_DLR_MASK,
		O_METHOD,
		O_HEADER,
		O_BODY_TEMPLATE,
		O_UCS2,
		O_DLR_URL,
		O_CONCURRENCY,
		O_MAXCONN,
		O_BODY,
		O_BODY_FILE,
		O_SIGNATURE,
		O_TIMESTAMP,
		O_REPEAT,
		O_BATCH,
		O_ROUNDS,
		O_QUIET,
		O_SUMMARY
	};
	static const struct option opts[] = {{"host", 1, 0, O_HOST},
	                                     {"port", 1, 0, O_PORT},
	                                     {"helo", 1, 0, O_HELO},
	                                     {"from", 1, 0, O_FROM},
	                                     {"starttls", 1, 0, O_STARTTLS},
	                                     {"ca", 1, 0, O_CA},
	                                     {"user", 1, 0, O_USER},
	                                     {"password", 1, 0, O_PASSWORD},
	                                     {"timeout", 1, 0, O_TIMEOUT},
	                                     {"subject", 1, 0, O_SUBJECT},
	                                     {"text", 1, 0, O_TEXT},
	                                     {"attachment", 1, 0, O_ATTACHMENT},
	                                     {"attachment-name", 1, 0, O_ATTACHMENT_NAME},
	                                     {"thread", 1, 0, O_THREAD},
	                                     {"profile", 1, 0, O_PROFILE},
	                                     {"url", 1, 0, O_URL},
	                                     {"dlr-mask", 1, 0, O_DLR_MASK},
	                                     {"method", 1, 0, O_METHOD},
	                                     {"header", 1, 0, O_HEADER},
	                                     {"body-template", 1, 0, O_BODY_TEMPLATE},
	                                     {"ucs2", 0, 0, O_UCS2},
	                                     {"dlr-url", 1, 0, O_DLR_URL},
	                                     {"concurrency", 1, 0, O_CONCURRENCY},
	                                     {"max-connections", 1, 0, O_MAXCONN},
	                                     {"body", 1, 0, O_BODY},
	                                     {"body-file", 1, 0, O_BODY_FILE},
	                                     {"signature", 1, 0, O_SIGNATURE},
	                                     {"timestamp", 1, 0, O_TIMESTAMP},
	                                     {"repeat", 1, 0, O_REPEAT},
	                                     {"batch", 1, 0, O_BATCH},
	                                     {"rounds", 1, 0, O_ROUNDS},
	                                     {"quiet", 0, 0, O_QUIET},
	                                     {"summary", 0, 0, O_SUMMARY},
	                                     {0, 0, 0, 0}};
	optind = 2;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_HOST:
			ec.host = optarg;
			break;
		case O_PORT:
			ec.port = (unsigned)num(optarg, "bad --port");
			break;
		case O_HELO:
			ec.helo = optarg;
			break;
		case O_FROM:
			ec.from = sc.from = optarg;
			break;
		case O_STARTTLS:
			ec.starttls = num(optarg, "bad --starttls");
			break;
		case O_CA:
			ec.ca_file = wc.ca_file = optarg;
			break;
		case O_USER:
			ec.username = sc.username = optarg;
			break;
		case O_PASSWORD:
			ec.password = sc.password = optarg;
			break;
		case O_TIMEOUT:
			ec.timeout_s = sc.timeout_s = wc.timeout_s = num(optarg, "bad --timeout");
			break;
		case O_SUBJECT:
			subject = optarg;
			break;
		case O_TEXT:
			text = sms_text = optarg;
			break;
		case O_ATTACHMENT:
			attachment_file = optarg;
			break;
		case O_ATTACHMENT_NAME:
			attachment_name = optarg;
			break;
		case O_THREAD:
			thread = optarg;
			break;
		case O_PROFILE:
			sc.profile = optarg;
			break;
		case O_URL:
			sc.url = optarg;
			break;
		case O_DLR_MASK:
			sc.dlr_mask = num(optarg, "bad --dlr-mask");
			break;
		case O_METHOD:
			sc.method = optarg;
			break;
		case O_HEADER: {
			char *h = headers ? xasprintf("%s\n%s", headers, optarg) : xstrdup(optarg);
			free(headers);
			headers = h;
			break;
		}
		case O_BODY_TEMPLATE:
			sc.body_template = optarg;
			break;
		case O_UCS2:
			ucs2 = true;
			break;
		case O_DLR_URL:
			dlr_url = optarg;
			break;
		case O_CONCURRENCY:
			wc.per_endpoint_concurrency = num(optarg, "bad --concurrency");
			break;
		case O_MAXCONN:
			wc.max_total_connections = num(optarg, "bad --max-connections");
			break;
		case O_BODY:
			body = optarg;
			break;
		case O_BODY_FILE:
			body_file = optarg;
			break;
		case O_SIGNATURE:
			signature = optarg;
			break;
		case O_TIMESTAMP: {
			char *end;
			timestamp = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || timestamp <= 0)
				usage("bad --timestamp");
			break;
		}
		case O_REPEAT:
			repeat = num(optarg, "bad --repeat");
			break;
		case O_BATCH:
			batch = num(optarg, "bad --batch");
			break;
		case O_ROUNDS:
			rounds = num(optarg, "bad --rounds");
			break;
		case O_QUIET:
			quiet = true;
			break;
		case O_SUMMARY:
			summary = true;
			break;
		default:
			usage(NULL);
		}
	}
	sc.headers = headers;
	if (optind >= argc)
		usage("no ID=ADDRESS given");
	if (repeat < 1 || rounds < 1)
		usage("--repeat and --rounds must be at least 1");

	int status = 2;
	char err[ERRBUF_MAX];
	uint8_t *attachment = NULL, *body_data = NULL;
	size_t attachment_len = 0, body_len = strlen(body);
	if (attachment_file && file_read_all(attachment_file, 16u << 20, &attachment,
	                                     &attachment_len, err, sizeof err) < 0) {
		fprintf(stderr, "channel_send: %s\n", err);
		free(headers);
		return 2;
	}
	if (body_file) {
		if (file_read_all(body_file, 4u << 20, &body_data, &body_len, err, sizeof err) <
		    0) {
			fprintf(stderr, "channel_send: %s\n", err);
			free(attachment);
			free(headers);
			return 2;
		}
		body = (const char *)body_data;
	}
	if (timestamp == 0)
		timestamp = now_s();

	size_t nargs = (size_t)(argc - optind), n = nargs * (size_t)repeat;
	struct delivery *dv = xcalloc(n, sizeof *dv);
	const struct delivery **dp = xcalloc(n, sizeof *dp);
	struct delivery_result *res = xcalloc(n, sizeof *res);
	char **ids = xcalloc(n, sizeof *ids), **dlrs = xcalloc(n, sizeof *dlrs);
	for (size_t a = 0; a < nargs; a++) {
		const char *arg = argv[optind + (int)a];
		const char *eq = strchr(arg, '=');
		if (eq == NULL || eq == arg || eq[1] == '\0') {
			fprintf(stderr, "channel_send: expected ID=ADDRESS, got \"%s\"\n", arg);
			goto cleanup;
		}
		for (int r = 0; r < repeat; r++) {
			size_t i = a * (size_t)repeat + (size_t)r;
			ids[i] = repeat > 1 ? xasprintf("%.*s-%d", (int)(eq - arg), arg, r + 1)
			                    : xasprintf("%.*s", (int)(eq - arg), arg);
			struct delivery *d = &dv[i];
			d->kind = kind;
			d->notification_id = ids[i];
			d->address = eq + 1;
			d->subject = subject;
			d->text = text;
			d->attachment = attachment;
			d->attachment_len = attachment_len;
			d->attachment_name = attachment_name;
			d->thread_id = thread;
			d->sms_text = sms_text;
			d->sms_ucs2 = ucs2;
			if (dlr_url)
				d->dlr_url = dlrs[i] = replace_id(dlr_url, ids[i]);
			d->body = body;
			d->body_len = body_len;
			d->timestamp = timestamp;
			d->signature = signature;
			dp[i] = d;
		}
	}

	struct email_channel *email = NULL;
	struct sms_channel *sms = NULL;
	struct webhook_channel *webhook = NULL;
	if (kind == CHANNEL_EMAIL)
		email = email_channel_new(&ec, err, sizeof err);
	else if (kind == CHANNEL_SMS)
		sms = sms_channel_new(&sc, err, sizeof err);
	else
		webhook = webhook_channel_new(&wc, err, sizeof err);
	if (!email && !sms && !webhook) {
		fprintf(stderr, "channel_send: %s\n", err);
		goto cleanup;
	}

	size_t counts[4] = {0};
	size_t step = batch > 0 ? (size_t)batch : n;
	int64_t t0 = now_ms();
	for (int round = 0; round < rounds; round++) {
		for (size_t off = 0; off < n; off += step) {
			size_t k = n - off < step ? n - off : step;
			if (kind == CHANNEL_EMAIL) {
				email_send(email, dp + off, k, res + off);
			} else if (kind == CHANNEL_WEBHOOK) {
				webhook_send(webhook, dp + off, k, res + off);
			} else {
				for (size_t i = off; i < off + k; i++)
					sms_send(sms, dp[i], &res[i]);
			}
		}
		for (size_t i = 0; i < n; i++) {
			counts[res[i].outcome < 4 ? res[i].outcome : 1]++;
			if (!quiet)
				printf("%zu %s %d %d %s\n", (size_t)round * n + i,
				       delivery_outcome_name(res[i].outcome), res[i].code,
				       res[i].retry_after, res[i].detail);
		}
		fflush(stdout);
	}
	int64_t elapsed = now_ms() - t0;
	if (summary)
		printf("SUMMARY total=%zu ok=%zu temporary=%zu permanent=%zu gone=%zu ms=%lld\n",
		       n * (size_t)rounds, counts[DELIVERY_OK], counts[DELIVERY_TEMPORARY],
		       counts[DELIVERY_PERMANENT], counts[DELIVERY_GONE], (long long)elapsed);
	status = counts[DELIVERY_OK] == n * (size_t)rounds ? 0 : 1;
	email_channel_free(email);
	sms_channel_free(sms);
	webhook_channel_free(webhook);
cleanup:
	for (size_t i = 0; i < n; i++) {
		free(ids[i]);
		free(dlrs[i]);
	}
	free(ids);
	free(dlrs);
	free(dv);
	free(dp);
	free(res);
	free(attachment);
	free(body_data);
	free(headers);
	return status;
}
