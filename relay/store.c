/* store.c: SQLite in WAL mode with synchronous=FULL; reports, log entries, one transaction per
 * batch. */
#include "store.h"

#include "mpack.h"
#include "util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store {
	sqlite3 *db;
	pthread_mutex_t lock; /* serialises readers sharing this connection */
	sqlite3_stmt *find_nonce, *insert_report, *insert_log, *get_report, *read_log, *insert_job;
	uint64_t next_index;
	uint64_t last_ms;
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS reports("
    " id TEXT PRIMARY KEY, hash BLOB NOT NULL, agency TEXT NOT NULL, nonce BLOB NOT NULL,"
    " incident_id TEXT NOT NULL, kind TEXT NOT NULL, category TEXT NOT NULL,"
    " severity TEXT NOT NULL, drill INTEGER NOT NULL, received_ms INTEGER NOT NULL,"
    " log_index INTEGER NOT NULL, envelope BLOB NOT NULL, detected_s INTEGER NOT NULL DEFAULT 0,"
    " response_ended_s INTEGER NOT NULL DEFAULT 0, reporter_email TEXT, UNIQUE(agency, nonce));"
    "CREATE TABLE IF NOT EXISTS clock_reminders(incident_id TEXT PRIMARY KEY, stage INTEGER NOT "
    "NULL,"
    " at_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS reports_incident ON reports(incident_id);"
    "CREATE TABLE IF NOT EXISTS log_entries(idx INTEGER PRIMARY KEY, entry BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS jobs(id INTEGER PRIMARY KEY, report_id TEXT NOT NULL, recipient "
    "TEXT NOT NULL,"
    " channel TEXT NOT NULL, address TEXT NOT NULL, state INTEGER NOT NULL, attempts INTEGER NOT "
    "NULL,"
    " next_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
    " last_code INTEGER NOT NULL DEFAULT 0, last_detail TEXT NOT NULL DEFAULT '',"
    " escalated_from TEXT, notification BLOB, UNIQUE(report_id, recipient, channel));"
    "CREATE INDEX IF NOT EXISTS jobs_due ON jobs(channel, state, next_ms);"
    "CREATE TABLE IF NOT EXISTS job_history(job_id INTEGER NOT NULL, at_ms INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL, outcome TEXT NOT NULL, code INTEGER NOT NULL, detail TEXT NOT "
    "NULL);"
    "CREATE INDEX IF NOT EXISTS job_history_job ON job_history(job_id);"
    "CREATE TABLE IF NOT EXISTS disabled_endpoints(address TEXT PRIMARY KEY, at_ms INTEGER NOT "
    "NULL);"
    "CREATE TABLE IF NOT EXISTS acks(report_id TEXT NOT NULL, recipient TEXT NOT NULL, at_ms "
    "INTEGER NOT NULL,"
    " via TEXT NOT NULL, PRIMARY KEY(report_id, recipient));"
    "CREATE TABLE IF NOT EXISTS escalations(report_id TEXT NOT NULL, recipient TEXT NOT NULL, step "
    "INTEGER NOT NULL,"
    " at_ms INTEGER NOT NULL, targets TEXT NOT NULL, PRIMARY KEY(report_id, recipient, step));";

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
	if (sqlite3_open_v2(path, &st->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path,
		       st->db ? sqlite3_errmsg(st->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 10000);
	char *msg = NULL;
	if (sqlite3_exec(st->db,
	                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
	                 " PRAGMA wal_autocheckpoint=4000;",
	                 NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(st->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		goto fail;
	}
	/* Columns added after the first schema: best effort on older databases ("duplicate column"
	 * otherwise). */
	static const char *const migrations[] = {
	    "ALTER TABLE reports ADD COLUMN detected_s INTEGER NOT NULL DEFAULT 0",
	    "ALTER TABLE reports ADD COLUMN response_ended_s INTEGER NOT NULL DEFAULT 0",
	    "ALTER TABLE reports ADD COLUMN reporter_email TEXT",
	    "ALTER TABLE jobs ADD COLUMN escalated_from TEXT",
	    "ALTER TABLE jobs ADD COLUMN notification BLOB",
	};
	for (size_t i = 0; i < sizeof migrations / sizeof migrations[0]; i++)
		sqlite3_exec(st->db, migrations[i], NULL, NULL, NULL);
	if (prepare(st, &st->find_nonce,
	            "SELECT hash, received_ms, log_index, incident_id FROM reports WHERE agency=?1 "
	            "AND nonce=?2",
	            err, errlen) ||
	    prepare(
	        st, &st->insert_report,
	        "INSERT INTO reports(id, hash, agency, nonce, incident_id, kind, category, "
	        "severity, drill,"
	        " received_ms, log_index, envelope, detected_s, response_ended_s, reporter_email)"
	        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)",
	        err, errlen) ||
	    prepare(st, &st->insert_log, "INSERT INTO log_entries(idx, entry) VALUES(?1, ?2)", err,
	            errlen) ||
	    prepare(st, &st->get_report,
	            "SELECT id, agency, incident_id, kind, category, severity, drill, received_ms, "
	            "log_index,"
	            " hash, envelope FROM reports WHERE id=?1",
	            err, errlen) ||
	    prepare(st, &st->read_log,
	            "SELECT idx, entry FROM log_entries WHERE idx>=?1 ORDER BY idx LIMIT ?2", err,
	            errlen) ||
	    prepare(st, &st->insert_job,
	            "INSERT INTO jobs(report_id, recipient, channel, address, state, attempts, "
	            "next_ms, created_ms,"
	            " expires_ms) VALUES(?1,?2,?3,?4,0,0,?5,?5,?6)",
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
	sqlite3_finalize(st->insert_job);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st);
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

/* ---- log entries and write transactions -------------------------------------------------- */

/* A log entry being built: a canonical msgpack map whose first keys are "t" and "i". */
struct entry {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static void entry_begin(struct entry *e, size_t pairs, const char *type, const char *report_id)
{
	msgpack_sbuffer_init(&e->sb);
	msgpack_packer_init(&e->pk, &e->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&e->pk, pairs);
	mpack_pack_str(&e->pk, "t");
	mpack_pack_str(&e->pk, type);
	mpack_pack_str(&e->pk, "i");
	mpack_pack_str(&e->pk, report_id);
}

static void entry_str(struct entry *e, const char *key, const char *value)
{
	mpack_pack_str(&e->pk, key);
	mpack_pack_str(&e->pk, value);
}

static void entry_uint(struct entry *e, const char *key, uint64_t value)
{
	mpack_pack_str(&e->pk, key);
	msgpack_pack_uint64(&e->pk, value);
}

/* A write transaction: its log time (never before the last one) and where the log stood. */
struct tx {
	uint64_t ms;
	uint64_t saved_index;
};

/* Caller holds st->lock. 0, or -1 with the reason. */
static int tx_begin(struct store *st, uint64_t now, struct tx *tx, char *err, size_t errlen)
{
	tx->ms = now > st->last_ms ? now : st->last_ms;
	tx->saved_index = st->next_index;
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return seterr(err, errlen, "sqlite begin: %s", sqlite3_errmsg(st->db));
	return 0;
}

/* Commits when rc is 0 (then returns 0 unless the commit fails), else rolls back; returns 0 or -1.
 */
static int tx_end(struct store *st, const struct tx *tx, int rc, char *err, size_t errlen)
{
	if (rc == 0 && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = seterr(err, errlen, "sqlite commit: %s", sqlite3_errmsg(st->db));
	if (rc != 0) {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		st->next_index = tx->saved_index;
		return -1;
	}
	st->last_ms = tx->ms;
	return 0;
}

static int append_log(struct store *st, const uint8_t *entry, size_t len, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->insert_log;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)st->next_index);
	sqlite3_bind_blob(s, 2, entry, (int)len, SQLITE_STATIC);
	if (step_done(st, s, err, errlen) != 0)
		return -1;
	st->next_index++;
	return 0;
}

/* Appends the finished entry to the log inside the open transaction, and frees it. */
static int entry_append(struct store *st, struct entry *e, char *err, size_t errlen)
{
	int rc = append_log(st, (const uint8_t *)e->sb.data, e->sb.size, err, errlen);
	msgpack_sbuffer_destroy(&e->sb);
	return rc;
}

uint8_t *store_accept_entry(const struct accept_req *req, size_t *len)
{
	struct entry e;
	entry_begin(&e, 9, "accept", req->report_id);
	mpack_pack_str(&e.pk, "h");
	mpack_pack_bin(&e.pk, req->hash, WIRE_HASH_BYTES);
	entry_str(&e, "a", req->agency);
	entry_str(&e, "inc", req->incident_id);
	entry_str(&e, "k", req->kind);
	mpack_pack_str(&e.pk, "d");
	if (req->drill)
		msgpack_pack_true(&e.pk);
	else
		msgpack_pack_false(&e.pk);
	entry_uint(&e, "at", req->received_ms);
	mpack_pack_str(&e.pk, "routes");
	msgpack_pack_array(&e.pk, req->job_count);
	for (size_t i = 0; i < req->job_count; i++) {
		msgpack_pack_array(&e.pk, 2);
		mpack_pack_str(&e.pk, req->jobs[i].recipient);
		mpack_pack_str(&e.pk, req->jobs[i].channel);
	}
	*len = e.sb.size;
	return (uint8_t *)e.sb.data;
}

static int accept_one(struct store *st, struct accept_req *r, uint64_t ms, char *err, size_t errlen)
{
	sqlite3_stmt *s = st->find_nonce;
	sqlite3_bind_text(s, 1, r->agency, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, r->nonce, WIRE_NONCE_BYTES, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(s, 0);
		bool same = sqlite3_column_bytes(s, 0) == WIRE_HASH_BYTES &&
		            memcmp(h, r->hash, WIRE_HASH_BYTES) == 0;
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
	sqlite3_bind_int64(s, 13, (sqlite3_int64)r->detected_s);
	sqlite3_bind_int64(s, 14, (sqlite3_int64)r->response_ended_s);
	if (r->reporter_email != NULL)
		sqlite3_bind_text(s, 15, r->reporter_email, -1, SQLITE_STATIC);
	if (step_done(st, s, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < r->job_count; i++) {
		s = st->insert_job;
		sqlite3_bind_text(s, 1, r->report_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, r->jobs[i].recipient, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, r->jobs[i].channel, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, r->jobs[i].address, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, (sqlite3_int64)ms);
		sqlite3_bind_int64(s, 6, (sqlite3_int64)(ms + r->job_lifetime_ms));
		if (step_done(st, s, err, errlen) != 0)
			return -1;
	}
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

int store_accept_batch(struct store *st, struct accept_req **reqs, size_t n, uint64_t now,
                       char *err, size_t errlen)
{
	struct tx tx;
	pthread_mutex_lock(&st->lock);
	int rc = tx_begin(st, now, &tx, err, errlen);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = accept_one(st, reqs[i], tx.ms, err, errlen);
	rc = tx_end(st, &tx, rc, err, errlen);
	if (rc != 0)
		for (size_t i = 0; i < n; i++)
			reqs[i]->outcome = STORE_FAILED;
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
		snprintf(out->report_id, sizeof out->report_id, "%s",
		         (const char *)sqlite3_column_text(s, 0));
		snprintf(out->agency, sizeof out->agency, "%s",
		         (const char *)sqlite3_column_text(s, 1));
		snprintf(out->incident_id, sizeof out->incident_id, "%s",
		         (const char *)sqlite3_column_text(s, 2));
		snprintf(out->kind, sizeof out->kind, "%s",
		         (const char *)sqlite3_column_text(s, 3));
		snprintf(out->category, sizeof out->category, "%s",
		         (const char *)sqlite3_column_text(s, 4));
		snprintf(out->severity, sizeof out->severity, "%s",
		         (const char *)sqlite3_column_text(s, 5));
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
	if (sqlite3_open_v2(path, &rd->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	        SQLITE_OK ||
	    sqlite3_prepare_v3(rd->db,
	                       "SELECT hash, received_ms, log_index, incident_id FROM reports "
	                       "WHERE agency=?1 AND nonce=?2",
	                       -1, SQLITE_PREPARE_PERSISTENT, &rd->find, NULL) != SQLITE_OK) {
		seterr(err, errlen, "%s: %s", path,
		       rd->db ? sqlite3_errmsg(rd->db) : "cannot open");
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

int store_reader_nonce(struct store_reader *rd, const char *agency,
                       const uint8_t nonce[WIRE_NONCE_BYTES], uint8_t hash[WIRE_HASH_BYTES],
                       uint64_t *received_ms, uint64_t *log_index, char incident[65])
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

/* ---- delivery jobs ----------------------------------------------------------------------------
 */

const char *const job_state_names[] = {"pending",  "inflight",      "delivered",
                                       "deferred", "undeliverable", "failed"};

int store_jobs_recover(struct store *st, char *err, size_t errlen)
{
	pthread_mutex_lock(&st->lock);
	int rc = sqlite3_exec(st->db, "UPDATE jobs SET state=0 WHERE state=1", NULL, NULL, NULL) ==
	                 SQLITE_OK
	             ? 0
	             : seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(st->db));
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int store_jobs_claim(struct store *st, const char *channel, uint64_t now, size_t max,
                     struct job **jobs, size_t *count, char *err, size_t errlen)
{
	*jobs = NULL;
	*count = 0;
	sqlite3_stmt *s = NULL;
	int rc = 0;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db,
	                       "UPDATE jobs SET state=1 WHERE id IN (SELECT id FROM jobs WHERE "
	                       "channel=?1 AND state IN (0,3)"
	                       " AND next_ms<=?2 ORDER BY next_ms LIMIT ?3) RETURNING id, "
	                       "report_id, recipient, channel,"
	                       " address, attempts, created_ms, expires_ms",
	                       -1, &s, NULL) != SQLITE_OK) {
		rc = seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(st->db));
		goto out;
	}
	sqlite3_bind_text(s, 1, channel, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)now);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)max);
	struct job *out = xcalloc(max, sizeof *out);
	size_t n = 0;
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW && n < max) {
		struct job *j = &out[n++];
		j->id = sqlite3_column_int64(s, 0);
		snprintf(j->report_id, sizeof j->report_id, "%s",
		         (const char *)sqlite3_column_text(s, 1));
		snprintf(j->recipient, sizeof j->recipient, "%s",
		         (const char *)sqlite3_column_text(s, 2));
		snprintf(j->channel, sizeof j->channel, "%s",
		         (const char *)sqlite3_column_text(s, 3));
		j->address = xstrdup((const char *)sqlite3_column_text(s, 4));
		j->attempts = (unsigned)sqlite3_column_int(s, 5);
		j->created_ms = (uint64_t)sqlite3_column_int64(s, 6);
		j->expires_ms = (uint64_t)sqlite3_column_int64(s, 7);
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		rc = seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(st->db));
		store_jobs_free(out, n);
		goto out;
	}
	*jobs = out;
	*count = n;
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

void store_jobs_free(struct job *jobs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(jobs[i].address);
	free(jobs);
}

static int exec_bound(struct store *st, const char *sql, char *err, size_t errlen, const char *fmt,
                      ...)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(st->db));
	va_list ap;
	va_start(ap, fmt);
	for (int i = 1; fmt[i - 1]; i++) {
		if (fmt[i - 1] == 'i')
			sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
		else
			sqlite3_bind_text(s, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
	}
	va_end(ap);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW
	           ? 0
	           : seterr(err, errlen, "sqlite: %s", sqlite3_errmsg(st->db));
}

/* The log entry of a delivery attempt ("attempt", with its number) or of a delivery report ("dlr").
 */
static int append_delivery_entry(struct store *st, const char *type, const char *report_id,
                                 const char *recipient, const char *channel, const char *outcome,
                                 unsigned attempt, uint64_t at, char *err, size_t errlen)
{
	bool is_attempt = strcmp(type, "attempt") == 0;
	struct entry e;
	entry_begin(&e, is_attempt ? 7 : 6, type, report_id);
	entry_str(&e, "r", recipient);
	entry_str(&e, "c", channel);
	entry_str(&e, "o", outcome);
	if (is_attempt)
		entry_uint(&e, "n", attempt);
	entry_uint(&e, "at", at);
	return entry_append(st, &e, err, errlen);
}

int store_jobs_record(struct store *st, const struct job_outcome *o, size_t n, uint64_t now,
                      char *err, size_t errlen)
{
	struct tx tx;
	pthread_mutex_lock(&st->lock);
	int rc = tx_begin(st, now, &tx, err, errlen);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *detail = o[i].detail ? o[i].detail : "";
		rc = exec_bound(st,
		                "UPDATE jobs SET state=?1, attempts=?2, next_ms=?3, last_code=?4, "
		                "last_detail=?5 WHERE id=?6",
		                err, errlen, "iiiisi", (int64_t)o[i].state, (int64_t)o[i].attempt,
		                (int64_t)o[i].next_ms, (int64_t)o[i].code, detail, o[i].job_id);
		if (rc == 0 && o[i].notification != NULL) {
			/* What was sent last: an SMS recipient fetches it to check the code in its
			 * text. */
			sqlite3_stmt *u = NULL;
			if (sqlite3_prepare_v2(st->db,
			                       "UPDATE jobs SET notification=?1 WHERE id=?2", -1,
			                       &u, NULL) == SQLITE_OK) {
				sqlite3_bind_blob(u, 1, o[i].notification,
				                  (int)o[i].notification_len, SQLITE_STATIC);
				sqlite3_bind_int64(u, 2, o[i].job_id);
				if (sqlite3_step(u) != SQLITE_DONE)
					rc = seterr(err, errlen, "sqlite: %s",
					            sqlite3_errmsg(st->db));
			}
			sqlite3_finalize(u);
		}
		if (rc == 0)
			rc = exec_bound(st,
			                "INSERT INTO job_history(job_id, at_ms, attempt, outcome, "
			                "code, detail) VALUES(?1,?2,?3,?4,?5,?6)",
			                err, errlen, "iiisis", o[i].job_id, (int64_t)tx.ms,
			                (int64_t)o[i].attempt, o[i].outcome, (int64_t)o[i].code,
			                detail);
		if (rc == 0)
			rc = append_delivery_entry(st, "attempt", o[i].report_id, o[i].recipient,
			                           o[i].channel, o[i].outcome, o[i].attempt, tx.ms,
			                           err, errlen);
	}
	rc = tx_end(st, &tx, rc, err, errlen);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

uint64_t store_jobs_next_due(struct store *st, const char *channel)
{
	sqlite3_stmt *s = NULL;
	uint64_t next = 0;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT MIN(next_ms) FROM jobs WHERE channel=?1 AND state IN (0,3)",
	                       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, channel, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
			next = (uint64_t)sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return next;
}

int store_job_dlr(struct store *st, const char *report_id, const char *recipient,
                  const char *channel, const char *outcome, const char *detail, uint64_t now,
                  char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	struct tx tx;
	int64_t job_id = -1, attempts = 0;
	pthread_mutex_lock(&st->lock);
	int rc = tx_begin(st, now, &tx, err, errlen);
	if (rc == 0 &&
	    sqlite3_prepare_v2(
	        st->db,
	        "SELECT id, attempts FROM jobs WHERE report_id=?1 AND recipient=?2 AND channel=?3",
	        -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, report_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, recipient, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, channel, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW) {
			job_id = sqlite3_column_int64(s, 0);
			attempts = sqlite3_column_int64(s, 1);
		}
	}
	sqlite3_finalize(s);
	if (rc == 0 && job_id >= 0) {
		char *word = xasprintf("dlr:%s", outcome);
		rc = exec_bound(st,
		                "INSERT INTO job_history(job_id, at_ms, attempt, outcome, code, "
		                "detail) VALUES(?1,?2,?3,?4,0,?5)",
		                err, errlen, "iiiss", job_id, (int64_t)tx.ms, attempts, word,
		                detail ? detail : "");
		free(word);
		if (rc == 0)
			rc = append_delivery_entry(st, "dlr", report_id, recipient, channel,
			                           outcome, 0, tx.ms, err, errlen);
	}
	rc = tx_end(st, &tx, rc, err, errlen);
	pthread_mutex_unlock(&st->lock);
	return rc != 0 ? -1 : job_id >= 0 ? 1 : 0;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

char *store_jobs_json(struct store *st, const char *report_id)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		fatal("open_memstream");
	sqlite3_stmt *s = NULL, *h = NULL;
	pthread_mutex_lock(&st->lock);
	fputc('[', f);
	if (sqlite3_prepare_v2(
	        st->db,
	        "SELECT j.id, j.recipient, j.channel, j.address, j.state, j.attempts, j.next_ms, "
	        "j.last_code,"
	        " j.last_detail, a.at_ms, a.via, j.created_ms, j.escalated_from FROM jobs j LEFT "
	        "JOIN acks a ON a.report_id=j.report_id"
	        " AND a.recipient=j.recipient WHERE j.report_id=?1 ORDER BY j.recipient, j.channel",
	        -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(st->db,
	                       "SELECT at_ms, attempt, outcome, code, detail FROM job_history "
	                       "WHERE job_id=?1 ORDER BY rowid",
	                       -1, &h, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, report_id, -1, SQLITE_STATIC);
		for (int first = 1; sqlite3_step(s) == SQLITE_ROW; first = 0) {
			int state = sqlite3_column_int(s, 4);
			fprintf(f, "%s{\"recipient\":", first ? "" : ",");
			json_str(f, (const char *)sqlite3_column_text(s, 1));
			fprintf(f, ",\"channel\":");
			json_str(f, (const char *)sqlite3_column_text(s, 2));
			fprintf(f,
			        ",\"state\":\"%s\",\"attempts\":%d,\"next_ms\":%lld,\"last_code\":%"
			        "d,\"last_detail\":",
			        state >= 0 && state <= 5 ? job_state_names[state] : "?",
			        sqlite3_column_int(s, 5), (long long)sqlite3_column_int64(s, 6),
			        sqlite3_column_int(s, 7));
			json_str(f, (const char *)sqlite3_column_text(s, 8));
			fprintf(f, ",\"created_ms\":%lld", (long long)sqlite3_column_int64(s, 11));
			if (sqlite3_column_type(s, 12) != SQLITE_NULL) {
				fprintf(f, ",\"escalated_from\":");
				json_str(f, (const char *)sqlite3_column_text(s, 12));
			}
			if (sqlite3_column_type(s, 9) != SQLITE_NULL) {
				fprintf(f, ",\"acked_ms\":%lld,\"acked_via\":",
				        (long long)sqlite3_column_int64(s, 9));
				json_str(f, (const char *)sqlite3_column_text(s, 10));
			}
			fprintf(f, ",\"history\":[");
			sqlite3_bind_int64(h, 1, sqlite3_column_int64(s, 0));
			for (int hf = 1; sqlite3_step(h) == SQLITE_ROW; hf = 0) {
				fprintf(f, "%s{\"at_ms\":%lld,\"attempt\":%d,\"outcome\":",
				        hf ? "" : ",", (long long)sqlite3_column_int64(h, 0),
				        sqlite3_column_int(h, 1));
				json_str(f, (const char *)sqlite3_column_text(h, 2));
				fprintf(f, ",\"code\":%d,\"detail\":", sqlite3_column_int(h, 3));
				json_str(f, (const char *)sqlite3_column_text(h, 4));
				fputc('}', f);
			}
			sqlite3_reset(h);
			fprintf(f, "]}");
		}
	}
	fputc(']', f);
	sqlite3_finalize(s);
	sqlite3_finalize(h);
	pthread_mutex_unlock(&st->lock);
	fclose(f);
	return buf;
}

int store_endpoint_disable(struct store *st, const char *address, uint64_t now)
{
	pthread_mutex_lock(&st->lock);
	int rc = exec_bound(
	    st, "INSERT OR REPLACE INTO disabled_endpoints(address, at_ms) VALUES(?1, ?2)", NULL, 0,
	    "si", address, (int64_t)now);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

bool store_endpoint_disabled(struct store *st, const char *address)
{
	sqlite3_stmt *s = NULL;
	bool found = false;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM disabled_endpoints WHERE address=?1", -1, &s,
	                       NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, address, -1, SQLITE_STATIC);
		found = sqlite3_step(s) == SQLITE_ROW;
	}
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return found;
}

int store_incident_first(struct store *st, const char *incident_id, const char *recipient,
                         const char *channel, char report_id[REPORT_ID_CHARS + 1])
{
	sqlite3_stmt *s = NULL;
	int found = 0;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(
	        st->db,
	        "SELECT r.id FROM reports r CROSS JOIN jobs j ON j.report_id=r.id WHERE "
	        "r.incident_id=?1"
	        " AND j.recipient=?2 AND j.channel=?3 ORDER BY r.received_ms, r.log_index LIMIT 1",
	        -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, incident_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, recipient, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, channel, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW) {
			snprintf(report_id, REPORT_ID_CHARS + 1, "%s",
			         (const char *)sqlite3_column_text(s, 0));
			found = 1;
		}
	}
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return found;
}

int store_job_note(struct store *st, int64_t job_id, const char *outcome, const char *detail,
                   uint64_t now)
{
	pthread_mutex_lock(&st->lock);
	int rc = exec_bound(st,
	                    "INSERT INTO job_history(job_id, at_ms, attempt, outcome, code, detail)"
	                    " SELECT id, ?2, attempts, ?3, 0, ?4 FROM jobs WHERE id=?1",
	                    NULL, 0, "iiss", job_id, (int64_t)now, outcome, detail);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

int store_ack(struct store *st, const char *report_id, const char *recipient, const char *via,
              uint64_t now, uint64_t *at_ms, char *err, size_t errlen)
{
	sqlite3_stmt *q = NULL;
	struct tx tx;
	int result = 1;
	pthread_mutex_lock(&st->lock);
	int rc = tx_begin(st, now, &tx, err, errlen);
	bool routed = false;
	if (rc == 0 && sqlite3_prepare_v2(
	                   st->db, "SELECT 1 FROM jobs WHERE report_id=?1 AND recipient=?2 LIMIT 1",
	                   -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, report_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, recipient, -1, SQLITE_STATIC);
		routed = sqlite3_step(q) == SQLITE_ROW;
	}
	sqlite3_finalize(q);
	q = NULL;
	if (rc == 0 && !routed)
		result = -2;
	if (rc == 0 && result == 1 &&
	    sqlite3_prepare_v2(st->db, "SELECT at_ms FROM acks WHERE report_id=?1 AND recipient=?2",
	                       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, report_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, recipient, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW) {
			*at_ms = (uint64_t)sqlite3_column_int64(q, 0);
			result = 0;
		}
	}
	sqlite3_finalize(q);
	if (rc == 0 && result == 1) {
		rc = exec_bound(
		    st, "INSERT INTO acks(report_id, recipient, at_ms, via) VALUES(?1,?2,?3,?4)",
		    err, errlen, "ssis", report_id, recipient, (int64_t)tx.ms, via);
		if (rc == 0) {
			struct entry e;
			entry_begin(&e, 4, "ack", report_id);
			entry_str(&e, "r", recipient);
			entry_uint(&e, "at", tx.ms);
			rc = entry_append(st, &e, err, errlen);
		}
		*at_ms = tx.ms;
	}
	/* Nothing to write unless it is a new acknowledgement: roll back the others. */
	rc = tx_end(st, &tx, rc != 0 ? rc : result == 1 ? 0 : 1, err, errlen);
	pthread_mutex_unlock(&st->lock);
	if (result != 1)
		return result;
	return rc == 0 ? 1 : -1;
}

int store_sms_ack_lookup(struct store *st, const char *phone, int64_t since_ms,
                         char (*report_ids)[REPORT_ID_CHARS + 1],
                         char (*recipients)[AGENCY_ID_MAX + 1], size_t max, size_t *count)
{
	sqlite3_stmt *q = NULL;
	size_t n = 0;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT report_id, recipient FROM jobs WHERE channel='sms' AND "
	                       "address=?1 AND created_ms>=?2"
	                       " ORDER BY created_ms DESC LIMIT ?3",
	                       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, phone, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, since_ms);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)max);
		while (n < max && sqlite3_step(q) == SQLITE_ROW) {
			snprintf(report_ids[n], REPORT_ID_CHARS + 1, "%s",
			         (const char *)sqlite3_column_text(q, 0));
			snprintf(recipients[n], AGENCY_ID_MAX + 1, "%s",
			         (const char *)sqlite3_column_text(q, 1));
			n++;
		}
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	*count = n;
	return 0;
}

