/* registry.h: the agency registry (INI): who may report, under which keys, and when. */
#ifndef TBSC_REGISTRY_H
#define TBSC_REGISTRY_H

#include "keyfile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENCY_ID_MAX 64

struct registry_key {
	uint8_t pk[KEY_PK_BYTES];
	uint8_t kid[KEY_ID_BYTES];
	int64_t valid_from;  /* Unix seconds, inclusive */
	int64_t valid_until; /* Unix seconds, exclusive */
	bool revoked;
};

struct agency {
	char *id;
	char *name; /* display name, Vietnamese */
	char *role;
	char *group; /* commune the agency belongs to */
	bool revoked;
	struct registry_key *keys;
	size_t key_count;
};

struct registry {
	struct agency *agencies;
	size_t count;
};

enum registry_verdict {
	REGISTRY_OK,
	REGISTRY_UNKNOWN_AGENCY,
	REGISTRY_UNKNOWN_KEY,
	REGISTRY_AGENCY_REVOKED,
	REGISTRY_KEY_REVOKED,
	REGISTRY_KEY_NOT_YET_VALID,
	REGISTRY_KEY_EXPIRED,
};

extern const char *const registry_roles[];

/*
 * Loads the registry at path. Every error is reported as "file:line: reason" into err
 * (several separated by newlines, up to errlen); NULL on any error. Caller frees.
 */
struct registry *registry_load(const char *path, char *err, size_t errlen);
struct registry *registry_new(void);
void registry_free(struct registry *reg);
/* Writes the registry back atomically (temp file + rename). */
int registry_save(const struct registry *reg, const char *path, char *err, size_t errlen);

struct agency *registry_find(const struct registry *reg, const char *id);
/* Adds an agency (copies strings); -1 when the id exists or is malformed. */
struct agency *registry_add(struct registry *reg, const char *id, const char *name,
                            const char *role, const char *group, char *err, size_t errlen);
void agency_add_key(struct agency *a, const uint8_t pk[KEY_PK_BYTES], int64_t from, int64_t until);

/* Finds the key (agency, kid) valid at time now; *key set only when REGISTRY_OK. */
enum registry_verdict registry_lookup(const struct registry *reg, const char *agency_id,
                                      const uint8_t kid[KEY_ID_BYTES], int64_t now,
                                      const struct registry_key **key,
                                      const struct agency **agency);
const char *registry_verdict_text(enum registry_verdict v);
/* The agency's key to seal to at time now: valid, not revoked, the most recent; NULL if none. */
const struct registry_key *registry_current_key(const struct registry *reg, const char *agency_id,
                                                int64_t now);

bool registry_id_valid(const char *id);

#endif
