/* ratelimit.c: token buckets in a fixed-size hash table of agencies, one lock. */
#include "ratelimit.h"

#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 1024

struct bucket {
	char *key;
	double tokens;
	int64_t last_ms;
	struct bucket *next;
};

struct ratelimit {
	double per_ms, burst;
	pthread_mutex_t lock;
	struct bucket *table[BUCKETS];
};

struct ratelimit *ratelimit_new(double per_minute, double burst)
{
	struct ratelimit *rl = xcalloc(1, sizeof *rl);
	rl->per_ms = per_minute / 60000.0;
	rl->burst = burst;
	pthread_mutex_init(&rl->lock, NULL);
	return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		for (struct bucket *b = rl->table[i], *n; b != NULL; b = n) {
			n = b->next;
			free(b->key);
			free(b);
		}
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

static size_t hash_key(const char *s)
{
	size_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h % BUCKETS;
}

/* Keys are registered agency ids (checked before this is called), so the table stays bounded. */
bool ratelimit_take(struct ratelimit *rl, const char *key, int64_t now, unsigned *retry_after_s)
{
	pthread_mutex_lock(&rl->lock);
	size_t h = hash_key(key);
	struct bucket *b = rl->table[h];
	while (b != NULL && strcmp(b->key, key) != 0)
		b = b->next;
	if (b == NULL) {
		b = xcalloc(1, sizeof *b);
		b->key = xstrdup(key);
		b->tokens = rl->burst;
		b->last_ms = now;
		b->next = rl->table[h];
		rl->table[h] = b;
	}
	if (now > b->last_ms) {
		b->tokens += (double)(now - b->last_ms) * rl->per_ms;
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
		b->last_ms = now;
	}
	bool ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	else if (retry_after_s != NULL)
		*retry_after_s = (unsigned)ceil((1.0 - b->tokens) / rl->per_ms / 1000.0);
	pthread_mutex_unlock(&rl->lock);
	return ok;
}
