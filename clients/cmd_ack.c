/* cmd_ack.c: `incident ack ID`: a recipient acknowledges a notification, signed with its own key.
 */
#include "client.h"
#include "httpc.h"
#include "subcommands.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char USAGE[] =
    "Cách dùng / usage: incident ack [TÙY CHỌN] MÃ-BÁO-CÁO [--recipient ID]\n"
    "\n"
    "Xác nhận đã nhận thông báo (bắt buộc ngay khi nhận, TT 20 Điều 10), ký bằng khóa của đơn vị "
    "nhận.\n"
    "Acknowledges a notification (required at once on receipt), signed with the recipient's key.\n"
    "\n" CLIENT_OPTIONS_HELP
    "  --recipient ID     mã người nhận trong cấu hình relay (mặc định: --agency) / recipient id\n"
    "                     in the relay's routing (default: the --agency id)\n"
    "  --help             trợ giúp này / this help\n"
    "\nMã thoát / exit: 0 đã xác nhận / acknowledged, 1 bị từ chối / refused, 2 lỗi / error.\n";

int ack_main(int argc, char **argv)
{
	static const struct option opts[] = {CLIENT_LONG_OPTIONS,
	                                     {"recipient", required_argument, NULL, 'r'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct client cl;
	const char *recipient = NULL;
	char err[ERRBUF_MAX];
	int c, rc = 2;
	client_init(&cl);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int handled = client_option(&cl, c, optarg);
		if (handled < 0)
			goto out;
		if (handled)
			continue;
		if (c == 'r')
			recipient = optarg;
		else if (c == 'h') {
			fputs(USAGE, stdout);
			rc = 0;
			goto out;
		} else {
			fputs(USAGE, stderr);
			goto out;
		}
	}
	if (optind + 1 != argc) {
		fputs(USAGE, stderr);
		goto out;
	}
	const char *id = argv[optind];
	if (strlen(id) != REPORT_ID_CHARS || strspn(id, "0123456789abcdef") != REPORT_ID_CHARS) {
		fprintf(stderr,
		        "mã báo cáo phải là 32 ký tự hex / a report id is 32 hex characters\n");
		goto out;
	}
	if (client_load(&cl, true, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	struct ack a;
	memset(&a, 0, sizeof a);
	snprintf(a.agency, sizeof a.agency, "%s", cl.agency);
	memcpy(a.report_id, id, REPORT_ID_CHARS + 1);
	snprintf(a.recipient, sizeof a.recipient, "%s", recipient ? recipient : cl.agency);
	a.ts = (uint64_t)now_s();
	ack_sign(&a, cl.kp);
	uint8_t *body;
	size_t len;
	ack_encode(&a, &body, &len);
	char *url = xasprintf("%s/v1/acks", cl.relay_url);
	struct http_reply r;
	http_request(url, "application/msgpack", body, len, NULL, &r);
	free(url);
	free(body);
	if (r.status == 200 || r.status == 202) {
		char *at = json_member((const char *)r.body, "acknowledged_ms");
		time_t t = at ? (time_t)(strtoll(at, NULL, 10) / 1000) : 0;
		char when[64];
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", &tm);
		printf("%s / %s: %s %s (%s)\n",
		       r.status == 202 ? "Đã xác nhận" : "Đã xác nhận trước đó",
		       r.status == 202 ? "acknowledged" : "already acknowledged", id, a.recipient,
		       when);
		free(at);
		rc = 0;
	} else if (r.status == 0) {
		fprintf(stderr, "không liên lạc được relay / relay unreachable: %s\n", r.error);
	} else {
		char *why = json_member((const char *)r.body, "reason");
		fprintf(stderr, "HTTP %ld: %s\n", r.status, why ? why : (const char *)r.body);
		free(why);
		rc = r.status >= 500 ? 2 : 1;
	}
	http_reply_clear(&r);
out:
	client_free(&cl);
	return rc;
}
