/* cmd_report.c: `incident report`: build a report (options, file or questions), sign, seal, send.
 */
#include "client.h"
#include "outbox.h"
#include "report.h"
#include "subcommands.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "Cách dùng / usage: incident report [TÙY CHỌN] [--TRƯỜNG GIÁ-TRỊ ...]\n"
	           "       incident report --flush\n"
	           "\n"
	           "Lập báo cáo sự cố, ký bằng khóa của đơn vị, niêm phong cho relay và gửi đi; in "
	           "biên nhận.\n"
	           "Files an incident report: signs it with the agency key, seals it to the relay, "
	           "sends it and\n"
	           "prints the signed receipt. Khi relay không liên lạc được, báo cáo nằm chờ "
	           "trong hàng chờ và\n"
	           "được gửi lại bằng --flush hoặc lần chạy sau / when the relay is unreachable "
	           "the report waits in\n"
	           "the outbox and is retried by --flush or the next run.\n"
	           "\n"
	           "  --kind LOẠI        notification | initial | update | response_plan | "
	           "support_request | closing\n"
	           "  --drill            đánh dấu diễn tập / mark as a drill (DIỄN TẬP)\n"
	           "  --file TỆP         đọc các trường \"khóa = giá trị\" từ tệp / read \"key = "
	           "value\" fields\n"
	           "  --flush            chỉ gửi lại hàng chờ / only retry the outbox\n"
	           "  --no-input         không hỏi khi thiếu trường / never ask for missing "
	           "fields\n" CLIENT_OPTIONS_HELP "  --help             trợ giúp này / this help\n"
	           "\nCác trường / fields (--tên-trường GIÁ-TRỊ; thời gian YYYY-MM-DD HH:MM giờ "
	           "Việt Nam hoặc Unix):\n");
	for (size_t i = 0; i < report_field_count; i++) {
		char name[64];
		snprintf(name, sizeof name, "%s", report_fields[i].key);
		for (char *p = name; *p; p++)
			if (*p == '_')
				*p = '-';
		fprintf(f, "  --%-20s %s / %s\n", name, report_fields[i].label_vi,
		        report_fields[i].label_en);
	}
	fprintf(f, "\nLoại sự cố / categories:");
	for (const char *const *c = report_categories; *c; c++)
		fprintf(f, " %s", *c);
	fprintf(f, "\nMã thoát / exit: 0 đã nhận / accepted, 1 bị từ chối / refused, 2 lỗi hoặc "
	           "đang chờ gửi lại /\n"
	           "error or waiting in the outbox\n");
}

static int load_file(struct report *r, const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "%s: không mở được / cannot open\n", path);
		return -1;
	}
	char line[REPORT_TEXT_MAX + 128], err[ERRBUF_MAX];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		char *eq = strchr(p, '=');
		if (eq == NULL) {
			fprintf(stderr,
			        "%s:%d: cần \"khóa = giá trị\" / expected \"key = value\"\n", path,
			        lineno);
			rc = -1;
			continue;
		}
		char *end = eq;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*end = '\0';
		char *value = eq + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		/* "\n" in a value stands for a line break in multi-line text. */
		for (char *s = value, *d = value;; s++, d++) {
			if (s[0] == '\\' && s[1] == 'n') {
				*d = '\n';
				s++;
			} else {
				*d = *s;
			}
			if (*s == '\0')
				break;
		}
		if (report_set(r, p, value, err, sizeof err) != 0) {
			fprintf(stderr, "%s:%d: %s\n", path, lineno, err);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}

static bool field_missing(const struct report *r, const struct report_field *f)
{
	const char *base = (const char *)r + f->offset;
	switch (f->type) {
	case RF_TIME:
	case RF_UINT:
		return *(const uint64_t *)base == 0;
	case RF_LIST:
		return ((const struct strlist *)base)->count == 0;
	case RF_BOOL:
		return false;
	default:
		return *(char *const *)base == NULL || **(char *const *)base == '\0';
	}
}

