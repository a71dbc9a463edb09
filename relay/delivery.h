/* delivery.h: the fan-out: one worker per channel turns due jobs into signed, sealed notifications.
 */
#ifndef TBSC_DELIVERY_H
#define TBSC_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

struct relay;
struct delivery_engine;

/* Puts jobs left in flight by a crash back to pending and starts one worker per configured channel.
 */
struct delivery_engine *delivery_start(struct relay *relay, char *err, size_t errlen);
/* New jobs were committed: look now rather than at the next tick. */
void delivery_kick(struct delivery_engine *de);
/* Lets in-flight attempts finish and record, then stops. */
void delivery_stop(struct delivery_engine *de);

/* Backoff: the delay before attempt `attempt` (1-based), jittered in [base/2, base], clamped. */
uint64_t delivery_backoff_ms(unsigned attempt, uint64_t floor_ms, uint64_t ceiling_ms,
                             uint32_t random);

/*
 * Sends a plain email notice (no report content) to each address in to[0..n), in one SMTP session
 * per call; results[i] (ERRBUF_MAX bytes each) gets "ok" or the reason. Returns how many went out.
 * tag makes the Message-IDs stable for this notice.
 */
int delivery_notice(struct relay *relay, char *const *to, size_t n, const char *tag,
                    const char *subject, const char *text, char *const *results);

#endif
