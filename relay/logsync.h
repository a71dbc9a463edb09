/* logsync.h: carries committed log entries from the store into the tile directory and signs
 * checkpoints. */
#ifndef TBSC_LOGSYNC_H
#define TBSC_LOGSYNC_H

#include <microhttpd.h>

struct relay;
struct logsync;

/* Opens the log directory and starts the sync thread; catches up with the store first. */
struct logsync *logsync_start(struct relay *relay, char *err, size_t errlen);
/* Wakes the thread: new entries were committed. */
void logsync_kick(struct logsync *ls);
/* Serves GET /v1/log/inclusion?index=&size= and /v1/log/consistency?from=&to= as JSON. */
enum MHD_Result logsync_http(struct logsync *ls, struct MHD_Connection *conn, const char *url);
/* Appends what is left, signs a last checkpoint, stops the thread, frees ls. */
void logsync_stop(struct logsync *ls);

#endif
