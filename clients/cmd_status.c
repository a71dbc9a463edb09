/* cmd_status.c: `incident status ID`: where a report stands, asked with the agency's signature. */
#include "client.h"
#include "httpc.h"
#include "subcommands.h"
#include "util.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char USAGE[] =
    "Cách dùng / usage: incident status [TÙY CHỌN] MÃ-BÁO-CÁO\n"
    "       incident status [TÙY CHỌN] --incident MÃ-SỰ-CỐ\n"
    "\n"
    "Hỏi relay tình trạng một báo cáo của đơn vị mình (yêu cầu được ký bằng khóa đơn vị).\n"
    "Asks the relay where one of this agency's reports stands (the request is signed).\n"
    "Với --incident: toàn bộ diễn biến sự cố (các báo cáo, trạng thái, thời hạn pháp lý).\n"
    "With --incident: the incident's whole timeline (reports, state, legal clocks).\n"
    "\n" CLIENT_OPTIONS_HELP
    "  --incident         đối số là mã sự cố / the argument is an incident id\n"
    "  --json             in nguyên JSON / print the raw JSON\n"
    "  --help             trợ giúp này / this help\n"
    "\nMã thoát / exit: 0 có / found, 1 không có / not found or refused, 2 lỗi / error.\n";

static void print_time(const char *label, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	char when[64];
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", &tm);
	printf("%s%s", label, when);
}

/* One line per (recipient, channel) job, then its attempts and delivery reports. */
static void print_deliveries(const char *body)
{
	struct json_object *root = json_tokener_parse(body), *list = NULL;
	if (root == NULL || !json_object_object_get_ex(root, "deliveries", &list) ||
	    !json_object_is_type(list, json_type_array)) {
		json_object_put(root);
		return;
	}
	size_t n = json_object_array_length(list);
	printf("  Chuyển phát / deliveries: %zu\n", n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *j = json_object_array_get_idx(list, i), *v, *hist;
#define S(k) (json_object_object_get_ex(j, k, &v) ? json_object_get_string(v) : "")
		printf("    %-20s %-8s %-14s lần thử / attempts %s", S("recipient"), S("channel"),
		       S("state"), S("attempts"));
		if (strcmp(S("state"), "deferred") == 0 &&
		    json_object_object_get_ex(j, "next_ms", &v))
			print_time(", thử lại lúc / retry at ", json_object_get_int64(v));
		if (json_object_object_get_ex(j, "escalated_from", &v))
			printf(", leo thang từ / escalated from %s", json_object_get_string(v));
		if (json_object_object_get_ex(j, "acked_ms", &v)) {
			int64_t acked = json_object_get_int64(v), created = 0;
			struct json_object *cv;
			if (json_object_object_get_ex(j, "created_ms", &cv))
				created = json_object_get_int64(cv);
			printf(", đã xác nhận / acknowledged (%s) sau / after %.1f s",
			       S("acked_via"), (double)(acked - created) / 1000.0);
		} else {
			printf(", chưa xác nhận / not acknowledged");
		}
		printf("\n");
		if (json_object_object_get_ex(j, "history", &hist) &&
		    json_object_is_type(hist, json_type_array)) {
			for (size_t k = 0; k < json_object_array_length(hist); k++) {
				struct json_object *h = json_object_array_get_idx(hist, k), *w;
				int64_t at = json_object_object_get_ex(h, "at_ms", &w)
				                 ? json_object_get_int64(w)
				                 : 0;
				print_time("        ", at);
				const char *outcome = json_object_object_get_ex(h, "outcome", &w)
				                          ? json_object_get_string(w)
				                          : "";
				const char *detail = json_object_object_get_ex(h, "detail", &w)
				                         ? json_object_get_string(w)
				                         : "";
				printf("  %-24s %s\n", outcome, detail);
			}
		}
#undef S
	}
	json_object_put(root);
}

