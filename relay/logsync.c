/* logsync.c: the store is the log's source of truth; this thread mirrors it into C2SP tiles. */
#include "logsync.h"

#include "logwriter.h"
#include "relay.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOGSYNC_BATCH          8192
#define CHECKPOINT_INTERVAL_MS 1000
#define APPEND_INTERVAL_MS     250

struct logsync {
	struct relay *relay;
	struct logwriter *lw;
	pthread_t thread;
	pthread_mutex_t lock; /* guards lw */
	pthread_mutex_t wake_lock;
	pthread_cond_t wake;
	bool kicked, stopping;
	int64_t last_checkpoint_ms;
};

/* Appends every committed entry not yet in the tiles; 0 or -1. */
static int catch_up(struct logsync *ls)
{
	char err[ERRBUF_MAX];
	uint64_t total;
	store_log_count(ls->relay->store, &total, err, sizeof err);
	for (;;) {
		pthread_mutex_lock(&ls->lock);
		uint64_t have = logwriter_size(ls->lw);
		pthread_mutex_unlock(&ls->lock);
		if (have >= total)
			return 0;
		uint8_t **entries;
		size_t *lens, n;
		if (store_log_read(ls->relay->store, have, LOGSYNC_BATCH, &entries, &lens, &n, err,
		                   sizeof err) != 0) {
			log_error("log: %s", err);
			n = 0;
		}
		int rc = 0;
		if (n > 0) {
			pthread_mutex_lock(&ls->lock);
			rc = logwriter_append(ls->lw, (const unsigned char *const *)entries, lens,
			                      n, err, sizeof err);
			pthread_mutex_unlock(&ls->lock);
			if (rc != 0)
				log_error("log: %s", err);
		}
		for (size_t i = 0; i < n; i++)
			free(entries[i]);
		free(entries);
		free(lens);
		if (rc != 0 || n == 0)
			return -1;
	}
}

static void checkpoint(struct logsync *ls)
{
	char err[ERRBUF_MAX];
	int64_t now = now_ms();
	pthread_mutex_lock(&ls->lock);
	if (logwriter_checkpoint(ls->lw, now, err, sizeof err) != 0)
		log_error("log checkpoint: %s", err);
	pthread_mutex_unlock(&ls->lock);
	ls->last_checkpoint_ms = now;
}

static void wait_ms(struct logsync *ls, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ms * 1000000L;
	while (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&ls->wake, &ls->wake_lock, &ts);
}

static void *logsync_run(void *arg)
{
	struct logsync *ls = arg;
	int64_t last_append = 0;
	for (;;) {
		pthread_mutex_lock(&ls->wake_lock);
		if (!ls->kicked && !ls->stopping)
			wait_ms(ls, 200);
		/*
		 * Entries are durable in the store already; the tiles follow in batches. Rewriting
		 * the partial tiles after every group commit cost a file creation each time
		 * (measured: a seventh of the relay's CPU under load), so appends are at least
		 * APPEND_INTERVAL_MS apart.
		 */
		int64_t since = now_ms() - last_append;
		if (!ls->stopping && since >= 0 && since < APPEND_INTERVAL_MS)
			wait_ms(ls, (long)(APPEND_INTERVAL_MS - since));
		bool stop = ls->stopping;
		ls->kicked = false;
		pthread_mutex_unlock(&ls->wake_lock);
		catch_up(ls);
		last_append = now_ms();
		if (stop || now_ms() - ls->last_checkpoint_ms >= CHECKPOINT_INTERVAL_MS)
			checkpoint(ls);
		if (stop)
			break;
	}
	return NULL;
}

