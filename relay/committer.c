/* committer.c: accepts that arrive while one fsync runs share the next one. */
#include "committer.h"

#include "util.h"

#include <pthread.h>
#include <stdlib.h>

struct committer {
	struct store *st;
	size_t max_batch;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct accept_req *head, *tail;
	bool stopping;
	void (*on_commit)(void *);
	void *arg;
};

static void *committer_run(void *arg)
{
	struct committer *c = arg;
	struct accept_req **batch = xcalloc(c->max_batch, sizeof *batch);
	for (;;) {
		pthread_mutex_lock(&c->lock);
		while (c->head == NULL && !c->stopping)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->head == NULL && c->stopping) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		size_t n = 0;
		while (c->head != NULL && n < c->max_batch) {
			batch[n++] = c->head;
			c->head = c->head->next;
		}
		if (c->head == NULL)
			c->tail = NULL;
		pthread_mutex_unlock(&c->lock);

		char err[ERRBUF_MAX];
		if (store_accept_batch(c->st, batch, n, (uint64_t)now_ms(), err, sizeof err) != 0)
			log_error("lưu thất bại / commit failed (%zu reports refused): %s", n, err);
		for (size_t i = 0; i < n; i++)
			batch[i]->done(batch[i]);
		if (c->on_commit != NULL)
			c->on_commit(c->arg);
	}
	free(batch);
	return NULL;
}

struct committer *committer_start(struct store *st, size_t max_batch, void (*on_commit)(void *),
                                  void *arg)
{
	struct committer *c = xcalloc(1, sizeof *c);
	c->st = st;
	c->max_batch = max_batch ? max_batch : 512;
	c->on_commit = on_commit;
	c->arg = arg;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	if (pthread_create(&c->thread, NULL, committer_run, c) != 0)
		fatal("cannot start the commit thread");
	return c;
}

void committer_submit(struct committer *c, struct accept_req *req)
{
	req->next = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->tail != NULL)
		c->tail->next = req;
	else
		c->head = req;
	c->tail = req;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
}

void committer_stop(struct committer *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
	free(c);
}
