/* committer.h: group commit; one thread turns queued accepts into one transaction each round. */
#ifndef TBSC_COMMITTER_H
#define TBSC_COMMITTER_H

#include "store.h"

struct committer;

/* Starts the commit thread over st (not owned). on_commit (may be NULL) runs after each batch. */
struct committer *committer_start(struct store *st, size_t max_batch, void (*on_commit)(void *),
                                  void *arg);
/* Queues req; req->done(req) is called from the commit thread once its outcome is durable. */
void committer_submit(struct committer *c, struct accept_req *req);
/* Commits whatever is queued, then stops the thread and frees c. */
void committer_stop(struct committer *c);

#endif
