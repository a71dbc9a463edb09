/* cmd_open.c: `incident open`: verify a notification, open its sealed report, check the agency's
 * signature. */
#include "client.h"
#include "keyfile.h"
#include "recipient.h"
#include "registry.h"
#include "subcommands.h"
#include "util.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "Cách dùng / usage: incident open --key KHÓA.sec --relay-key TỆP --registry TỆP NGUỒN\n"
    "\n"
    "Kiểm tra chữ ký của relay, mở báo cáo niêm phong bằng khóa bí mật của đơn vị nhận, kiểm tra\n"
    "chữ ký của đơn vị báo cáo theo sổ đăng ký (đầu cuối), rồi in báo cáo.\n"
    "Checks the relay's signature, opens the sealed report with the recipient's secret key, "
    "checks\n"
    "the reporting agency's signature against the registry (end to end), and prints the report.\n"
    "\n"
    "NGUỒN / SOURCE, một trong / one of:\n"
    "  --notification TỆP     tệp thông báo .tbsc / the .tbsc notification file\n"
    "  --email TỆP.eml        thư đã lưu / a saved email with its .tbsc attachment\n"
    "  --webhook-body TỆP     nội dung webhook / a webhook body [--webhook-id ID "
    "--webhook-timestamp TS\n"
    "                         --webhook-signature CHỮ-KÝ: cũng kiểm tra / also checked]\n"
    "\n"
    "  --key TỆP              khóa bí mật của đơn vị nhận / the recipient's secret key (TBSC_KEY;\n"
    "                         mật khẩu / passphrase: TBSC_PASSPHRASE hoặc hỏi / or asked)\n"
    "  --relay-key TỆP        khóa công khai của relay / relay public key (TBSC_RELAY_KEY)\n"
    "  --registry TỆP         sổ đăng ký đơn vị / the agency registry\n"
    "  --help                 trợ giúp này / this help\n"
    "\n"
    "Mã thoát / exit: 0 hợp lệ / valid, 1 không hợp lệ / invalid, 2 lỗi / usage or system error.\n";

int open_main(int argc, char **argv)
{
	static const struct option opts[] = {{"key", required_argument, NULL, 'K'},
	                                     {"relay-key", required_argument, NULL, 'k'},
	                                     {"registry", required_argument, NULL, 'r'},
	                                     {"notification", required_argument, NULL, 'n'},
	                                     {"email", required_argument, NULL, 'e'},
	                                     {"webhook-body", required_argument, NULL, 'b'},
	                                     {"webhook-id", required_argument, NULL, 'i'},
	                                     {"webhook-timestamp", required_argument, NULL, 't'},
	                                     {"webhook-signature", required_argument, NULL, 's'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct recipient_input in;
	const char *key_path = getenv("TBSC_KEY"), *relay_key = getenv("TBSC_RELAY_KEY"),
	           *registry_path = NULL;
	char err[ERRBUF_MAX];
	int c;
	memset(&in, 0, sizeof in);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'K':
			key_path = optarg;
			break;
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
		case 'h':
			fputs(USAGE, stdout);
			return 0;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc || key_path == NULL || relay_key == NULL || registry_path == NULL) {
		fputs(USAGE, stderr);
		return 2;
	}
	uint8_t relay_pk[KEY_PK_BYTES], relay_kid[KEY_ID_BYTES];
	if (keyfile_read_public(relay_key, relay_pk, relay_kid, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", relay_key, err);
		return 2;
	}
	struct registry *reg = registry_load(registry_path, err, sizeof err);
	if (reg == NULL) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	struct keypair *key = NULL;
	struct notification n;
	struct opened_report o;
	uint8_t *bytes = NULL;
	size_t len = 0;
	memset(&n, 0, sizeof n);
	memset(&o, 0, sizeof o);
	int rc = recipient_check(&in, relay_pk, &n, &bytes, &len, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "%s%s\n", rc == 1 ? "KHÔNG HỢP LỆ / INVALID: " : "", err);
		goto out;
	}
	char *pass = NULL;
	if (keyfile_is_protected(key_path))
		pass = client_passphrase("Mật khẩu khóa / key passphrase", false);
	key = keyfile_read_secret(key_path, pass, err, sizeof err);
	if (pass != NULL) {
		sodium_memzero(pass, strlen(pass));
		free(pass);
	}
	if (key == NULL) {
		fprintf(stderr, "%s: %s\n", key_path, err);
		rc = 2;
		goto out;
	}
	if (recipient_open(&n, key, reg, &o, err, sizeof err) != 0) {
		fprintf(stderr, "KHÔNG HỢP LỆ / INVALID: %s\n", err);
		rc = 1;
		goto out;
	}
	char relay_hex[2 * KEY_ID_BYTES + 1], agency_hex[2 * KEY_ID_BYTES + 1];
	hex_encode(relay_hex, relay_kid, KEY_ID_BYTES);
	hex_encode(agency_hex, o.sr.kid, KEY_ID_BYTES);
	printf("HỢP LỆ / VALID: relay ký thông báo (khóa %s); đơn vị %s ký báo cáo (khóa %s, có "
	       "trong sổ đăng ký)\n"
	       "  the relay signed the notification (key %s); agency %s signed the report (key %s, "
	       "registered)\n",
	       relay_hex, o.sr.agency, agency_hex, relay_hex, o.sr.agency, agency_hex);
	recipient_print_attestation(stdout, &n);
	recipient_print_report(stdout, &o.rep, o.agency_name);
	rc = 0;
out:
	opened_report_clear(&o);
	keypair_free(key);
	notify_clear(&n);
	free(bytes);
	registry_free(reg);
	return rc;
}
