/* fuzz_note.c: libFuzzer target for what the audit reads from a log: signed notes, checkpoints,
 * verifier keys, tile paths and entry bundles. */
#include "note.h"
#include "tlog.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct note_verifier v;
	static int ready;
	char err[256];
	if (!ready) {
		if (sodium_init() < 0)
			abort();
		unsigned char pk[32], sk[64];
		crypto_sign_seed_keypair(pk, sk,
		                         (const unsigned char *)"tbsc-fuzz-seed-0123456789abcdef!");
		if (note_verifier_from_key(&v, "tbsc.relay.local/log", pk, err, sizeof err) != 0)
			abort();
		ready = 1;
	}
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	size_t textlen;
	(void)note_open(text, size, &v, &textlen, err, sizeof err);
	struct note_checkpoint c;
	(void)note_checkpoint_parse(text, size, &c, err, sizeof err);
	(void)note_checkpoint_open(text, size, &v, &c, err, sizeof err);
	struct note_verifier other;
	(void)note_verifier_parse(&other, text, err, sizeof err);
	int level;
	uint64_t index;
	unsigned width;
	(void)tlog_tile_path_parse(text, &level, &index, &width);
	const unsigned char *entries[256];
	size_t lens[256], count;
	(void)tlog_bundle_split(data, size, 256, 0, entries, lens, &count, err, sizeof err);
	(void)tlog_bundle_split(data, size, 3, 1, entries, lens, &count, err, sizeof err);
	free(text);
	return 0;
}
