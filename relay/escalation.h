/* escalation.h: when a recipient does not acknowledge in time: another channel, its backup, the
 * office. */
#ifndef TBSC_ESCALATION_H
#define TBSC_ESCALATION_H

#include <stddef.h>
#include <stdint.h>

struct relay;
struct escalation;

/* Starts the thread that checks escalations and legal clocks every [escalation] interval seconds.
 */
struct escalation *escalation_start(struct relay *relay);
void escalation_stop(struct escalation *e);
/* One pass at time now_ms: returns how many escalation steps it took (tests call it directly). */
size_t escalation_run(struct relay *relay, uint64_t now_ms);

/* One pass of the legal clocks at now_ms: reminders and overdue notices sent (tests call it
 * directly). */
size_t clocks_run(struct relay *relay, uint64_t now_ms);

#endif
