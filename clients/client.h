/* client.h: what every relay-facing `incident` subcommand shares: identity, relay, outbox. */
#ifndef TBSC_CLIENT_H
#define TBSC_CLIENT_H

#include "httpc.h"
#include "keyfile.h"
#include "wire.h"

#include <getopt.h>
#include <stdbool.h>

struct client {
	char *relay_url;
	char *agency;
	char *key_path;
	char *relay_key_path;
	char *outbox;
	struct keypair *kp;
	uint8_t relay_pk[KEY_PK_BYTES];
	uint8_t relay_xpk[32];
	uint8_t relay_kid[KEY_ID_BYTES];
};

/* Long options shared by the subcommands; values 0x100.. are handled by client_option(). */
#define CLIENT_LONG_OPTIONS                                                                        \
	{"relay", required_argument, NULL, 0x100}, {"agency", required_argument, NULL, 0x101},     \
	    {"key", required_argument, NULL, 0x102},                                               \
	    {"relay-key", required_argument, NULL, 0x103},                                         \
	    {"outbox", required_argument, NULL, 0x104},                                            \
	{                                                                                          \
		"config", required_argument, NULL, 0x105                                           \
	}
#define CLIENT_OPTIONS_HELP                                                                         \
	"  --relay URL        địa chỉ relay / relay URL (TBSC_RELAY_URL, mặc định "       \
	"http://127.0.0.1:8470)\n"                                                                  \
	"  --agency ID        mã đơn vị / agency id (TBSC_AGENCY)\n"                           \
	"  --key TỆP          khóa bí mật của đơn vị / agency secret key (TBSC_KEY)\n"  \
	"  --relay-key TỆP    khóa công khai của relay / relay public key (TBSC_RELAY_KEY)\n" \
	"  --outbox THƯ-MỤC   hàng chờ gửi / outbox directory (TBSC_OUTBOX, mặc định " \
	"~/.tbsc/outbox)\n"                                                                         \
	"  --config TỆP       tệp cấu hình [client] / client INI file (TBSC_CLIENT_CONFIG)\n"

/* Defaults from the environment; caller frees with client_free. */
void client_init(struct client *cl);
/* Handles one shared option; 1 when it was one, 0 otherwise, -1 on a bad value. */
int client_option(struct client *cl, int opt, const char *arg);
/* Loads keys (asking for the passphrase at a terminal); 0 or -1 with err. */
int client_load(struct client *cl, bool need_agency_key, char *err, size_t errlen);
void client_free(struct client *cl);

/*
 * GET path from the relay, signed by the agency (Authorization: TBSC ...) at now + clock_offset
 * seconds. The reply is filled as http_request fills it; the caller clears it.
 */
void client_get(const struct client *cl, const char *path, int64_t clock_offset,
                struct http_reply *r);

/* Reads a passphrase: TBSC_PASSPHRASE, else asks at the terminal (twice when confirm). NULL if
 * none. */
char *client_passphrase(const char *prompt, bool confirm);

#endif