/* The incident's timeline: its reports in order, its state and its legal clocks. */
static int incident_status(struct client *cl, const char *id, bool raw)
{
	if (strlen(id) == 0 || strlen(id) > 64 ||
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") !=
	        strlen(id)) {
		fprintf(stderr, "mã sự cố không hợp lệ / invalid incident id\n");
		return 2;
	}
	char *path = xasprintf("/v1/incidents/%s", id);
	struct http_reply r;
	int rc = 2;
	client_get(cl, path, 0, &r);
	free(path);
	if (r.status == 0) {
		fprintf(stderr, "không liên lạc được relay / relay unreachable: %s\n", r.error);
	} else if (r.status != 200) {
		char *why = json_member((const char *)r.body, "reason");
		fprintf(stderr, "HTTP %ld: %s\n", r.status, why ? why : (const char *)r.body);
		free(why);
		rc = r.status < 500 ? 1 : 2;
	} else if (raw) {
		fputs((const char *)r.body, stdout);
		rc = 0;
	} else {
		struct json_object *root = json_tokener_parse((const char *)r.body), *v, *list;
		static const char *const states[][2] = {{"open", "đang mở / open"},
		                                        {"responding", "đang ứng cứu / responding"},
		                                        {"closed", "đã kết thúc / closed"}};
		const char *state =
		    json_object_object_get_ex(root, "state", &v) ? json_object_get_string(v) : "?";
		for (size_t i = 0; i < 3; i++)
			if (!strcmp(state, states[i][0]))
				state = states[i][1];
		printf("Sự cố / incident %s: %s%s\n", id, state,
		       json_object_object_get_ex(root, "drill", &v) && json_object_get_boolean(v)
		           ? " (DIỄN TẬP / drill)"
		           : "");
		printf("  Các báo cáo / reports:\n");
		if (json_object_object_get_ex(root, "reports", &list))
			for (size_t i = 0; i < json_object_array_length(list); i++) {
				struct json_object *x = json_object_array_get_idx(list, i), *w;
				print_time("    ", json_object_object_get_ex(x, "received_ms", &w)
				                       ? json_object_get_int64(w)
				                       : 0);
				printf("  %-16s %s\n",
				       json_object_object_get_ex(x, "kind", &w)
				           ? json_object_get_string(w)
				           : "",
				       json_object_object_get_ex(x, "report_id", &w)
				           ? json_object_get_string(w)
				           : "");
			}
		printf("  Thời hạn pháp lý / legal clocks:\n");
		if (json_object_object_get_ex(root, "clocks", &list)) {
			for (size_t i = 0; i < json_object_array_length(list); i++) {
				struct json_object *x = json_object_array_get_idx(list, i), *w;
				const char *name = json_object_object_get_ex(x, "clock", &w)
				                       ? json_object_get_string(w)
				                       : "";
				printf(
				    "    %-44s",
				    !strcmp(name, "notification")
				        ? "thông báo trong 5 ngày từ khi phát hiện / notification"
				        : "Mẫu 04 trong 5 ngày sau ứng phó / closing report");
				print_time(" hạn / due ", json_object_object_get_ex(x, "due_ms", &w)
				                              ? json_object_get_int64(w)
				                              : 0);
				printf("  %s\n", json_object_object_get_ex(x, "state", &w)
				                     ? json_object_get_string(w)
				                     : "");
			}
			if (json_object_array_length(list) == 0)
				printf("    (chưa có / none yet)\n");
		}
		json_object_put(root);
		rc = 0;
	}
	http_reply_clear(&r);
	return rc;
}

int status_main(int argc, char **argv)
{
	static const struct option opts[] = {CLIENT_LONG_OPTIONS,
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"incident", no_argument, NULL, 'i'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct client cl;
	bool raw = false, incident = false;
	int c, rc = 2;
	char err[ERRBUF_MAX];
	client_init(&cl);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int handled = client_option(&cl, c, optarg);
		if (handled < 0)
			goto out;
		if (handled)
			continue;
		if (c == 'j')
			raw = true;
		else if (c == 'i')
			incident = true;
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
	if (client_load(&cl, true, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	const char *id = argv[optind];
	if (incident) {
		rc = incident_status(&cl, id, raw);
		goto out;
	}
	if (strlen(id) != REPORT_ID_CHARS || strspn(id, "0123456789abcdef") != REPORT_ID_CHARS) {
		fprintf(stderr,
		        "mã báo cáo phải là 32 ký tự hex / a report id is 32 hex characters\n");
		goto out;
	}
	char *path = xasprintf("/v1/reports/%s", id);
	struct http_reply r;
	client_get(&cl, path, 0, &r);
	free(path);
	if (r.status == 0) {
		fprintf(stderr, "không liên lạc được relay / relay unreachable: %s\n", r.error);
	} else if (r.status != 200) {
		char *why = json_member((const char *)r.body, "reason");
		fprintf(stderr, "HTTP %ld: %s\n", r.status, why ? why : (const char *)r.body);
		free(why);
		rc = r.status == 404 || r.status == 401 || r.status == 403 ? 1 : 2;
	} else if (raw) {
		fputs((const char *)r.body, stdout);
		rc = 0;
	} else {
		static const char *const fields[][2] = {
		    {"report_id", "Mã báo cáo / report id"},
		    {"incident_id", "Mã sự cố / incident id"},
		    {"kind", "Loại báo cáo / kind"},
		    {"category", "Loại sự cố / category"},
		    {"severity", "Mức độ / severity"},
		    {"drill", "Diễn tập / drill"},
		    {"state", "Tình trạng / state"},
		    {"log_index", "Vị trí nhật ký / log index"}};
		for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
			char *v = json_member((const char *)r.body, fields[i][0]);
			printf("  %-32s %s\n", fields[i][1], v ? v : "-");
			free(v);
		}
		char *ms = json_member((const char *)r.body, "received_ms");
		if (ms != NULL) {
			print_time("  Thời điểm nhận / received        ", strtoll(ms, NULL, 10));
			printf("\n");
			free(ms);
		}
		print_deliveries((const char *)r.body);
		rc = 0;
	}
	http_reply_clear(&r);
out:
	client_free(&cl);
	return rc;
}
