/* fuzz_receipt.c: libFuzzer target for the client's decoder of the relay's receipts. */
#include "wire.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct receipt rc;
	if (receipt_decode(data, size, &rc, err, sizeof err) != 0 && err[0] == '\0')
		abort();
	return 0;
}
