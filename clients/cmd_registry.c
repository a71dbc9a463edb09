/* cmd_registry.c: `incident registry`: enrol, list, revoke and rotate agency keys (administrators).
 */
#include "keyfile.h"
#include "registry.h"
#include "subcommands.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char USAGE[] =
    "Cách dùng / usage: incident registry LỆNH --registry TỆP [TÙY CHỌN]\n"
    "\n"
    "Quản lý sổ đăng ký đơn vị mà relay đọc (ghi nguyên tử; gửi SIGHUP cho relayd để áp dụng).\n"
    "Manages the agency registry the relay reads (written atomically; send relayd SIGHUP to "
    "apply).\n"
    "\n"
    "  add     --id ID --name TÊN --role VAI-TRÒ [--group XÃ] --pubkey TỆP --fingerprint MÃ-KHÓA\n"
    "          [--from YYYY-MM-DD] [--until YYYY-MM-DD]\n"
    "  list\n"
    "  revoke  --id ID [--fingerprint MÃ-KHÓA]   (cả đơn vị hoặc một khóa / whole agency or one "
    "key)\n"
    "  rotate  --id ID --pubkey TỆP --fingerprint MÃ-KHÓA   (khóa cũ hết hạn ngay / old keys end "
    "now)\n"
    "\n"
    "--fingerprint là mã khóa đọc qua kênh khác (điện thoại, công văn) để xác nhận khóa công "
    "khai.\n"
    "--fingerprint is the key id confirmed out of band (phone, letter) for the public key.\n"
    "Vai trò / roles: unit system_owner commune_office culture_society commune_police commune_irt\n"
    "national_centre provincial_irt provincial_police auditor\n"
    "Mã thoát / exit: 0 thành công / success, 1 từ chối / refused, 2 lỗi / error.\n";