int store_escalation_candidates(struct store *st, uint64_t since_ms, uint64_t due_before_ms,
                                struct escalation_candidate **out, size_t *count)
{
	sqlite3_stmt *q = NULL;
	struct escalation_candidate *c = NULL;
	size_t n = 0, cap = 0;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(
	        st->db,
	        "SELECT j.report_id, j.recipient, r.severity, r.agency, MIN(j.created_ms),"
	        " (SELECT COALESCE(MAX(step), 0) FROM escalations e WHERE e.report_id=j.report_id"
	        "  AND e.recipient=j.recipient), r.drill"
	        " FROM jobs j JOIN reports r ON r.id=j.report_id"
	        " WHERE j.escalated_from IS NULL AND r.received_ms>=?1"
	        " AND NOT EXISTS (SELECT 1 FROM acks a WHERE a.report_id=j.report_id AND "
	        "a.recipient=j.recipient)"
	        " GROUP BY j.report_id, j.recipient HAVING MIN(j.created_ms)<=?2",
	        -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(q, 1, (sqlite3_int64)since_ms);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)due_before_ms);
		while (sqlite3_step(q) == SQLITE_ROW) {
			if (sqlite3_column_int(q, 5) >= 3)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				c = xrealloc(c, cap * sizeof *c);
			}
			struct escalation_candidate *e = &c[n++];
			memset(e, 0, sizeof *e);
			snprintf(e->report_id, sizeof e->report_id, "%s",
			         (const char *)sqlite3_column_text(q, 0));
			snprintf(e->recipient, sizeof e->recipient, "%s",
			         (const char *)sqlite3_column_text(q, 1));
			e->serious =
			    strcmp((const char *)sqlite3_column_text(q, 2), "serious") == 0;
			snprintf(e->agency, sizeof e->agency, "%s",
			         (const char *)sqlite3_column_text(q, 3));
			e->first_ms = (uint64_t)sqlite3_column_int64(q, 4);
			e->step = sqlite3_column_int(q, 5);
			e->drill = sqlite3_column_int(q, 6) != 0;
		}
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	*out = c;
	*count = n;
	return 0;
}

