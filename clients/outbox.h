/* outbox.h: signed reports wait here until the relay has given a receipt for them. */
#ifndef TBSC_OUTBOX_H
#define TBSC_OUTBOX_H

#include "client.h"

#include <stddef.h>
#include <stdint.h>

enum submit_result {
	SUBMIT_ACCEPTED, /* receipt verified; the outbox entry moved to sent/ */
	SUBMIT_LATER,    /* relay unreachable or busy: still in the outbox */
	SUBMIT_REJECTED, /* a clear refusal: moved to rejected/ with the reason */
};

/* Stores the envelope and its signed report bytes under the report id (0600, fsync'd). */
int outbox_put(const char *dir, const char *report_id, const uint8_t *envelope, size_t env_len,
               const uint8_t *report, size_t report_len, char *err, size_t errlen);

/*
 * Sends one outbox entry. A stale envelope whose report the relay never stored is wrapped again
 * with the relay's clock (a new envelope, never a second report). On SUBMIT_ACCEPTED, *rc holds
 * the verified receipt and *final_id the report id it ended under (REPORT_ID_CHARS+1 bytes).
 */
enum submit_result outbox_send(struct client *cl, const char *report_id, struct receipt *rc,
                               char *final_id, char *reason, size_t reasonlen);

/* Sends every entry in order; counts what went, what waits and what was refused. */
int outbox_flush(struct client *cl, unsigned *sent, unsigned *waiting, unsigned *rejected);

/*
 * Signs, seals, keeps in the outbox and sends one validated report; prints the receipt. Exit code:
 * 0 accepted, 1 refused, 2 waiting in the outbox or error. id_out (may be NULL) gets the report id.
 */
struct report;
int report_file(struct client *cl, const struct report *r, bool relay_down,
                char id_out[REPORT_ID_CHARS + 1]);

/* Prints a receipt for people (Vietnamese, then English). */
void receipt_print(const struct receipt *rc);

#endif
