/* fuzz_registry.c: libFuzzer target for the registry parser (INI written by people). */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	if (path[0] == '\0')
		snprintf(path, sizeof path, "/tmp/fuzz-registry-%d.ini", (int)getpid());
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	char err[1024];
	struct registry *reg = registry_load(path, err, sizeof err);
	if (reg != NULL) {
		uint8_t kid[8] = {0};
		const struct registry_key *k;
		for (size_t i = 0; i < reg->count; i++)
			(void)registry_lookup(reg, reg->agencies[i].id, kid, 0, &k, NULL);
		registry_free(reg);
	}
	return 0;
}