int store_escalate(struct store *st, const char *report_id, const char *recipient, int step,
                   const struct job_spec *targets, size_t n, uint64_t lifetime_ms, uint64_t now,
                   char *err, size_t errlen)
{
	char *list = NULL;
	size_t list_len = 0;
	FILE *f = open_memstream(&list, &list_len);
	if (f == NULL)
		fatal("open_memstream");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s/%s", i ? " " : "", targets[i].recipient, targets[i].channel);
	fclose(f);
	struct tx tx;
	pthread_mutex_lock(&st->lock);
	int rc = tx_begin(st, now, &tx, err, errlen);
	if (rc == 0)
		rc = exec_bound(st,
		                "INSERT INTO escalations(report_id, recipient, step, at_ms, "
		                "targets) VALUES(?1,?2,?3,?4,?5)",
		                err, errlen, "ssiis", report_id, recipient, (int64_t)step,
		                (int64_t)tx.ms, list);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = exec_bound(
		    st,
		    "INSERT OR IGNORE INTO jobs(report_id, recipient, channel, address, state, "
		    "attempts, next_ms,"
		    " created_ms, expires_ms, escalated_from) VALUES(?1,?2,?3,?4,0,0,?5,?5,?6,?7)",
		    err, errlen, "ssssiis", report_id, targets[i].recipient, targets[i].channel,
		    targets[i].address, (int64_t)tx.ms, (int64_t)(tx.ms + lifetime_ms), recipient);
	if (rc == 0) {
		struct entry e;
		entry_begin(&e, 6, "escalate", report_id);
		entry_str(&e, "r", recipient);
		entry_uint(&e, "s", (uint64_t)step);
		mpack_pack_str(&e.pk, "to");
		msgpack_pack_array(&e.pk, n);
		for (size_t i = 0; i < n; i++) {
			msgpack_pack_array(&e.pk, 2);
			mpack_pack_str(&e.pk, targets[i].recipient);
			mpack_pack_str(&e.pk, targets[i].channel);
		}
		entry_uint(&e, "at", tx.ms);
		rc = entry_append(st, &e, err, errlen);
	}
	rc = tx_end(st, &tx, rc, err, errlen);
	pthread_mutex_unlock(&st->lock);
	free(list);
	return rc;
}

