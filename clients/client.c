/* client.c: shared client options, key loading and passphrase prompts. */
#include "client.h"

#include "util.h"

#include <ini.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static void set(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

void client_init(struct client *cl)
{
	memset(cl, 0, sizeof *cl);
	const char *home = getenv("HOME");
	set(&cl->relay_url,
	    getenv("TBSC_RELAY_URL") ? getenv("TBSC_RELAY_URL") : "http://127.0.0.1:8470");
	set(&cl->agency, getenv("TBSC_AGENCY"));
	set(&cl->key_path, getenv("TBSC_KEY"));
	set(&cl->relay_key_path, getenv("TBSC_RELAY_KEY"));
	if (getenv("TBSC_OUTBOX") != NULL)
		set(&cl->outbox, getenv("TBSC_OUTBOX"));
	else {
		char *d = xasprintf("%s/.tbsc/outbox", home ? home : ".");
		set(&cl->outbox, d);
		free(d);
	}
	if (getenv("TBSC_CLIENT_CONFIG") != NULL)
		client_option(cl, 0x105, getenv("TBSC_CLIENT_CONFIG"));
}

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct client *cl = user;
	if (strcmp(section, "client") != 0)
		return 0;
	if (!strcmp(name, "relay"))
		set(&cl->relay_url, value);
	else if (!strcmp(name, "agency"))
		set(&cl->agency, value);
	else if (!strcmp(name, "key"))
		set(&cl->key_path, value);
	else if (!strcmp(name, "relay_key"))
		set(&cl->relay_key_path, value);
	else if (!strcmp(name, "outbox"))
		set(&cl->outbox, value);
	else
		return 0;
	return 1;
}

int client_option(struct client *cl, int opt, const char *arg)
{
	switch (opt) {
	case 0x100:
		set(&cl->relay_url, arg);
		return 1;
	case 0x101:
		set(&cl->agency, arg);
		return 1;
	case 0x102:
		set(&cl->key_path, arg);
		return 1;
	case 0x103:
		set(&cl->relay_key_path, arg);
		return 1;
	case 0x104:
		set(&cl->outbox, arg);
		return 1;
	case 0x105: {
		int rc = ini_parse(arg, on_ini, cl);
		if (rc != 0) {
			fprintf(
			    stderr,
			    "%s:%d: cấu hình client không hợp lệ / invalid client configuration\n",
			    arg, rc > 0 ? rc : 0);
			return -1;
		}
		return 1;
	}
	}
	return 0;
}

char *client_passphrase(const char *prompt, bool confirm)
{
	const char *env = getenv("TBSC_PASSPHRASE");
	if (env != NULL)
		return xstrdup(env);
	if (!isatty(STDIN_FILENO))
		return NULL;
	struct termios old, noecho;
	char a[256], b[256];
	tcgetattr(STDIN_FILENO, &old);
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &noecho);
	fprintf(stderr, "%s: ", prompt);
	char *r1 = fgets(a, sizeof a, stdin);
	fprintf(stderr, "\n");
	char *r2 = NULL;
	if (r1 != NULL && confirm) {
		fprintf(stderr, "Nhập lại / again: ");
		r2 = fgets(b, sizeof b, stdin);
		fprintf(stderr, "\n");
	}
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	if (r1 == NULL)
		return NULL;
	a[strcspn(a, "\r\n")] = '\0';
	if (confirm) {
		if (r2 == NULL)
			return NULL;
		b[strcspn(b, "\r\n")] = '\0';
		if (strcmp(a, b) != 0) {
			fprintf(stderr, "Hai mật khẩu không khớp / passphrases differ\n");
			sodium_memzero(a, sizeof a);
			sodium_memzero(b, sizeof b);
			return NULL;
		}
	}
	char *p = a[0] ? xstrdup(a) : NULL;
	sodium_memzero(a, sizeof a);
	sodium_memzero(b, sizeof b);
	return p;
}

int client_load(struct client *cl, bool need_agency_key, char *err, size_t errlen)
{
	if (cl->relay_key_path == NULL)
		return seterr(
		    err, errlen,
		    "thiếu --relay-key (khóa công khai của relay) / --relay-key is required");
	if (keyfile_read_public(cl->relay_key_path, cl->relay_pk, cl->relay_kid, err, errlen) != 0)
		return -1;
	if (crypto_sign_ed25519_pk_to_curve25519(cl->relay_xpk, cl->relay_pk) != 0)
		return seterr(err, errlen, "%s: khóa relay không hợp lệ / invalid relay key",
		              cl->relay_key_path);
	if (!need_agency_key)
		return 0;
	if (cl->agency == NULL || cl->key_path == NULL)
		return seterr(err, errlen,
		              "thiếu --agency hoặc --key / --agency and --key are required");
	char *pass = NULL;
	if (keyfile_is_protected(cl->key_path))
		pass = client_passphrase("Mật khẩu khóa / key passphrase", false);
	cl->kp = keyfile_read_secret(cl->key_path, pass, err, errlen);
	if (pass != NULL) {
		sodium_memzero(pass, strlen(pass));
		free(pass);
	}
	return cl->kp != NULL ? 0 : -1;
}

void client_free(struct client *cl)
{
	free(cl->relay_url);
	free(cl->agency);
	free(cl->key_path);
	free(cl->relay_key_path);
	free(cl->outbox);
	keypair_free(cl->kp);
	memset(cl, 0, sizeof *cl);
}

void client_get(const struct client *cl, const char *path, int64_t clock_offset,
                struct http_reply *r)
{
	char *url = xasprintf("%s%s", cl->relay_url, path);
	char *auth =
	    request_auth_sign(cl->kp, cl->agency, "GET", path, (uint64_t)(now_s() + clock_offset));
	http_request(url, NULL, NULL, 0, auth, r);
	free(url);
	free(auth);
}
