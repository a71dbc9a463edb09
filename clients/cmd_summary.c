/* cmd_summary.c: `incident summary`: the relay-signed Mẫu 05 summary, fetched or checked. */
#include "client.h"
#include "httpc.h"
#include "subcommands.h"
#include "summary.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SUMMARY_FILE_MAX (16 * 1024 * 1024)
#define FETCH_ATTEMPTS   3

static const char USAGE[] =
    "Cách dùng / usage:\n"
    "  incident summary --period KỲ [--group NHÓM] [--out TIỀN-TỐ] [TÙY CHỌN]\n"
    "  incident summary --verify TIỀN-TỐ --relay-key TỆP\n"
    "\n"
    "Lấy báo cáo tổng hợp Mẫu 05 (TT 20/2017: số sự cố theo mười loại tấn công, cách xử lý, thiệt "
    "hại,\n"
    "tổ chức hỗ trợ) từ relay: bảng CSV, văn bản HTML để in và chữ ký của relay. Kiểm tra chữ ký "
    "trên\n"
    "từng tệp, lưu TIỀN-TỐ.csv, TIỀN-TỐ.html, TIỀN-TỐ.sig và in bảng. Với --verify: kiểm tra các "
    "tệp đã\n"
    "nhận, không cần mạng.\n"
    "Fetches the Mẫu 05 periodic summary from the relay as CSV, printable HTML and the relay's\n"
    "signature, checks the signature over each, writes PREFIX.csv/.html/.sig and prints the "
    "table.\n"
    "--verify checks received files offline.\n"
    "\n"
    "  --period KỲ        2026H1 (tháng 1-6), 2026H2 (tháng 7-12), 2026 (cả năm) / the period\n"
    "  --group NHÓM       xã/nhóm hoặc mã một đơn vị (mặc định: nhóm của đơn vị mình) /\n"
    "                     a group or one agency (default: your own group)\n"
    "  --out TIỀN-TỐ      tên tệp không có đuôi (mặc định mau05-KỲ-PHẠM-VI) / output prefix\n"
    "  --verify TIỀN-TỐ   kiểm tra TIỀN-TỐ.sig với TIỀN-TỐ.csv và TIỀN-TỐ.html / check "
    "offline\n" CLIENT_OPTIONS_HELP "  --help             trợ giúp này / this help\n"
    "\nHạn nộp / deadlines (TT 20/2017 Điều 6): báo cáo 6 tháng trước ngày 20/6, báo cáo năm "
    "trước\n"
    "ngày 15/12 / the 6-monthly report before 20 June, the annual one before 15 December.\n"
    "Mã thoát / exit: 0 hợp lệ / valid, 1 bị từ chối hoặc chữ ký không khớp / refused or not "
    "valid,\n"
    "2 lỗi / error.\n";

static void print_as_of(int64_t ms)
{
	time_t t = (time_t)(ms / 1000 + 7 * 3600);
	struct tm tm;
	char when[32];
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%d/%m/%Y %H:%M:%S", &tm);
	printf("  Số liệu tính đến / data as of:   %s (UTC+7)\n", when);
}

static void print_note(const struct summary_note *n)
{
	printf("  Kỳ / period:                     %s\n", n->period);
	printf("  Phạm vi / scope:                 %s\n", n->scope);
	print_as_of(n->as_of_ms);
}

