/* fuzz_summary.c: libFuzzer target for what `incident summary` reads from a relay: the Mẫu 05 CSV
 * and the signed note over it. */
#include "summary.h"

#include <sodium.h>
#include <stdlib.h>

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
	struct summary *s = NULL;
	if (summary_parse_csv((const char *)data, size, &s, err, sizeof err) == 0)
		summary_free(s);
	uint8_t pk[KEY_PK_BYTES] = {0};
	struct summary_note note;
	(void)summary_verify((const char *)data, size, pk, "csv", data, size, &note, err, sizeof err);
	return 0;
}
