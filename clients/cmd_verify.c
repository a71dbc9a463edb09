/* cmd_verify.c: `incident verify`: is this notification (file, email, webhook, SMS) really from the
 * relay? */
#include "client.h"
#include "httpc.h"
#include "keyfile.h"
#include "notify.h"
#include "recipient.h"
#include "registry.h"
#include "subcommands.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char USAGE[] =
    "Cách dùng / usage: incident verify --relay-key TỆP [--registry TỆP] NGUỒN\n"
    "\n"
    "Kiểm tra một thông báo nhận được có đúng do relay ký và chưa bị sửa, rồi in những gì\n"
    "relay xác nhận. Checks that a notification was signed by the relay and is unaltered, and\n"
    "prints what the relay attests.\n"
    "\n"
    "NGUỒN / SOURCE, một trong / one of:\n"
    "  --notification TỆP     tệp thông báo .tbsc / the .tbsc notification file\n"
    "  --email TỆP.eml        thư đã lưu, có tệp .tbsc đính kèm / a saved email with its .tbsc "
    "attachment\n"
    "  --webhook-body TỆP --webhook-id ID --webhook-timestamp TS --webhook-signature CHỮ-KÝ\n"
    "                         nội dung và tiêu đề webhook / a webhook body and its headers (v1a)\n"
    "  --sms \"VĂN BẢN\"        với thông báo kênh sms (--notification): mã trong tin nhắn có "
    "khớp\n"
    "                         không / with the sms channel's notification: does the SMS carry its "
    "code\n"
    "  --sms \"VĂN BẢN\" --fetch --relay URL --agency ID --key TỆP\n"
    "                         lấy thông báo kênh sms từ relay (yêu cầu có chữ ký) rồi kiểm tra /\n"
    "                         fetch the sms notification from the relay (signed request), then "
    "check\n"
    "\n"
    "  --relay-key TỆP        khóa công khai của relay / relay public key (TBSC_RELAY_KEY)\n"
    "  --registry TỆP         sổ đăng ký: đơn vị báo cáo có đăng ký không / is the agency "
    "registered\n"
    "  --max-age GIÂY         webhook: từ chối nếu webhook-timestamp cũ hơn / refuse older "
    "timestamps\n"
    "  --help                 trợ giúp này / this help\n"
    "\n"
    "Chữ ký của đơn vị nằm trong phần niêm phong; `incident open` kiểm tra nó.\n"
    "The agency's own signature is inside the sealed part; `incident open` checks it.\n"
    "Mã thoát / exit: 0 hợp lệ / valid, 1 không hợp lệ / invalid, 2 lỗi / usage or system error.\n";

/*
 * The SMS names its report by the first 8 characters after "BC" (vi) or "report" (en); the relay
 * gives the recipient the notification it sent by SMS (a signed request), kept in a temp file.
 */
