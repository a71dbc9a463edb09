/* store.c: SQLite in WAL mode with synchronous=FULL; reports, log entries, one transaction per batch. */
#include "store.h"

#include "mpack.h"
#include "util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

struct store {
	sqlite3 *db;
	pthread_mutex_t lock; /* serialises readers sharing this connection */
	sqlite3_stmt *find_nonce, *insert_report, *insert_log, *get_report, *read_log;
	uint64_t next_index;
	uint64_t last_ms;
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS reports("
    " id TEXT PRIMARY KEY, hash BLOB NOT NULL, agency TEXT NOT NULL, nonce BLOB NOT NULL,"
    " incident_id TEXT NOT NULL, kind TEXT NOT NULL, category TEXT NOT NULL,"
    " severity TEXT NOT NULL, drill INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    " log_index INTEGER NOT NULL, envelope BLOB NOT NULL, UNIQUE(agency, nonce));"
    "CREATE INDEX IF NOT EXISTS reports_incident ON reports(incident_id);"
    "CREATE TABLE IF NOT EXISTS log_entries(idx INTEGER PRIMARY KEY, entry BLOB NOT NULL);";

static int prepare(struct store *st, sqlite3_stmt **stmt, const char *sql, char *err, size_t errlen)
{
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL) != SQLITE_OK)
		return seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(st->db));
	return 0;
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	struct store *st = xcalloc(1, sizeof *st);
	pthread_mutex_init(&st->lock, NULL);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 10000);
	char *msg = NULL;
	if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
			 NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		goto fail;
	}
	if (prepare(st, &st->find_nonce,
		    "SELECT hash, received_ms, log_index, incident_id FROM reports WHERE agency=?1 AND nonce=?2",
		    err, errlen) ||
	    prepare(st, &st->insert_report,
		    "INSERT INTO reports(id, hash, agency, nonce, incident_id, kind, category, severity, drill,"
		    " received_ms, log_index, envelope) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
		    err, errlen) ||
	    prepare(st, &st->insert_log, "INSERT INTO log_entries(idx, entry) VALUES(?1, ?2)", err, errlen) ||
	    prepare(st, &st->get_report,
		    "SELECT id, agency, incident_id, kind, category, severity, drill, received_ms, log_index,"
		    " hash, envelope FROM reports WHERE id=?1",
		    err, errlen) ||
	    prepare(st, &st->read_log, "SELECT idx, entry FROM log_entries WHERE idx>=?1 ORDER BY idx LIMIT ?2",
		    err, errlen))
		goto fail;
	sqlite3_stmt *q = NULL;
	if (prepare(st, &q, "SELECT COALESCE(MAX(idx)+1, 0) FROM log_entries", err, errlen))
		goto fail;
	if (sqlite3_step(q) == SQLITE_ROW)
		st->next_index = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (prepare(st, &q, "SELECT COALESCE(MAX(received_ms), 0) FROM reports", err, errlen))
		goto fail;
	if (sqlite3_step(q) == SQLITE_ROW)
		st->last_ms = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return st;
fail:
	store_close(st);
	return NULL;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(st->find_nonce);
	sqlite3_finalize(st->insert_report);
	sqlite3_finalize(st->insert_log);
	sqlite3_finalize(st->get_report);
	sqlite3_finalize(st->read_log);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

uint8_t *store_accept_entry(const struct accept_req *req, size_t *len)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 9);
	mpack_pack_str(&pk, "t");
	mpack_pack_str(&pk, "accept");
	mpack_pack_str(&pk, "i");
	mpack_pack_str(&pk, req->report_id);
	mpack_pack_str(&pk, "h");
	mpack_pack_bin(&pk, req->hash, WIRE_HASH_BYTES);
	mpack_pack_str(&pk, "a");
	mpack_pack_str(&pk, req->agency);
	mpack_pack_str(&pk, "inc");
	mpack_pack_str(&pk, req->incident_id);
	mpack_pack_str(&pk, "k");
	mpack_pack_str(&pk, req->kind);
	mpack_pack_str(&pk, "d");
	if (req->drill)
		msgpack_pack_true(&pk);
	else
		msgpack_pack_false(&pk);
	mpack_pack_str(&pk, "at");
	msgpack_pack_uint64(&pk, req->received_ms);
	/* Routes are filled in by the fan-out; an intake-only relay routes nowhere. */
	mpack_pack_str(&pk, "routes");
	msgpack_pack_array(&pk, 0);
	*len = sb.size;
	return (uint8_t *)sb.data;
}

