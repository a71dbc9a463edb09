/* cmd_drill.c: `incident drill` runs a drill scenario through the real path; `incident
 * drill-report` measures each recipient's time to receive and to acknowledge, per channel. */
#include "client.h"
#include "httpc.h"
#include "outbox.h"
#include "report.h"
#include "subcommands.h"
#include "util.h"

#include <ini.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DRILL_STEPS_MAX 32

static const char DRILL_USAGE[] =
    "Cách dùng / usage: incident drill --scenario TỆP [TÙY CHỌN]\n"
    "\n"
    "Chạy một kịch bản diễn tập: gửi lần lượt các báo cáo của kịch bản qua đúng đường thật, đánh "
    "dấu\n"
    "DIỄN TẬP, cùng một mã sự cố; chỉ những người tham gia diễn tập nhận được.\n"
    "Runs a drill scenario: files its reports in sequence through the real path, marked as a "
    "drill,\n"
    "under one incident id; only the drill's participants receive them.\n"
    "\n"
    "Kịch bản / scenario (INI): [scenario] chứa các trường chung (và incident_id), mỗi [step N] "
    "một\n"
    "báo cáo: after = giây chờ trước khi gửi / seconds to wait, kind = ..., và các trường báo "
    "cáo.\n"
    "\n" CLIENT_OPTIONS_HELP "  --help             trợ giúp này / this help\n"
    "\nMã thoát / exit: 0 mọi báo cáo được nhận / all accepted, 1 có báo cáo bị từ chối / one "
    "refused,\n"
    "2 lỗi / error. Sau đó / afterwards: incident drill-report --incident MÃ-SỰ-CỐ\n";

struct scenario {
	struct report steps[DRILL_STEPS_MAX];
	unsigned after[DRILL_STEPS_MAX];
	bool used[DRILL_STEPS_MAX];
	struct report common;
	char *incident_id;
	int errors;
	const char *path;
};

static int on_scenario(void *user, const char *section, const char *name, const char *value)
{
	struct scenario *sc = user;
	char err[ERRBUF_MAX];
	struct report *r;
	int step = -1;
	if (strcmp(section, "scenario") == 0) {
		if (strcmp(name, "incident_id") == 0) {
			free(sc->incident_id);
			sc->incident_id = xstrdup(value);
			return 1;
		}
		r = &sc->common;
	} else if (sscanf(section, "step %d", &step) == 1 && step >= 1 && step <= DRILL_STEPS_MAX) {
		r = &sc->steps[step - 1];
		sc->used[step - 1] = true;
		if (strcmp(name, "after") == 0) {
			sc->after[step - 1] = (unsigned)strtoul(value, NULL, 10);
			return 1;
		}
	} else {
		fprintf(stderr, "%s: mục không hợp lệ [%s] / unknown section\n", sc->path, section);
		sc->errors++;
		return 1;
	}
	if (report_set(r, name, value, err, sizeof err) != 0) {
		fprintf(stderr, "%s: [%s] %s\n", sc->path, section, err);
		sc->errors++;
	}
	return 1;
}

/* Fills fields the step left empty from the scenario's common fields (strings and times only). */
static void apply_common(struct report *r, const struct report *common)
{
	char err[ERRBUF_MAX];
	for (size_t i = 0; i < report_field_count; i++) {
		const struct report_field *f = &report_fields[i];
		const char *base = (const char *)common + f->offset;
		char *mine = (char *)r + f->offset;
		if (f->type == RF_STR || f->type == RF_TEXT || f->type == RF_ENUM) {
			const char *v = *(char *const *)base;
			if (v != NULL && *(char **)mine == NULL)
				report_set(r, f->key, v, err, sizeof err);
		} else if ((f->type == RF_TIME || f->type == RF_UINT) &&
		           *(const uint64_t *)mine == 0) {
			*(uint64_t *)mine = *(const uint64_t *)base;
		}
	}
}

