/* fuzz_notify.c: libFuzzer target for the recipient's decoders of outside bytes: notification, v1a
 * header. */
#include "notify.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct keypair *recipient;
	if (recipient == NULL) {
		if (sodium_init() < 0)
			abort();
		recipient = keypair_generate();
	}
	char err[256];
	struct notification n;
	/* No fuzzed input carries a valid relay signature, so this exercises the outer decoder and,
	 * through the reason-finding path, the body decoder on unauthenticated bytes. */
	uint8_t pk[32] = {0};
	err[0] = '\0';
	if (notify_verify(data, size, pk, &n, err, sizeof err) == 0) {
		uint8_t *plain;
		size_t plain_len;
		if (notify_open(&n, recipient, &plain, &plain_len, err, sizeof err) == 0)
			free(plain);
		notify_clear(&n);
	} else if (err[0] == '\0') {
		abort(); /* every refusal has a reason */
	} else if (n.sealed != NULL) {
		abort(); /* a refusal leaves nothing allocated */
	}
	char code[11];
	notify_sms_code(data, size, code);
	if (strlen(code) != 10)
		abort();
	/* Webhook headers: "id\0timestamp\0signature\0body". */
	if (size < 8192) {
		char *s = malloc(size + 4);
		memcpy(s, data, size);
		memset(s + size, 0, 4);
		const char *id = s;
		const char *ts = id + strlen(id) + 1;
		const char *hdr = ts + strlen(ts) + 1;
		const char *body = hdr + strlen(hdr) + 1;
		size_t used = (size_t)(body - s);
		size_t body_len = used <= size ? size - used : 0;
		(void)webhook_verify(pk, id, ts, body, body_len, hdr);
		free(s);
	}
	return 0;
}