/* Asks for each mandatory field still missing, in Vietnamese first. */
static int ask_missing(struct report *r)
{
	char line[REPORT_TEXT_MAX], err[ERRBUF_MAX];
	fprintf(stderr, "Điền các thông tin bắt buộc / fill in the mandatory fields (%s):\n",
	        report_kind_labels_vi[r->kind]);
	for (size_t i = 0; i < report_field_count; i++) {
		const struct report_field *f = &report_fields[i];
		if (!(f->required_mask & (1u << r->kind)) || !field_missing(r, f))
			continue;
		for (;;) {
			fprintf(stderr, "  %s (%s)", f->label_vi, f->label_en);
			if (f->choices != NULL) {
				fprintf(stderr, " [");
				for (const char *const *c = f->choices; *c; c++)
					fprintf(stderr, "%s%s", c == f->choices ? "" : "/", *c);
				fprintf(stderr, "]");
			}
			if (f->type == RF_TIME)
				fprintf(stderr, " [YYYY-MM-DD HH:MM]");
			fprintf(stderr, ": ");
			if (fgets(line, sizeof line, stdin) == NULL)
				return -1;
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] == '\0')
				continue;
			if (report_set(r, f->key, line, err, sizeof err) == 0)
				break;
			fprintf(stderr, "    %s\n", err);
		}
	}
	return 0;
}

static char *new_incident_id(void)
{
	uint8_t rnd[4];
	char hex[9], day[16];
	time_t t = time(NULL) + 7 * 3600;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(day, sizeof day, "%Y%m%d", &tm);
	randombytes_buf(rnd, sizeof rnd);
	hex_encode(hex, rnd, sizeof rnd);
	return xasprintf("SC-%s-%s", day, hex);
}