static int step_done(struct store *st, sqlite3_stmt *s, char *err, size_t errlen)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(st->db));
	return 0;
}

static int accept_one(struct store *st, struct accept_req *r, uint64_t ms, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->find_nonce;
	sqlite3_bind_text(s, 1, r->agency, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, r->nonce, WIRE_NONCE_BYTES, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(s, 0);
		bool same = sqlite3_column_bytes(s, 0) == WIRE_HASH_BYTES && memcmp(h, r->hash, WIRE_HASH_BYTES) == 0;
		r->outcome = same ? STORE_DUPLICATE : STORE_REPLAY;
		r->received_ms = (uint64_t)sqlite3_column_int64(s, 1);
		r->log_index = (uint64_t)sqlite3_column_int64(s, 2);
		snprintf(r->incident_stored, sizeof r->incident_stored, "%s",
			 (const char *)sqlite3_column_text(s, 3));
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return 0;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(st->db));

	r->received_ms = ms;
	r->log_index = st->next_index;
	snprintf(r->incident_stored, sizeof r->incident_stored, "%s", r->incident_id);
	s = st->insert_report;
	sqlite3_bind_text(s, 1, r->report_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, r->hash, WIRE_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, r->agency, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 4, r->nonce, WIRE_NONCE_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, r->incident_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, r->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, r->category, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, r->severity, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 9, r->drill);
	sqlite3_bind_int64(s, 10, (sqlite3_int64)ms);
	sqlite3_bind_int64(s, 11, (sqlite3_int64)r->log_index);
	sqlite3_bind_blob(s, 12, r->envelope, (int)r->envelope_len, SQLITE_STATIC);
	if (step_done(st, s, err, errlen) != 0)
		return -1;
	size_t elen;
	uint8_t *entry = store_accept_entry(r, &elen);
	s = st->insert_log;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)r->log_index);
	sqlite3_bind_blob(s, 2, entry, (int)elen, SQLITE_STATIC);
	rc = step_done(st, s, err, errlen);
	free(entry);
	if (rc != 0)
		return -1;
	st->next_index++;
	r->outcome = STORE_ACCEPTED;
	return 0;
}

