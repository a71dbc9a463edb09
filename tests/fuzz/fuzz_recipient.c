/* fuzz_recipient.c: libFuzzer target for what a recipient parses from outside: MIME, webhook JSON,
 * SMS text. */
#include "recipient.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	char err[256];
	uint8_t *out = NULL;
	size_t len = 0;
	err[0] = '\0';
	if (mime_notification((const char *)data, size, &out, &len, err, sizeof err) == 0)
		free(out);
	else if (err[0] == '\0' || out != NULL)
		abort(); /* every refusal has a reason and leaves nothing behind */
	char *s = NULL;
	err[0] = '\0';
	if (webhook_data_string((const char *)data, size, "notification_id", &s, err, sizeof err) ==
	    0)
		free(s);
	else if (err[0] == '\0' || s != NULL)
		abort();
	if (webhook_notification((const char *)data, size, &out, &len, err, sizeof err) == 0)
		free(out);
	char *text = malloc(size + 1), found[11];
	memcpy(text, data, size);
	text[size] = '\0';
	(void)sms_text_has_code(text, "ABCDEFGHIJ", found);
	free(text);
	return 0;
}
