/* relay.h: the running relay's shared state, and the intake HTTP server. */
#ifndef TBSC_RELAY_H
#define TBSC_RELAY_H

#include "committer.h"
#include "config.h"
#include "keyfile.h"
#include "ratelimit.h"
#include "registry.h"
#include "routing.h"
#include "store.h"

#include <pthread.h>

struct relay {
	const struct relay_config *cfg;
	struct keypair *key;
	pthread_rwlock_t registry_lock;
	struct registry *registry; /* swapped under registry_lock on SIGHUP */
	struct store *store;
	struct committer *committer;
	struct ratelimit *ratelimit;
	struct logsync *logsync; /* NULL when the transparency log is off */
	struct routing *routing; /* NULL: intake only; swapped under registry_lock on SIGHUP */
	struct renderer *renderer;
	struct delivery_engine *delivery;
	struct escalation *escalation;
};

struct intake;
/* Starts the HTTP server on cfg->listen; NULL with err when the port cannot be bound. */
struct intake *intake_start(struct relay *relay, char *err, size_t errlen);
/* The port actually bound (useful with listen port 0). */
unsigned intake_port(const struct intake *in);
/* Stops accepting new connections (NULL allowed). */
void intake_quiesce(struct intake *in);
/* Waits (up to 5 s) for answers in flight to go out, then stops the server and frees in. */
void intake_stop(struct intake *in);

/* A token for (purpose, report, recipient): 32 hex characters of keyed BLAKE2b; purposes "dlr",
 * "ack". */
void relay_token(const struct keypair *relay, const char *purpose, const char *report_id,
                 const char *recipient, char out[33]);
/* An SMS acknowledges with the first ACK_CODE_CHARS characters of its "ack" token. */
#define ACK_CODE_CHARS 8
/* The token a gateway's delivery-report URL carries for (report, recipient): 32 hex characters. */
void intake_dlr_token(const struct keypair *relay, const char *report_id, const char *recipient,
                      char out[33]);

/* Replaces the registry (SIGHUP); the old one is freed once no request uses it. */
/* ... and, when routing is not NULL, the routing too. */
void relay_registry_swap(struct relay *relay, struct registry *reg, struct routing *routing);

#endif