static int parse_day(const char *s, int64_t *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *rest = strptime(s, "%Y-%m-%d", &tm);
	if (rest == NULL || *rest != '\0')
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int registry_main(int argc, char **argv)
{
	static const struct option opts[] = {{"registry", required_argument, NULL, 'r'},
	                                     {"id", required_argument, NULL, 'i'},
	                                     {"name", required_argument, NULL, 'n'},
	                                     {"role", required_argument, NULL, 'R'},
	                                     {"group", required_argument, NULL, 'g'},
	                                     {"pubkey", required_argument, NULL, 'p'},
	                                     {"fingerprint", required_argument, NULL, 'f'},
	                                     {"from", required_argument, NULL, 'F'},
	                                     {"until", required_argument, NULL, 'u'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *path = NULL, *id = NULL, *name = NULL, *role = "unit", *group = "",
	           *pubkey = NULL, *fp = NULL;
	int64_t from = now_s() - 86400, until = now_s() + 2 * 366 * 86400;
	int c;
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			fputs(USAGE, stdout);
			return 0;
		}
		fputs(USAGE, stderr);
		return 2;
	}
	const char *cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			path = optarg;
			break;
		case 'i':
			id = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'R':
			role = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'p':
			pubkey = optarg;
			break;
		case 'f':
			fp = optarg;
			break;
		case 'F':
		case 'u':
			if (parse_day(optarg, c == 'F' ? &from : &until) != 0) {
				fprintf(stderr, "ngày không hợp lệ / invalid date: %s\n", optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(USAGE, stdout);
			return 0;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		fputs(USAGE, stderr);
		return 2;
	}
	char err[4096];
	struct registry *reg = NULL;
	FILE *probe = fopen(path, "r");
	if (probe != NULL) {
		fclose(probe);
		reg = registry_load(path, err, sizeof err);
		if (reg == NULL) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
	} else if (strcmp(cmd, "add") == 0) {
		reg = registry_new();
	} else {
		fprintf(stderr, "%s: không có sổ đăng ký / no registry\n", path);
		return 2;
	}
	int rc = 1;
	uint8_t pk[KEY_PK_BYTES], kid[KEY_ID_BYTES];
	char kidhex[2 * KEY_ID_BYTES + 1];
	bool write = false;
	struct agency *a = id ? registry_find(reg, id) : NULL;
	if (strcmp(cmd, "list") == 0) {
		printf("%-28s %-20s %-14s %-8s %s\n", "ID", "VAI TRÒ / ROLE", "NHÓM / GROUP",
		       "THU HỒI", "TÊN / NAME");
		for (size_t i = 0; i < reg->count; i++) {
			const struct agency *x = &reg->agencies[i];
			printf("%-28s %-20s %-14s %-8s %s\n", x->id, x->role, x->group,
			       x->revoked ? "có/yes" : "-", x->name);
			for (size_t j = 0; j < x->key_count; j++) {
				char f[16], u[16];
				time_t tf = (time_t)x->keys[j].valid_from,
				       tu = (time_t)x->keys[j].valid_until;
				struct tm tm;
				gmtime_r(&tf, &tm);
				strftime(f, sizeof f, "%Y-%m-%d", &tm);
				gmtime_r(&tu, &tm);
				strftime(u, sizeof u, "%Y-%m-%d", &tm);
				hex_encode(kidhex, x->keys[j].kid, KEY_ID_BYTES);
				printf("    khóa / key %s  %s .. %s%s\n", kidhex, f, u,
				       x->keys[j].revoked ? "  THU HỒI / REVOKED" : "");
			}
		}
		rc = 0;
	} else if (strcmp(cmd, "add") == 0 || strcmp(cmd, "rotate") == 0) {
		if (id == NULL || pubkey == NULL || fp == NULL) {
			fputs(USAGE, stderr);
			rc = 2;
			goto out;
		}
		if (keyfile_read_public(pubkey, pk, kid, err, sizeof err) != 0) {
			fprintf(stderr, "%s\n", err);
			rc = 2;
			goto out;
		}
		hex_encode(kidhex, kid, KEY_ID_BYTES);
		if (strcmp(fp, kidhex) != 0) {
			fprintf(stderr,
			        "mã khóa không khớp: tệp có %s, bạn xác nhận %s; không ghi / "
			        "fingerprint mismatch: the file holds %s, you confirmed %s; "
			        "nothing written\n",
			        kidhex, fp, kidhex, fp);
			goto out;
		}
		for (size_t i = 0; i < reg->count; i++)
			for (size_t j = 0; j < reg->agencies[i].key_count; j++)
				if (memcmp(reg->agencies[i].keys[j].pk, pk, KEY_PK_BYTES) == 0) {
					fprintf(stderr,
					        "khóa đã được đăng ký cho %s / key already "
					        "registered to %s\n",
					        reg->agencies[i].id, reg->agencies[i].id);
					goto out;
				}
		if (strcmp(cmd, "add") == 0) {
			bool role_ok = false;
			for (const char *const *r = registry_roles; *r; r++)
				role_ok |= strcmp(*r, role) == 0;
			if (!role_ok) {
				fprintf(stderr, "vai trò không biết / unknown role: %s\n", role);
				goto out;
			}
			a = registry_add(reg, id, name ? name : id, role, group, err, sizeof err);
			if (a == NULL) {
				fprintf(stderr, "%s\n", err);
				goto out;
			}
		} else {
			if (a == NULL) {
				fprintf(stderr, "không có đơn vị / no such agency: %s\n", id);
				goto out;
			}
			for (size_t j = 0; j < a->key_count; j++)
				if (a->keys[j].valid_until > now_s())
					a->keys[j].valid_until = now_s();
			from = now_s() - 60;
		}
		agency_add_key(a, pk, from, until);
		write = true;
		printf("Đã %s %s, khóa / key %s\n",
		       strcmp(cmd, "add") == 0 ? "thêm / added" : "đổi khóa / rotated", id, kidhex);
	} else if (strcmp(cmd, "revoke") == 0) {
		if (a == NULL) {
			fprintf(stderr, "không có đơn vị / no such agency: %s\n",
			        id ? id : "(thiếu --id)");
			goto out;
		}
		if (fp == NULL) {
			a->revoked = true;
			write = true;
		} else {
			for (size_t j = 0; j < a->key_count; j++) {
				hex_encode(kidhex, a->keys[j].kid, KEY_ID_BYTES);
				if (strcmp(kidhex, fp) == 0) {
					a->keys[j].revoked = true;
					write = true;
				}
			}
			if (!write) {
				fprintf(stderr,
				        "đơn vị không có khóa này / agency has no such key: %s\n",
				        fp);
				goto out;
			}
		}
		printf("Đã thu hồi / revoked %s%s%s\n", id, fp ? " key " : "", fp ? fp : "");
	} else {
		fprintf(stderr, "lệnh không biết / unknown command: %s\n", cmd);
		fputs(USAGE, stderr);
		rc = 2;
		goto out;
	}
	if (write) {
		if (registry_save(reg, path, err, sizeof err) != 0) {
			fprintf(stderr, "%s\n", err);
			rc = 2;
			goto out;
		}
		printf("Gửi SIGHUP cho relayd để áp dụng / send relayd SIGHUP to apply\n");
		rc = 0;
	}
out:
	registry_free(reg);
	return rc;
}