int store_accept_batch(struct store *st, struct accept_req **reqs, size_t n, uint64_t now, char *err,
		       size_t errlen)
{
	/* Log times never go backwards, even when the wall clock does. */
	uint64_t ms = now > st->last_ms ? now : st->last_ms;
	uint64_t saved_index = st->next_index;
	pthread_mutex_lock(&st->lock);
	int rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	if (rc != 0)
		seterr(err, errlen, "sqlite begin: %s", sqlite3_errmsg(st->db));
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = accept_one(st, reqs[i], ms, err, errlen);
	if (rc == 0 && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		seterr(err, errlen, "sqlite commit: %s", sqlite3_errmsg(st->db));
		rc = -1;
	}
	if (rc != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		st->next_index = saved_index;
		for (size_t i = 0; i < n; i++)
			reqs[i]->outcome = STORE_FAILED;
	} else {
		st->last_ms = ms;
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int store_report_get(struct store *st, const char *report_id, bool want_envelope,
		     struct stored_report *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&st->lock);
	sqlite3_stmt *s = st->get_report;
	sqlite3_bind_text(s, 1, report_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s), found = 0;
	if (rc == SQLITE_ROW) {
		found = 1;
		snprintf(out->report_id, sizeof out->report_id, "%s", (const char *)sqlite3_column_text(s, 0));
		snprintf(out->agency, sizeof out->agency, "%s", (const char *)sqlite3_column_text(s, 1));
		snprintf(out->incident_id, sizeof out->incident_id, "%s", (const char *)sqlite3_column_text(s, 2));
		snprintf(out->kind, sizeof out->kind, "%s", (const char *)sqlite3_column_text(s, 3));
		snprintf(out->category, sizeof out->category, "%s", (const char *)sqlite3_column_text(s, 4));
		snprintf(out->severity, sizeof out->severity, "%s", (const char *)sqlite3_column_text(s, 5));
		out->drill = sqlite3_column_int(s, 6) != 0;
		out->received_ms = (uint64_t)sqlite3_column_int64(s, 7);
		out->log_index = (uint64_t)sqlite3_column_int64(s, 8);
		if (sqlite3_column_bytes(s, 9) == WIRE_HASH_BYTES)
			memcpy(out->hash, sqlite3_column_blob(s, 9), WIRE_HASH_BYTES);
		if (want_envelope) {
			out->envelope_len = (size_t)sqlite3_column_bytes(s, 10);
			out->envelope = xmalloc(out->envelope_len);
			memcpy(out->envelope, sqlite3_column_blob(s, 10), out->envelope_len);
		}
	} else if (rc != SQLITE_DONE) {
		found = seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(st->db));
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	pthread_mutex_unlock(&st->lock);
	return found;
}

void stored_report_clear(struct stored_report *r)
{
	if (r == NULL)
		return;
	free(r->envelope);
	memset(r, 0, sizeof *r);
}

int store_log_count(struct store *st, uint64_t *count, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	pthread_mutex_lock(&st->lock);
	*count = st->next_index;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

int store_log_read(struct store *st, uint64_t from, size_t max, uint8_t ***entries, size_t **lens,
		   size_t *count, char *err, size_t errlen)
{
	uint8_t **e = xcalloc(max, sizeof *e);
	size_t *l = xcalloc(max, sizeof *l), n = 0;
	int rc = 0;
	pthread_mutex_lock(&st->lock);
	sqlite3_stmt *s = st->read_log;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)from);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if ((uint64_t)sqlite3_column_int64(s, 0) != from + n) {
			rc = seterr(err, errlen, "log entry %llu missing from the store",
				    (unsigned long long)(from + n));
			break;
		}
		l[n] = (size_t)sqlite3_column_bytes(s, 1);
		e[n] = xmalloc(l[n]);
		memcpy(e[n], sqlite3_column_blob(s, 1), l[n]);
		n++;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	pthread_mutex_unlock(&st->lock);
	*entries = e;
	*lens = l;
	*count = n;
	return rc;
}

int store_report_count(struct store *st, uint64_t *count)
{
	sqlite3_stmt *q = NULL;
	int rc = -1;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db, "SELECT COUNT(*) FROM reports", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW) {
		*count = (uint64_t)sqlite3_column_int64(q, 0);
		rc = 0;
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

struct store_reader {
	sqlite3 *db;
	sqlite3_stmt *find;
};

struct store_reader *store_reader_open(const char *path, char *err, size_t errlen)
{
	struct store_reader *rd = xcalloc(1, sizeof *rd);
	if (sqlite3_open_v2(path, &rd->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(rd->db,
			       "SELECT hash, received_ms, log_index, incident_id FROM reports WHERE agency=?1 AND nonce=?2",
			       -1, SQLITE_PREPARE_PERSISTENT, &rd->find, NULL) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path, rd->db ? sqlite3_errmsg(rd->db) : "cannot open");
		store_reader_close(rd);
		return NULL;
	}
	sqlite3_busy_timeout(rd->db, 5000);
	return rd;
}

void store_reader_close(struct store_reader *rd)
{
	if (rd == NULL)
		return;
	sqlite3_finalize(rd->find);
	sqlite3_close(rd->db);
	free(rd);
}

int store_reader_nonce(struct store_reader *rd, const char *agency, const uint8_t nonce[WIRE_NONCE_BYTES],
		       uint8_t hash[WIRE_HASH_BYTES], uint64_t *received_ms, uint64_t *log_index,
		       char incident[65])
{
	sqlite3_stmt *s = rd->find;
	sqlite3_bind_text(s, 1, agency, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, nonce, WIRE_NONCE_BYTES, SQLITE_STATIC);
	int rc = sqlite3_step(s), found = 0;
	if (rc == SQLITE_ROW) {
		found = 1;
		if (sqlite3_column_bytes(s, 0) == WIRE_HASH_BYTES)
			memcpy(hash, sqlite3_column_blob(s, 0), WIRE_HASH_BYTES);
		*received_ms = (uint64_t)sqlite3_column_int64(s, 1);
		*log_index = (uint64_t)sqlite3_column_int64(s, 2);
		snprintf(incident, 65, "%s", (const char *)sqlite3_column_text(s, 3));
	} else if (rc != SQLITE_DONE) {
		found = -1;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return found;
}
