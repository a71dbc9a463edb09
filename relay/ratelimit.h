/* ratelimit.h: a token bucket per agency. */
#ifndef TBSC_RATELIMIT_H
#define TBSC_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit;
struct ratelimit *ratelimit_new(double per_minute, double burst);
void ratelimit_free(struct ratelimit *rl);
/* Takes one token for key at time now_ms; false (and *retry_after_s set) when none is left. */
bool ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms, unsigned *retry_after_s);

#endif
