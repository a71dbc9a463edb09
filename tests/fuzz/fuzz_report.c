/* fuzz_report.c: libFuzzer target for the report decoder; a decoded report must re-encode and
 * decode again. */
#include "report.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct report r, again;
	if (report_decode(data, size, &r, err, sizeof err) != 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	uint8_t *buf;
	size_t len;
	if (report_encode(&r, &buf, &len, err, sizeof err) != 0)
		abort(); /* what decodes must encode */
	if (report_decode(buf, len, &again, err, sizeof err) != 0)
		abort(); /* and decode again */
	report_clear(&again);
	free(buf);
	report_clear(&r);
	return 0;
}
