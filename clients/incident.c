/* incident.c: the `incident` tool: one subcommand per task, dispatched from a table. */
#include "subcommands.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} subcommands[] = {
    {"keygen", keygen_main, "tạo cặp khóa / make a keypair"},
    {"report", report_main, "lập và gửi báo cáo sự cố / file an incident report"},
    {"status", status_main, "tình trạng một báo cáo / where a report stands"},
    {"registry", registry_main, "quản lý sổ đăng ký đơn vị / manage the agency registry"},
    {"drill", drill_main, "chạy kịch bản diễn tập / run a drill scenario"},
    {"drill-report", drill_report_main, "kết quả diễn tập theo người nhận, kênh / drill results"},
    {"verify", verify_main, "kiểm tra một thông báo nhận được / check a notification received"},
    {"open", open_main, "giải mã và đọc một thông báo / decrypt and read a notification"},
    {"ack", ack_main, "xác nhận đã nhận thông báo / acknowledge a notification"},
    {"serve", serve_main,
     "nhận thông báo qua HTTPS webhook / receive notifications by HTTPS webhook"},
    {"summary", summary_main,
     "báo cáo tổng hợp Mẫu 05 (6 tháng / năm) / the Mẫu 05 periodic summary"},
    {"audit", audit_main, "kiểm tra nhật ký minh bạch / verify the transparency log"},
};

static void usage(FILE *f)
{
	fprintf(f, "Cách dùng / usage: incident LỆNH [TÙY CHỌN]   (incident LỆNH --help)\n\n"
	           "Công cụ báo cáo sự cố an toàn thông tin mạng / incident reporting tool.\n\n");
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(f, "\nMã thoát / exit codes: 0 thành công / success, 1 bị từ chối hoặc kiểm tra "
	           "không đạt /\n"
	           "refused or verification failed, 2 lỗi sử dụng hoặc hệ thống / usage or system "
	           "error.\n");
}

int main(int argc, char **argv)
{
	log_set_prefix("incident");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc >= 3)
			for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
				if (strcmp(argv[2], subcommands[i].name) == 0) {
					char *args[] = {argv[2], (char *)"--help", NULL};
					if (sodium_init() < 0)
						return 2;
					return subcommands[i].fn(2, args);
				}
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		if (strcmp(argv[1], subcommands[i].name) == 0) {
			if (sodium_init() < 0) {
				fprintf(stderr, "libsodium init failed\n");
				return 2;
			}
			return subcommands[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "lệnh không biết / unknown command: %s\n", argv[1]);
	usage(stderr);
	return 2;
}