bool store_job_exists(struct store *st, const char *report_id, const char *recipient,
                      const char *channel)
{
	sqlite3_stmt *q = NULL;
	bool found = false;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(
	        st->db, "SELECT 1 FROM jobs WHERE report_id=?1 AND recipient=?2 AND channel=?3", -1,
	        &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, report_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, recipient, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, channel, -1, SQLITE_STATIC);
		found = sqlite3_step(q) == SQLITE_ROW;
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	return found;
}

/* The incident's state from the kinds of its reports: closed once a closing report (Mẫu 04) is in.
 */
char *store_incident_json(struct store *st, const char *incident_id, const char *agency,
                          uint64_t now, uint64_t deadline_ms)
{
	sqlite3_stmt *q = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		fatal("open_memstream");
	size_t n = 0;
	uint64_t detected = 0, first_ms = 0, ended = 0, closed_ms = 0;
	bool responding = false, drill = false;
	pthread_mutex_lock(&st->lock);
	fprintf(f, "{\"incident_id\":");
	json_str(f, incident_id);
	fprintf(f, ",\"reports\":[");
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT id, kind, received_ms, drill, detected_s, response_ended_s, "
	                       "log_index, severity,"
	                       " category FROM reports WHERE incident_id=?1 AND agency=?2 ORDER BY "
	                       "received_ms, log_index",
	                       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, incident_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, agency, -1, SQLITE_STATIC);
		while (sqlite3_step(q) == SQLITE_ROW) {
			const char *kind = (const char *)sqlite3_column_text(q, 1);
			uint64_t at = (uint64_t)sqlite3_column_int64(q, 2);
			uint64_t det = (uint64_t)sqlite3_column_int64(q, 4),
			         end = (uint64_t)sqlite3_column_int64(q, 5);
			if (n == 0)
				first_ms = at;
			if (det != 0 && (detected == 0 || det < detected))
				detected = det;
			if (end != 0)
				ended = end;
			if (strcmp(kind, "closing") == 0 && closed_ms == 0)
				closed_ms = at;
			if (strcmp(kind, "update") == 0 || strcmp(kind, "response_plan") == 0 ||
			    strcmp(kind, "support_request") == 0)
				responding = true;
			drill |= sqlite3_column_int(q, 3) != 0;
			fprintf(f,
			        "%s{\"report_id\":\"%s\",\"kind\":\"%s\",\"received_ms\":%llu,"
			        "\"log_index\":%lld,"
			        "\"severity\":\"%s\",\"category\":\"%s\",\"drill\":%s}",
			        n ? "," : "", (const char *)sqlite3_column_text(q, 0), kind,
			        (unsigned long long)at, (long long)sqlite3_column_int64(q, 6),
			        (const char *)sqlite3_column_text(q, 7),
			        (const char *)sqlite3_column_text(q, 8),
			        sqlite3_column_int(q, 3) ? "true" : "false");
			n++;
		}
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	const char *state = closed_ms ? "closed" : (responding || ended) ? "responding" : "open";
	fprintf(f, "],\"state\":\"%s\",\"drill\":%s,\"clocks\":[", state, drill ? "true" : "false");
	/* 1. The notification: within 5 days of detection (TT 20 Art. 9.2.a). */
	if (detected != 0) {
		uint64_t due = detected * 1000 + deadline_ms;
		fprintf(f,
		        "{\"clock\":\"notification\",\"from_ms\":%llu,\"due_ms\":%llu,\"met_ms\":%"
		        "llu,\"state\":\"%s\"}",
		        (unsigned long long)(detected * 1000), (unsigned long long)due,
		        (unsigned long long)first_ms, first_ms <= due ? "met" : "late");
	}
	/* 2. The closing report (Mẫu 04): within 5 days of the end of the response (Art. 9.2.b). */
	if (ended != 0) {
		uint64_t due = ended * 1000 + deadline_ms;
		const char *cs = closed_ms ? (closed_ms <= due ? "met" : "late")
		                           : (now > due ? "overdue" : "running");
		fprintf(f, "%s{\"clock\":\"closing\",\"from_ms\":%llu,\"due_ms\":%llu",
		        detected ? "," : "", (unsigned long long)(ended * 1000),
		        (unsigned long long)due);
		if (closed_ms)
			fprintf(f, ",\"met_ms\":%llu", (unsigned long long)closed_ms);
		fprintf(f, ",\"state\":\"%s\"}", cs);
	}
	fprintf(f, "]}\n");
	fclose(f);
	if (n == 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int store_open_clocks(struct store *st, uint64_t deadline_ms, struct incident_clock **out,
                      size_t *count)
{
	sqlite3_stmt *q = NULL;
	struct incident_clock *c = NULL;
	size_t n = 0, cap = 0;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(
	        st->db,
	        "SELECT r.incident_id, r.agency, MAX(r.response_ended_s),"
	        " (SELECT reporter_email FROM reports x WHERE x.incident_id=r.incident_id AND "
	        "x.agency=r.agency"
	        "  AND x.reporter_email IS NOT NULL ORDER BY x.received_ms DESC LIMIT 1),"
	        " COALESCE((SELECT stage FROM clock_reminders m WHERE m.incident_id=r.agency || "
	        "'/' || r.incident_id), 0)"
	        " FROM reports r WHERE r.drill=0 GROUP BY r.incident_id, r.agency"
	        " HAVING MAX(r.response_ended_s) > 0 AND SUM(r.kind='closing') = 0",
	        -1, &q, NULL) == SQLITE_OK) {
		while (sqlite3_step(q) == SQLITE_ROW) {
			if (sqlite3_column_int(q, 4) >= 2)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 32;
				c = xrealloc(c, cap * sizeof *c);
			}
			struct incident_clock *k = &c[n++];
			memset(k, 0, sizeof *k);
			snprintf(k->incident_id, sizeof k->incident_id, "%s",
			         (const char *)sqlite3_column_text(q, 0));
			snprintf(k->agency, sizeof k->agency, "%s",
			         (const char *)sqlite3_column_text(q, 1));
			k->due_ms = (uint64_t)sqlite3_column_int64(q, 2) * 1000 + deadline_ms;
			if (sqlite3_column_type(q, 3) != SQLITE_NULL)
				snprintf(k->reporter_email, sizeof k->reporter_email, "%s",
				         (const char *)sqlite3_column_text(q, 3));
			k->reminded = sqlite3_column_int(q, 4);
		}
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	*out = c;
	*count = n;
	return 0;
}