int report_file(struct client *cl, const struct report *r, bool relay_down,
                char id_out[REPORT_ID_CHARS + 1])
{
	char err[ERRBUF_MAX];
	uint8_t *bytes = NULL, *env = NULL;
	size_t len = 0, env_len = 0;
	if (report_encode(r, &bytes, &len, err, sizeof err) != 0 ||
	    envelope_create(cl->kp, cl->agency, cl->relay_xpk, bytes, len, (uint64_t)now_s(), &env,
	                    &env_len, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		free(bytes);
		return 2;
	}
	struct envelope e;
	uint8_t hash[WIRE_HASH_BYTES];
	char id[REPORT_ID_CHARS + 1], final_id[REPORT_ID_CHARS + 1], reason[1024];
	envelope_decode(env, env_len, &e, err, sizeof err);
	envelope_hash(&e, hash);
	envelope_clear(&e);
	report_id_from_hash(hash, id);
	int put = outbox_put(cl->outbox, id, env, env_len, bytes, len, err, sizeof err);
	sodium_memzero(bytes, len);
	free(bytes);
	free(env);
	if (put != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (id_out != NULL)
		memcpy(id_out, id, REPORT_ID_CHARS + 1);
	printf("Mã báo cáo / report id: %s (sự cố / incident %s)%s\n", id, r->incident_id,
	       r->drill ? " [DIỄN TẬP / drill]" : "");
	if (relay_down) {
		printf("Relay chưa liên lạc được; báo cáo đã lưu trong hàng chờ %s / relay "
		       "unreachable; the report is kept in the outbox.\n"
		       "Gửi lại / retry: incident report --flush\n",
		       cl->outbox);
		return 2;
	}
	struct receipt receipt;
	switch (outbox_send(cl, id, &receipt, final_id, reason, sizeof reason)) {
	case SUBMIT_ACCEPTED:
		if (id_out != NULL)
			memcpy(id_out, final_id, REPORT_ID_CHARS + 1);
		receipt_print(&receipt);
		return 0;
	case SUBMIT_REJECTED:
		fprintf(stderr, "Relay từ chối báo cáo / the relay refused the report: %s\n",
		        reason);
		return 1;
	case SUBMIT_LATER:
	default:
		fprintf(stderr, "%s\n", reason);
		printf("Báo cáo đã lưu trong hàng chờ %s / the report is kept in the outbox.\n"
		       "Gửi lại / retry: incident report --flush\n",
		       cl->outbox);
		return 2;
	}
}

int report_main(int argc, char **argv)
{
	size_t nopts = report_field_count + 16;
	struct option *opts = xcalloc(nopts, sizeof *opts);
	char **names = xcalloc(report_field_count, sizeof *names);
	size_t k = 0;
	struct option fixed[] = {{"kind", required_argument, NULL, 'k'},
	                         {"drill", no_argument, NULL, 'd'},
	                         {"file", required_argument, NULL, 'f'},
	                         {"flush", no_argument, NULL, 'F'},
	                         {"no-input", no_argument, NULL, 'n'},
	                         {"help", no_argument, NULL, 'h'},
	                         CLIENT_LONG_OPTIONS};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		opts[k++] = fixed[i];
	for (size_t i = 0; i < report_field_count; i++) {
		names[i] = xstrdup(report_fields[i].key);
		for (char *p = names[i]; *p; p++)
			if (*p == '_')
				*p = '-';
		opts[k++] = (struct option){names[i], required_argument, NULL, 0x200 + (int)i};
	}

	struct client cl;
	struct report r;
	char err[ERRBUF_MAX];
	bool flush_only = false, no_input = false;
	int rc = 2, c;
	client_init(&cl);
	report_init(&r);
	r.kind = REPORT_NOTIFICATION;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c >= 0x200) {
			if (report_set(&r, report_fields[c - 0x200].key, optarg, err, sizeof err) !=
			    0) {
				fprintf(stderr, "%s\n", err);
				goto out;
			}
			continue;
		}
		int handled = client_option(&cl, c, optarg);
		if (handled < 0)
			goto out;
		if (handled)
			continue;
		switch (c) {
		case 'k':
			if (report_set(&r, "kind", optarg, err, sizeof err) != 0) {
				fprintf(stderr, "%s\n", err);
				goto out;
			}
			break;
		case 'd':
			r.drill = true;
			break;
		case 'f':
			if (load_file(&r, optarg) != 0)
				goto out;
			break;
		case 'F':
			flush_only = true;
			break;
		case 'n':
			no_input = true;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind != argc) {
		usage(stderr);
		goto out;
	}
	if (client_load(&cl, true, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	unsigned sent, waiting, rejected;
	outbox_flush(&cl, &sent, &waiting, &rejected);
	if (flush_only) {
		printf("Hàng chờ / outbox: %u đã gửi / sent, %u đang chờ / waiting, %u bị từ chối "
		       "/ refused\n",
		       sent, waiting, rejected);
		rc = waiting ? 2 : rejected ? 1 : 0;
		goto out;
	}

	if (r.created == 0)
		r.created = (uint64_t)now_s();
	if (r.severity == NULL)
		r.severity = xstrdup("normal");
	if (r.incident_id == NULL && (r.kind == REPORT_NOTIFICATION || r.kind == REPORT_INITIAL))
		r.incident_id = new_incident_id();
	if (report_validate(&r, err, sizeof err) != 0) {
		if (no_input || !isatty(STDIN_FILENO)) {
			fprintf(stderr, "Báo cáo chưa đủ / report incomplete: %s\n", err);
			goto out;
		}
		if (ask_missing(&r) != 0 || report_validate(&r, err, sizeof err) != 0) {
			fprintf(stderr, "Báo cáo chưa đủ / report incomplete: %s\n", err);
			goto out;
		}
	}
	rc = report_file(&cl, &r, waiting > 0, NULL);
out:
	report_clear(&r);
	client_free(&cl);
	for (size_t i = 0; i < report_field_count; i++)
		free(names[i]);
	free(names);
	free(opts);
	return rc;
}