struct logsync *logsync_start(struct relay *relay, char *err, size_t errlen)
{
	struct logsync *ls = xcalloc(1, sizeof *ls);
	ls->relay = relay;
	ls->lw =
	    logwriter_open(relay->cfg->log_dir, relay->cfg->origin, relay->key->sk, err, errlen);
	if (ls->lw == NULL) {
		free(ls);
		return NULL;
	}
	pthread_mutex_init(&ls->lock, NULL);
	pthread_mutex_init(&ls->wake_lock, NULL);
	pthread_cond_init(&ls->wake, NULL);
	if (catch_up(ls) != 0) {
		seterr(err, errlen,
		       "log: không đồng bộ được nhật ký với kho / cannot bring the log up to the "
		       "store");
		logwriter_free(ls->lw);
		free(ls);
		return NULL;
	}
	checkpoint(ls);
	char *vkey = logwriter_vkey(ls->lw);
	log_info("vkey: %s", vkey);
	free(vkey);
	if (pthread_create(&ls->thread, NULL, logsync_run, ls) != 0)
		fatal("cannot start the log thread");
	return ls;
}

void logsync_kick(struct logsync *ls)
{
	pthread_mutex_lock(&ls->wake_lock);
	ls->kicked = true;
	pthread_cond_signal(&ls->wake);
	pthread_mutex_unlock(&ls->wake_lock);
}

void logsync_stop(struct logsync *ls)
{
	if (ls == NULL)
		return;
	pthread_mutex_lock(&ls->wake_lock);
	ls->stopping = true;
	pthread_cond_signal(&ls->wake);
	pthread_mutex_unlock(&ls->wake_lock);
	pthread_join(ls->thread, NULL);
	logwriter_free(ls->lw);
	pthread_mutex_destroy(&ls->lock);
	pthread_mutex_destroy(&ls->wake_lock);
	pthread_cond_destroy(&ls->wake);
	free(ls);
}

static bool query_u64(struct MHD_Connection *conn, const char *name, uint64_t *out)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
	if (v == NULL || *v == '\0' || strlen(v) > 20)
		return false;
	char *end = NULL;
	unsigned long long n = strtoull(v, &end, 10);
	if (*end != '\0' || *v == '-')
		return false;
	*out = n;
	return true;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *body)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result logsync_http(struct logsync *ls, struct MHD_Connection *conn, const char *url)
{
	unsigned char hashes[64][32];
	size_t count = 0;
	char err[ERRBUF_MAX];
	uint64_t a, b;
	int rc;
	bool inclusion = strcmp(url, "/v1/log/inclusion") == 0;
	bool consistency = strcmp(url, "/v1/log/consistency") == 0;
	if (inclusion && query_u64(conn, "index", &a) && query_u64(conn, "size", &b)) {
		pthread_mutex_lock(&ls->lock);
		rc = logwriter_inclusion_proof(ls->lw, a, b, hashes, &count, err, sizeof err);
		pthread_mutex_unlock(&ls->lock);
	} else if (consistency && query_u64(conn, "from", &a) && query_u64(conn, "to", &b)) {
		pthread_mutex_lock(&ls->lock);
		rc = logwriter_consistency_proof(ls->lw, a, b, hashes, &count, err, sizeof err);
		pthread_mutex_unlock(&ls->lock);
	} else {
		return reply(conn, MHD_HTTP_BAD_REQUEST,
		             xstrdup("{\"error\":\"bad_query\",\"reason\":\"cần index&size hoặc "
		                     "from&to / need index&size or from&to\"}\n"));
	}
	if (rc != 0) {
		char *body = xasprintf("{\"error\":\"no_proof\",\"reason\":\"%s\"}\n", err);
		for (char *p = body + 30; *p; p++)
			if (*p == '\\' || (unsigned char)*p < 0x20)
				*p = ' ';
		return reply(conn, MHD_HTTP_BAD_REQUEST, body);
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		fatal("open_memstream");
	fprintf(f,
	        inclusion ? "{\"index\":%llu,\"size\":%llu,\"hashes\":["
	                  : "{\"from\":%llu,\"to\":%llu,\"hashes\":[",
	        (unsigned long long)a, (unsigned long long)b);
	for (size_t i = 0; i < count; i++) {
		char *h = b64_encode(hashes[i], 32);
		fprintf(f, "%s\"%s\"", i ? "," : "", h);
		free(h);
	}
	fprintf(f, "]}\n");
	fclose(f);
	return reply(conn, MHD_HTTP_OK, buf);
}