int drill_main(int argc, char **argv)
{
	static const struct option opts[] = {CLIENT_LONG_OPTIONS,
	                                     {"scenario", required_argument, NULL, 's'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct client cl;
	struct scenario *sc = xcalloc(1, sizeof *sc);
	const char *path = NULL;
	char err[ERRBUF_MAX];
	int c, rc = 2;
	client_init(&cl);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int handled = client_option(&cl, c, optarg);
		if (handled < 0)
			goto out;
		if (handled)
			continue;
		if (c == 's')
			path = optarg;
		else if (c == 'h') {
			fputs(DRILL_USAGE, stdout);
			rc = 0;
			goto out;
		} else {
			fputs(DRILL_USAGE, stderr);
			goto out;
		}
	}
	if (path == NULL || optind != argc) {
		fputs(DRILL_USAGE, stderr);
		goto out;
	}
	sc->path = path;
	int line = ini_parse(path, on_scenario, sc);
	if (line != 0 || sc->errors) {
		if (line != 0)
			fprintf(stderr, "%s:%d: kịch bản không hợp lệ / invalid scenario\n", path,
			        line > 0 ? line : 0);
		goto out;
	}
	if (client_load(&cl, true, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (sc->incident_id == NULL) {
		uint8_t rnd[3];
		char hex[7];
		randombytes_buf(rnd, sizeof rnd);
		hex_encode(hex, rnd, sizeof rnd);
		sc->incident_id = xasprintf("DT-%lld-%s", (long long)now_s(), hex);
	}
	size_t n = 0;
	for (size_t i = 0; i < DRILL_STEPS_MAX; i++) {
		if (!sc->used[i])
			continue;
		struct report *r = &sc->steps[i];
		apply_common(r, &sc->common);
		r->drill = true;
		free(r->incident_id);
		r->incident_id = xstrdup(sc->incident_id);
		if (r->created == 0)
			r->created = (uint64_t)now_s();
		if (r->severity == NULL)
			r->severity = xstrdup("normal");
		if (report_validate(r, err, sizeof err) != 0) {
			fprintf(stderr, "%s: [step %zu]: %s\n", path, i + 1, err);
			goto out;
		}
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "%s: không có [step N] nào / no steps\n", path);
		goto out;
	}
	printf("DIỄN TẬP / DRILL: sự cố / incident %s, %zu báo cáo / reports\n", sc->incident_id,
	       n);
	rc = 0;
	for (size_t i = 0; i < DRILL_STEPS_MAX; i++) {
		if (!sc->used[i])
			continue;
		if (sc->after[i] > 0) {
			printf("  ... chờ / waiting %u s\n", sc->after[i]);
			fflush(stdout);
			sleep(sc->after[i]);
		}
		printf("Bước / step %zu: %s\n", i + 1, report_kind_labels_vi[sc->steps[i].kind]);
		int r = report_file(&cl, &sc->steps[i], false, NULL);
		if (r != 0) {
			rc = r;
			break;
		}
	}
	if (rc == 0)
		printf("Xong / done. Kết quả / results: incident drill-report --incident %s\n",
		       sc->incident_id);
out:
	for (size_t i = 0; i < DRILL_STEPS_MAX; i++)
		report_clear(&sc->steps[i]);
	report_clear(&sc->common);
	free(sc->incident_id);
	free(sc);
	client_free(&cl);
	return rc;
}

static const char REPORT_USAGE[] =
    "Cách dùng / usage: incident drill-report --incident MÃ-SỰ-CỐ [TÙY CHỌN]\n"
    "\n"
    "Kết quả diễn tập: thời gian mỗi người nhận nhận được và xác nhận, theo từng kênh.\n"
    "Drill results: each recipient's time to receive and to acknowledge, per channel.\n"
    "\n" CLIENT_OPTIONS_HELP "  --help             trợ giúp này / this help\n";

/* GET path signed by the agency; the parsed JSON (caller puts it) or NULL with a message. */
static struct json_object *signed_get(struct client *cl, const char *path)
{
	struct http_reply r;
	client_get(cl, path, 0, &r);
	struct json_object *j = NULL;
	if (r.status == 200)
		j = json_tokener_parse((const char *)r.body);
	else
		fprintf(stderr, "%s: HTTP %ld %s\n", path, r.status,
		        r.status ? (const char *)r.body : r.error);
	http_reply_clear(&r);
	return j;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int drill_report_main(int argc, char **argv)
{
	static const struct option opts[] = {CLIENT_LONG_OPTIONS,
	                                     {"incident", required_argument, NULL, 'i'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct client cl;
	const char *incident = NULL;
	char err[ERRBUF_MAX];
	int c, rc = 2;
	client_init(&cl);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int handled = client_option(&cl, c, optarg);
		if (handled < 0)
			goto out;
		if (handled)
			continue;
		if (c == 'i')
			incident = optarg;
		else if (c == 'h') {
			fputs(REPORT_USAGE, stdout);
			rc = 0;
			goto out;
		} else {
			fputs(REPORT_USAGE, stderr);
			goto out;
		}
	}
	if (incident == NULL || optind != argc || strlen(incident) > 64 ||
	    strspn(incident, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") !=
	        strlen(incident)) {
		fputs(REPORT_USAGE, stderr);
		goto out;
	}
	if (client_load(&cl, true, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	char *path = xasprintf("/v1/incidents/%s", incident);
	struct json_object *timeline = signed_get(&cl, path), *reports, *v;
	free(path);
	if (timeline == NULL) {
		rc = 1;
		goto out;
	}
	bool drill = json_object_object_get_ex(timeline, "drill", &v) && json_object_get_boolean(v);
	printf("%s sự cố / incident %s\n",
	       drill ? "DIỄN TẬP / DRILL:" : "(không phải diễn tập / not a drill)", incident);
	printf("  %-34s %-18s %-8s %14s %16s\n", "báo cáo / report", "người nhận / rcpt", "kênh",
	       "nhận / receive", "xác nhận / ack");
	int64_t *recv[3], *acks[3];
	size_t nrecv[3] = {0}, nack[3] = {0}, missing_ack[3] = {0};
	static const char *const chans[3] = {"email", "sms", "webhook"};
	for (int k = 0; k < 3; k++) {
		recv[k] = xcalloc(4096, sizeof(int64_t));
		acks[k] = xcalloc(4096, sizeof(int64_t));
	}
	json_object_object_get_ex(timeline, "reports", &reports);
	for (size_t i = 0; reports && i < json_object_array_length(reports); i++) {
		struct json_object *rep = json_object_array_get_idx(reports, i), *w, *list;
		const char *rid = json_object_object_get_ex(rep, "report_id", &w)
		                      ? json_object_get_string(w)
		                      : "";
		int64_t received = json_object_object_get_ex(rep, "received_ms", &w)
		                       ? json_object_get_int64(w)
		                       : 0;
		char *rp = xasprintf("/v1/reports/%s", rid);
		struct json_object *st = signed_get(&cl, rp);
		free(rp);
		if (st == NULL || !json_object_object_get_ex(st, "deliveries", &list)) {
			json_object_put(st);
			continue;
		}
		for (size_t j = 0; j < json_object_array_length(list); j++) {
			struct json_object *job = json_object_array_get_idx(list, j), *h, *x;
			const char *ch = json_object_object_get_ex(job, "channel", &x)
			                     ? json_object_get_string(x)
			                     : "";
			int k = !strcmp(ch, "email") ? 0 : !strcmp(ch, "sms") ? 1 : 2;
			int64_t delivered = 0;
			if (json_object_object_get_ex(job, "history", &h))
				for (size_t q = 0; q < json_object_array_length(h); q++) {
					struct json_object *e = json_object_array_get_idx(h, q), *y;
					if (json_object_object_get_ex(e, "outcome", &y) &&
					    !strcmp(json_object_get_string(y), "delivered")) {
						json_object_object_get_ex(e, "at_ms", &y);
						delivered = json_object_get_int64(y);
						break;
					}
				}
			int64_t acked = json_object_object_get_ex(job, "acked_ms", &x)
			                    ? json_object_get_int64(x)
			                    : 0;
			char rbuf[32] = "-", abuf[32] = "-";
			if (delivered) {
				snprintf(rbuf, sizeof rbuf, "%.3f s",
				         (double)(delivered - received) / 1000.0);
				if (nrecv[k] < 4096)
					recv[k][nrecv[k]++] = delivered - received;
			}
			if (acked) {
				snprintf(abuf, sizeof abuf, "%.1f s",
				         (double)(acked - received) / 1000.0);
				if (nack[k] < 4096)
					acks[k][nack[k]++] = acked - received;
			} else {
				missing_ack[k]++;
			}
			printf("  %-34s %-18s %-8s %14s %16s\n", rid,
			       json_object_object_get_ex(job, "recipient", &x)
			           ? json_object_get_string(x)
			           : "",
			       ch, rbuf, abuf);
		}
		json_object_put(st);
	}
	printf("\n  Theo kênh / per channel:   nhận trung vị / median receive, chậm nhất / max;"
	       " xác nhận trung vị / median ack, chưa xác nhận / not acknowledged\n");
	for (int k = 0; k < 3; k++) {
		if (nrecv[k] == 0 && missing_ack[k] == 0)
			continue;
		qsort(recv[k], nrecv[k], sizeof(int64_t), cmp_i64);
		qsort(acks[k], nack[k], sizeof(int64_t), cmp_i64);
		printf("  %-8s nhận / received %zu: %.3f s, %.3f s;  xác nhận / acknowledged %zu: "
		       "%s%.1f s; chưa / missing %zu\n",
		       chans[k], nrecv[k], nrecv[k] ? (double)recv[k][nrecv[k] / 2] / 1000.0 : 0.0,
		       nrecv[k] ? (double)recv[k][nrecv[k] - 1] / 1000.0 : 0.0, nack[k],
		       nack[k] ? "" : "-", nack[k] ? (double)acks[k][nack[k] / 2] / 1000.0 : 0.0,
		       missing_ack[k]);
	}
	for (int k = 0; k < 3; k++) {
		free(recv[k]);
		free(acks[k]);
	}
	json_object_put(timeline);
	rc = 0;
out:
	client_free(&cl);
	return rc;
}