/* Prints the table read back from a verified CSV. */
static void print_table(const char *csv, size_t len)
{
	struct summary *s;
	char err[ERRBUF_MAX], *text;
	if (summary_parse_csv(csv, len, &s, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	summary_render_text(s, &text);
	printf("\n%s", text);
	free(text);
	summary_free(s);
}

/* GET /v1/summary?query signed by the agency; 0 with a 200 reply, else the exit code (reply
 * cleared). */
static int fetch(const struct client *cl, const char *query, struct http_reply *r)
{
	char *path = xasprintf("/v1/summary?%s", query);
	client_get(cl, path, 0, r);
	free(path);
	if (r->status == 200)
		return 0;
	int rc = 2;
	if (r->status == 0) {
		fprintf(stderr, "không liên lạc được relay / relay unreachable: %s\n", r->error);
	} else {
		char *why = json_member((const char *)r->body, "reason");
		fprintf(stderr, "HTTP %ld: %s\n", r->status, why ? why : (const char *)r->body);
		free(why);
		rc = r->status == 401 || r->status == 403 || r->status == 404 ? 1 : 2;
	}
	http_reply_clear(r);
	return rc;
}

static char *default_prefix(const struct summary_note *n)
{
	char *p =
	    xasprintf("mau05-%s-%s", n->period, strcmp(n->scope, "*") == 0 ? "all" : n->scope);
	for (char *c = p; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789.-_H", *c))
			*c = '-';
	return p;
}

static int write_file(const char *prefix, const char *ext, const uint8_t *data, size_t len)
{
	char err[ERRBUF_MAX];
	char *path = xasprintf("%s.%s", prefix, ext);
	int rc = file_write_atomic(path, data, len, 0644, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	else
		printf("  Đã ghi / wrote:                  %s\n", path);
	free(path);
	return rc;
}

static int fetch_summary(struct client *cl, const char *period, const char *group,
                         const char *prefix)
{
	char err[ERRBUF_MAX];
	struct http_reply sig, csv, html;
	struct summary_note note;
	char *base = xasprintf("period=%s&format=%%s%s%s", period, group ? "&group=" : "",
	                       group ? group : "");
	int rc = 2;
	memset(&sig, 0, sizeof sig);
	memset(&csv, 0, sizeof csv);
	memset(&html, 0, sizeof html);
	/*
	 * The signature first: it names the snapshot (as-of) that the CSV and HTML are then asked
	 * for, so all three describe the same data. A report committed while we ask can still make
	 * them differ once; then ask again.
	 */
	for (int attempt = 1; attempt <= FETCH_ATTEMPTS; attempt++) {
		http_reply_clear(&sig);
		http_reply_clear(&csv);
		http_reply_clear(&html);
		char *q = xasprintf(base, "sig");
		rc = fetch(cl, q, &sig);
		free(q);
		if (rc != 0)
			goto out;
		if (summary_verify((const char *)sig.body, sig.len, cl->relay_pk, NULL, NULL, 0,
		                   &note, err, sizeof err) != 0) {
			fprintf(stderr,
			        "chữ ký của relay không hợp lệ / the relay's signature is not "
			        "valid: %s\n",
			        err);
			rc = 1;
			goto out;
		}
		if (strcmp(note.period, period) != 0 ||
		    (group != NULL && strcmp(note.scope, group) != 0)) {
			fprintf(stderr, "chữ ký nói về kỳ/phạm vi khác / the signature is for "
			                "another period or scope\n");
			rc = 1;
			goto out;
		}
		char *fmt = xasprintf("%s&as_of=%lld", base, (long long)note.as_of_ms);
		q = xasprintf(fmt, "csv");
		rc = fetch(cl, q, &csv);
		free(q);
		if (rc == 0) {
			q = xasprintf(fmt, "html");
			rc = fetch(cl, q, &html);
			free(q);
		}
		free(fmt);
		if (rc != 0)
			goto out;
		bool csv_ok = summary_verify((const char *)sig.body, sig.len, cl->relay_pk, "csv",
		                             csv.body, csv.len, NULL, err, sizeof err) == 0;
		bool html_ok =
		    csv_ok && summary_verify((const char *)sig.body, sig.len, cl->relay_pk, "html",
		                             html.body, html.len, NULL, err, sizeof err) == 0;
		if (csv_ok && html_ok)
			break;
		if (attempt == FETCH_ATTEMPTS) {
			fprintf(stderr, "%s\n", err);
			rc = 1;
			goto out;
		}
	}
	printf("Báo cáo tổng hợp Mẫu 05 — chữ ký của relay hợp lệ trên CSV và HTML /\n"
	       "Mẫu 05 summary — the relay's signature is valid over the CSV and the HTML\n");
	print_note(&note);
	char *own = prefix ? NULL : default_prefix(&note);
	const char *p = prefix ? prefix : own;
	rc = write_file(p, "csv", csv.body, csv.len) ||
	             write_file(p, "html", html.body, html.len) ||
	             write_file(p, "sig", sig.body, sig.len)
	         ? 2
	         : 0;
	free(own);
	if (rc == 0)
		print_table((const char *)csv.body, csv.len);
out:
	http_reply_clear(&sig);
	http_reply_clear(&csv);
	http_reply_clear(&html);
	free(base);
	return rc;
}

/* --verify PREFIX: the signature, then each of PREFIX.csv and PREFIX.html that is present. */
static int verify_files(const struct client *cl, const char *prefix)
{
	char err[ERRBUF_MAX];
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	struct summary_note note;
	char *path = xasprintf("%s.sig", prefix);
	int rc = 2;
	if (file_read_all(path, SUMMARY_FILE_MAX, &sig, &sig_len, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (summary_verify((const char *)sig, sig_len, cl->relay_pk, NULL, NULL, 0, &note, err,
	                   sizeof err) != 0) {
		printf("KHÔNG HỢP LỆ / NOT VALID: %s: %s\n", path, err);
		rc = 1;
		goto out;
	}
	printf("Chữ ký của relay hợp lệ / the relay's signature is valid: %s\n", path);
	print_note(&note);
	static const char *const formats[] = {"csv", "html"};
	int checked = 0, bad = 0;
	uint8_t *csv = NULL;
	size_t csv_len = 0;
	for (size_t i = 0; i < 2; i++) {
		free(path);
		path = xasprintf("%s.%s", prefix, formats[i]);
		uint8_t *data = NULL;
		size_t len = 0;
		if (access(path, F_OK) != 0 && errno == ENOENT) {
			printf("  %-32s không có / absent\n", path);
			continue;
		}
		if (file_read_all(path, SUMMARY_FILE_MAX, &data, &len, err, sizeof err) != 0) {
			fprintf(stderr, "%s\n", err);
			bad++;
			continue;
		}
		checked++;
		if (summary_verify((const char *)sig, sig_len, cl->relay_pk, formats[i], data, len,
		                   NULL, err, sizeof err) == 0) {
			printf("  %-32s hợp lệ / valid\n", path);
			if (i == 0) {
				csv = data;
				csv_len = len;
				data = NULL;
			}
		} else {
			printf("  %-32s KHÔNG HỢP LỆ / NOT VALID: %s\n", path, err);
			bad++;
		}
		free(data);
	}
	if (checked == 0 && bad == 0) {
		fprintf(stderr,
		        "không có tệp .csv hay .html nào để kiểm tra / neither %s.csv nor %s.html "
		        "exists\n",
		        prefix, prefix);
		rc = 2;
	} else {
		rc = bad ? 1 : 0;
	}
	if (csv != NULL)
		print_table((const char *)csv, csv_len);
	free(csv);
out:
	free(path);
	free(sig);
	return rc;
}

int summary_main(int argc, char **argv)
{
	static const struct option opts[] = {CLIENT_LONG_OPTIONS,
	                                     {"period", required_argument, NULL, 'p'},
	                                     {"group", required_argument, NULL, 'g'},
	                                     {"out", required_argument, NULL, 'o'},
	                                     {"verify", required_argument, NULL, 'v'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct client cl;
	const char *period = NULL, *group = NULL, *out = NULL, *verify = NULL;
	int c, rc = 2;
	char err[ERRBUF_MAX];
	client_init(&cl);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int handled = client_option(&cl, c, optarg);
		if (handled < 0)
			goto out;
		if (handled)
			continue;
		switch (c) {
		case 'p':
			period = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'v':
			verify = optarg;
			break;
		case 'h':
			fputs(USAGE, stdout);
			rc = 0;
			goto out;
		default:
			fputs(USAGE, stderr);
			goto out;
		}
	}
	if (optind != argc || (verify == NULL) == (period == NULL) ||
	    (verify != NULL && (group || out))) {
		fputs(USAGE, stderr);
		goto out;
	}
	int64_t from, until;
	if (period != NULL && summary_period(period, &from, &until) != 0) {
		fprintf(stderr,
		        "kỳ báo cáo phải là YYYYH1, YYYYH2 hoặc YYYY / the period is YYYYH1, "
		        "YYYYH2 or YYYY: %s\n",
		        period);
		goto out;
	}
	if (group != NULL && !registry_id_valid(group)) {
		fprintf(stderr, "nhóm không hợp lệ (a-z 0-9 . - _) / invalid group: %s\n", group);
		goto out;
	}
	if (client_load(&cl, verify == NULL, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	rc = verify != NULL ? verify_files(&cl, verify) : fetch_summary(&cl, period, group, out);
out:
	client_free(&cl);
	return rc;
}
