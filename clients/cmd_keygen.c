/* cmd_keygen.c: `incident keygen`: a new Ed25519 keypair for an agency or for the relay. */
#include "client.h"
#include "keyfile.h"
#include "subcommands.h"
#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char USAGE[] =
    "Cách dùng / usage: incident keygen --out TIỀN-TỐ [--comment CHỮ] [--no-passphrase] [--force]\n"
    "\n"
    "Tạo cặp khóa Ed25519 (X25519 dẫn xuất để niêm phong) cho một đơn vị hoặc cho relay.\n"
    "Makes an Ed25519 keypair (X25519 derived for sealing) for an agency or the relay.\n"
    "Ghi / writes TIỀN-TỐ.sec (0600, không ghi đè nếu thiếu --force / never overwritten without\n"
    "--force) và / and TIỀN-TỐ.pub, in mã khóa / prints the key id.\n"
    "\n"
    "  --out TIỀN-TỐ     đường dẫn không có đuôi / path without extension\n"
    "  --comment CHỮ     ghi chú trong tệp khóa công khai / comment in the public key file\n"
    "  --no-passphrase   không bảo vệ bằng mật khẩu / no passphrase (mặc định khi không có "
    "terminal\n"
    "                    và không có TBSC_PASSPHRASE / default without a terminal and "
    "TBSC_PASSPHRASE)\n"
    "  --force           ghi đè khóa cũ / overwrite existing keys\n"
    "  --help            trợ giúp này / this help\n"
    "\n"
    "Mật khẩu / passphrase: TBSC_PASSPHRASE hoặc hỏi tại terminal / or asked at the terminal\n"
    "(Argon2id). Mã thoát / exit: 0 thành công / success, 2 lỗi / error.\n";

int keygen_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},     {"comment", required_argument, NULL, 'c'},
	    {"no-passphrase", no_argument, NULL, 'n'}, {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
	const char *out = NULL, *comment = NULL;
	bool no_pass = false, force = false;
	int c;
	while ((c = getopt_long(argc, argv, "o:c:nfh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'c':
			comment = optarg;
			break;
		case 'n':
			no_pass = true;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			fputs(USAGE, stdout);
			return 0;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (out == NULL || optind != argc) {
		fputs(USAGE, stderr);
		return 2;
	}
	char *pass =
	    no_pass
	        ? NULL
	        : client_passphrase(
	              "Mật khẩu mới (để trống: không dùng) / new passphrase (empty: none)", true);
	struct keypair *kp = keypair_generate();
	char *sec = xasprintf("%s.sec", out), *pub = xasprintf("%s.pub", out);
	char err[ERRBUF_MAX], kid[2 * KEY_ID_BYTES + 1];
	int rc = 2;
	if (keyfile_write_secret(sec, kp, pass, force, err, sizeof err) != 0 ||
	    keyfile_write_public(pub, kp, comment, force, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	hex_encode(kid, kp->kid, KEY_ID_BYTES);
	char *line = keyfile_public_line(kp->pk);
	printf("Mã khóa / key id: %s\nKhóa bí mật / secret key: %s%s\nKhóa công khai / public key: "
	       "%s\n%s\n",
	       kid, sec, pass ? " (có mật khẩu / passphrase-protected)" : "", pub, line);
	free(line);
	rc = 0;
out:
	if (pass != NULL) {
		sodium_memzero(pass, strlen(pass));
		free(pass);
	}
	keypair_free(kp);
	free(sec);
	free(pub);
	return rc;
}