int store_clock_reminded(struct store *st, const char *incident_id, int stage, uint64_t now)
{
	pthread_mutex_lock(&st->lock);
	int rc = exec_bound(
	    st,
	    "INSERT OR REPLACE INTO clock_reminders(incident_id, stage, at_ms) VALUES(?1,?2,?3)",
	    NULL, 0, "sii", incident_id, (int64_t)stage, (int64_t)now);
	pthread_mutex_unlock(&st->lock);
	return rc;
}

uint64_t store_clock_last(struct store *st, const char *key)
{
	sqlite3_stmt *q = NULL;
	uint64_t at = 0;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db, "SELECT at_ms FROM clock_reminders WHERE incident_id=?1", -1,
	                       &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			at = (uint64_t)sqlite3_column_int64(q, 0);
	}
	sqlite3_finalize(q);
	pthread_mutex_unlock(&st->lock);
	return at;
}

int store_notification_get(struct store *st, const char *report_prefix,
                           const char *const *recipients, size_t nrecipients, const char *channel,
                           uint8_t **out, size_t *outlen)
{
	sqlite3_stmt *q = NULL;
	int found = 0;
	*out = NULL;
	*outlen = 0;
	char *pattern = xasprintf("%s%%", report_prefix);
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < nrecipients && found >= 0; i++) {
		if (sqlite3_prepare_v2(st->db,
		                       "SELECT notification FROM jobs WHERE report_id LIKE ?1 AND "
		                       "recipient=?2 AND channel=?3"
		                       " AND notification IS NOT NULL LIMIT 2",
		                       -1, &q, NULL) != SQLITE_OK)
			break;
		sqlite3_bind_text(q, 1, pattern, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, recipients[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, channel, -1, SQLITE_STATIC);
		while (sqlite3_step(q) == SQLITE_ROW) {
			if (found == 1) {
				found = -2; /* the prefix names more than one report */
				break;
			}
			*outlen = (size_t)sqlite3_column_bytes(q, 0);
			*out = xmalloc(*outlen);
			memcpy(*out, sqlite3_column_blob(q, 0), *outlen);
			found = 1;
		}
		sqlite3_finalize(q);
		q = NULL;
	}
	pthread_mutex_unlock(&st->lock);
	free(pattern);
	if (found < 0) {
		free(*out);
		*out = NULL;
	}
	return found;
}
