/* fuzz_envelope.c: libFuzzer target for the relay's decoders of outside bytes: envelope, signed
 * report, acknowledgement, request authentication header. */
#include "mpack.h"
#include "report.h"
#include "wire.h"

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
	struct envelope env;
	if (envelope_decode(data, size, &env, err, sizeof err) == 0) {
		uint8_t pk[32] = {0};
		uint8_t hash[32];
		(void)envelope_verify(&env, pk);
		envelope_hash(&env, hash);
		envelope_clear(&env);
	} else if (err[0] == '\0') {
		abort(); /* every refusal has a reason */
	}
	struct signed_report sr;
	if (signed_report_decode(data, size, &sr, err, sizeof err) == 0) {
		struct report r;
		if (report_decode(sr.report, sr.report_len, &r, err, sizeof err) == 0)
			report_clear(&r);
	}
	struct ack ack;
	if (ack_decode(data, size, &ack, err, sizeof err) == 0) {
		uint8_t pk[32] = {0};
		(void)ack_verify(&ack, pk);
	}
	struct request_auth ra;
	if (size < 512) {
		char *s = malloc(size + 1);
		memcpy(s, data, size);
		s[size] = '\0';
		(void)request_auth_parse(s, &ra, err, sizeof err);
		free(s);
	}
	return 0;
}