static int fetch_sms_notification(const char *sms, const char *relay, const char *agency,
                                  const char *key_path, char *path, size_t pathlen)
{
	char prefix[9] = "";
	for (const char *p = sms; *p; p++) {
		if ((p == sms || p[-1] == ' ') &&
		    (strncmp(p, "BC ", 3) == 0 || strncmp(p, "report ", 7) == 0)) {
			const char *h = strchr(p, ' ') + 1;
			if (strspn(h, "0123456789abcdef") >= 8) {
				memcpy(prefix, h, 8);
				break;
			}
		}
	}
	if (prefix[0] == '\0') {
		fprintf(stderr, "tin nhắn không có mã báo cáo (BC xxxxxxxx) / the SMS names no "
		                "report (report xxxxxxxx)\n");
		return 2;
	}
	char err[ERRBUF_MAX];
	char *pass = keyfile_is_protected(key_path)
	                 ? client_passphrase("Mật khẩu khóa / key passphrase", false)
	                 : NULL;
	struct keypair *kp = keyfile_read_secret(key_path, pass, err, sizeof err);
	free(pass);
	if (kp == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	char *p = xasprintf("/v1/notifications?r=%s&channel=sms", prefix);
	char *url = xasprintf("%s%s", relay, p);
	char *auth = request_auth_sign(kp, agency, "GET", p, (uint64_t)now_s());
	struct http_reply r;
	http_request(url, NULL, NULL, 0, auth, &r);
	free(p);
	free(url);
	free(auth);
	keypair_free(kp);
	int rc = 2;
	if (r.status == 200) {
		snprintf(path, pathlen, "/tmp/tbsc-sms-XXXXXX");
		int fd = mkstemp(path);
		if (fd >= 0 && write(fd, r.body, r.len) == (ssize_t)r.len && close(fd) == 0)
			rc = 0;
		else
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
	} else {
		fprintf(stderr, "relay: HTTP %ld %s\n", r.status,
		        r.status ? (const char *)r.body : r.error);
		rc = r.status == 404 ? 1 : 2;
	}
	http_reply_clear(&r);
	return rc;
}

int verify_main(int argc, char **argv)
{
	static const struct option opts[] = {{"relay-key", required_argument, NULL, 'k'},
	                                     {"registry", required_argument, NULL, 'r'},
	                                     {"notification", required_argument, NULL, 'n'},
	                                     {"email", required_argument, NULL, 'e'},
	                                     {"webhook-body", required_argument, NULL, 'b'},
	                                     {"webhook-id", required_argument, NULL, 'i'},
	                                     {"webhook-timestamp", required_argument, NULL, 't'},
	                                     {"webhook-signature", required_argument, NULL, 's'},
	                                     {"sms", required_argument, NULL, 'm'},
	                                     {"fetch", no_argument, NULL, 'F'},
	                                     {"relay", required_argument, NULL, 0x100},
	                                     {"agency", required_argument, NULL, 0x101},
	                                     {"key", required_argument, NULL, 0x102},
	                                     {"max-age", required_argument, NULL, 'a'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct recipient_input in;
	const char *relay_key = getenv("TBSC_RELAY_KEY"), *registry_path = NULL, *sms = NULL;
	long long max_age = -1;
	bool fetch = false;
	const char *fetch_relay = getenv("TBSC_RELAY_URL"), *fetch_agency = getenv("TBSC_AGENCY"),
	           *fetch_key = getenv("TBSC_KEY");
	char fetched_path[64] = "";
	char err[ERRBUF_MAX];
	int c;
	memset(&in, 0, sizeof in);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			relay_key = optarg;
			break;
		case 'r':
			registry_path = optarg;
			break;
		case 'n':
			in.notification_path = optarg;
			break;
		case 'e':
			in.email_path = optarg;
			break;
		case 'b':
			in.webhook_body_path = optarg;
			break;
		case 'i':
			in.webhook_id = optarg;
			break;
		case 't':
			in.webhook_timestamp = optarg;
			break;
		case 's':
			in.webhook_signature = optarg;
			break;
		case 'm':
			sms = optarg;
			break;
		case 'F':
			fetch = true;
			break;
		case 0x100:
			fetch_relay = optarg;
			break;
		case 0x101:
			fetch_agency = optarg;
			break;
		case 0x102:
			fetch_key = optarg;
			break;
		case 'a': {
			char *end = NULL;
			max_age = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || max_age < 0) {
				fprintf(stderr, "--max-age: số giây / seconds\n");
				return 2;
			}
			break;
		}
		case 'h':
			fputs(USAGE, stdout);
			return 0;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc || relay_key == NULL) {
		fputs(USAGE, stderr);
		return 2;
	}
	/* A webhook is verified with its headers; a body alone is only the notification inside. */
	if (in.webhook_body_path != NULL &&
	    (in.webhook_id == NULL || in.webhook_timestamp == NULL ||
	     in.webhook_signature == NULL)) {
		fprintf(
		    stderr,
		    "--webhook-body cần --webhook-id, --webhook-timestamp, --webhook-signature / "
		    "--webhook-body needs the three webhook headers\n");
		return 2;
	}
	uint8_t relay_pk[KEY_PK_BYTES], relay_kid[KEY_ID_BYTES];
	if (keyfile_read_public(relay_key, relay_pk, relay_kid, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", relay_key, err);
		return 2;
	}
	if (fetch) {
		if (sms == NULL || fetch_relay == NULL || fetch_agency == NULL ||
		    fetch_key == NULL) {
			fprintf(stderr, "--fetch cần --sms, --relay, --agency, --key / --fetch "
			                "needs --sms, --relay, --agency, --key\n");
			return 2;
		}
		int frc = fetch_sms_notification(sms, fetch_relay, fetch_agency, fetch_key,
		                                 fetched_path, sizeof fetched_path);
		if (frc != 0)
			return frc;
		in.notification_path = fetched_path;
	}
	struct registry *reg = NULL;
	if (registry_path != NULL &&
	    (reg = registry_load(registry_path, err, sizeof err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	struct notification n;
	uint8_t *bytes = NULL;
	size_t len = 0;
	int rc = recipient_check(&in, relay_pk, &n, &bytes, &len, err, sizeof err);
	if (rc != 0) {
		if (rc == 1)
			fprintf(stderr, "KHÔNG HỢP LỆ / INVALID: %s\n", err);
		else
			fprintf(stderr, "%s\n", err);
		goto out;
	}
	rc = 1;
	if (in.webhook_timestamp != NULL && max_age >= 0) {
		long long ts = strtoll(in.webhook_timestamp, NULL, 10),
		          age = (long long)now_s() - ts;
		if (age > max_age || -age > max_age) {
			fprintf(stderr,
			        "KHÔNG HỢP LỆ / INVALID: webhook-timestamp lệch %lld giây (tối đa "
			        "%lld) / is %lld s "
			        "away (at most %lld)\n",
			        age, max_age, age, max_age);
			goto out;
		}
	}
	char code[11], found[11];
	if (sms != NULL && strcmp(n.channel, "sms") != 0) {
		/* The code is a digest of the SMS's own notification; another channel's cannot
		 * vouch for it. */
		fprintf(stderr,
		        "--sms cần thông báo của kênh sms, đây là kênh %s / --sms needs the "
		        "notification of the sms "
		        "channel; this one is for channel %s\n",
		        n.channel, n.channel);
		rc = 2;
		goto out;
	}
	if (sms != NULL) {
		notify_sms_code(bytes, len, code);
		if (!sms_text_has_code(sms, code, found)) {
			if (found[0] != '\0')
				fprintf(stderr,
				        "KHÔNG HỢP LỆ / INVALID: mã SMS %s không khớp thông báo "
				        "(mã đúng %s) / the SMS code "
				        "%s does not match the notification (its code is %s)\n",
				        found, code, found, code);
			else
				fprintf(stderr,
				        "KHÔNG HỢP LỆ / INVALID: tin nhắn không có mã kiểm tra / "
				        "the SMS carries "
				        "no check code (expected %s)\n",
				        code);
			goto out;
		}
		if (strstr(sms, n.incident_id) == NULL) {
			fprintf(stderr,
			        "KHÔNG HỢP LỆ / INVALID: tin nhắn không nêu sự cố %s / the SMS "
			        "does not name incident %s\n",
			        n.incident_id, n.incident_id);
			goto out;
		}
	}
	const struct agency *a = NULL;
	if (reg != NULL) {
		a = registry_find(reg, n.agency);
		if (a == NULL || a->revoked) {
			fprintf(stderr,
			        "KHÔNG HỢP LỆ / INVALID: đơn vị báo cáo %s %s / reporting agency "
			        "%s %s\n",
			        n.agency, a == NULL ? "không có trong sổ đăng ký" : "đã bị thu hồi",
			        n.agency, a == NULL ? "is not in the registry" : "is revoked");
			goto out;
		}
	}
	char kid_hex[2 * KEY_ID_BYTES + 1];
	hex_encode(kid_hex, relay_kid, KEY_ID_BYTES);
	printf("HỢP LỆ / VALID: thông báo do relay ký (khóa %s), không bị sửa / signed by the "
	       "relay (key %s), "
	       "unaltered\n",
	       kid_hex, kid_hex);
	if (in.webhook_body_path != NULL)
		recipient_print_row(stdout, "Chữ ký webhook v1a / v1a signature",
		                    "webhook-id %s, webhook-timestamp %s (%+lld s)", in.webhook_id,
		                    in.webhook_timestamp,
		                    (long long)now_s() - strtoll(in.webhook_timestamp, NULL, 10));
	if (in.email_path != NULL)
		recipient_print_row(
		    stdout, "Thư / email", "%s",
		    "chỉ tệp đính kèm được ký, phần văn bản thì không / only the attachment is "
		    "signed, not the text");
	if (sms != NULL)
		recipient_print_row(stdout, "Mã SMS khớp / SMS code matches", "%s", code);
	recipient_print_attestation(stdout, &n);
	if (a != NULL)
		recipient_print_row(stdout, "Sổ đăng ký / registry",
		                    "%s: đã đăng ký / registered (%s)", n.agency,
		                    a->name ? a->name : "");
	printf("Chữ ký của đơn vị nằm trong phần niêm phong: `incident open` kiểm tra nó.\n"
	       "The agency's signature is inside the sealed part: `incident open` checks it.\n");
	rc = 0;
out:
	notify_clear(&n);
	free(bytes);
	registry_free(reg);
	if (fetched_path[0] != '\0')
		unlink(fetched_path);
	return rc;
}
