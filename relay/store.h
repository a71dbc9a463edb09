/* store.h: the durable store behind a small interface (SQLite WAL by default). */
#ifndef TBSC_STORE_H
#define TBSC_STORE_H

#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

enum store_outcome {
	STORE_ACCEPTED,  /* newly stored */
	STORE_DUPLICATE, /* the very same envelope was stored before: same receipt data */
	STORE_REPLAY,    /* the nonce was used before by this agency with another envelope */
	STORE_FAILED,    /* the commit failed; nothing was stored */
};

/* One report waiting for the group commit. Inputs first, then what the commit fills in. */
/* One delivery job the accept creates: (report, recipient, channel) at an address. */
struct job_spec {
	const char *recipient;
	const char *channel;
	const char *address;
};

struct accept_req {
	uint8_t hash[WIRE_HASH_BYTES];
	char report_id[REPORT_ID_CHARS + 1];
	char agency[AGENCY_ID_MAX + 1];
	uint8_t nonce[WIRE_NONCE_BYTES];
	char incident_id[65];
	const char *kind, *category, *severity;
	bool drill;
	uint64_t detected_s, response_ended_s; /* the report's legal clock inputs, 0 when absent */
	const char *reporter_email;            /* where deadline reminders go, may be NULL */
	const uint8_t *envelope;
	size_t envelope_len;
	const struct job_spec *jobs; /* committed with the report, and named in its log entry */
	size_t job_count;
	uint64_t job_lifetime_ms;

	enum store_outcome outcome;
	uint64_t received_ms;
	uint64_t log_index;
	char incident_stored[65];

	/* Called by the committer thread once the outcome is durable. */
	void (*done)(struct accept_req *req);
	void *ctx;
	struct accept_req *next;
};

struct stored_report {
	char report_id[REPORT_ID_CHARS + 1];
	char agency[AGENCY_ID_MAX + 1];
	char incident_id[65];
	char kind[32];
	char category[32];
	char severity[16];
	bool drill;
	uint64_t received_ms;
	uint64_t log_index;
	uint8_t hash[WIRE_HASH_BYTES];
	uint8_t *envelope; /* malloc'd; NULL unless asked for */
	size_t envelope_len;
};

/* Opens (creating if needed) the store at path; WAL, synchronous=FULL. NULL with err. */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *st);

/*
 * Commits a batch in one transaction (one fsync): each report with its acceptance log
 * entry, duplicates and replays resolved against earlier rows. 0 when committed; -1 when
 * the transaction failed (every req then has STORE_FAILED and nothing was stored).
 * Only one thread may call this.
 */
int store_accept_batch(struct store *st, struct accept_req **reqs, size_t n, uint64_t now_ms,
                       char *err, size_t errlen);

/* Looks a report up by id; 1 found, 0 not found, -1 error. want_envelope fills out->envelope. */
int store_report_get(struct store *st, const char *report_id, bool want_envelope,
                     struct stored_report *out, char *err, size_t errlen);
void stored_report_clear(struct stored_report *r);

/* Number of log entries and a batch of entries from index `from` (malloc'd; free each and arrays).
 */
int store_log_count(struct store *st, uint64_t *count, char *err, size_t errlen);
int store_log_read(struct store *st, uint64_t from, size_t max, uint8_t ***entries, size_t **lens,
                   size_t *count, char *err, size_t errlen);
/* Number of stored reports (for tests and the demo). */
int store_report_count(struct store *st, uint64_t *count);

/* The canonical acceptance log entry (msgpack), malloc'd. */
uint8_t *store_accept_entry(const struct accept_req *req, size_t *len);

/* A read-only connection for one thread (WAL readers never wait for the writer). */
struct store_reader;
struct store_reader *store_reader_open(const char *path, char *err, size_t errlen);
void store_reader_close(struct store_reader *rd);
/* Looks up (agency, nonce): 1 found (fills hash, received_ms, log_index, incident), 0 not, -1
 * error. */
int store_reader_nonce(struct store_reader *rd, const char *agency,
                       const uint8_t nonce[WIRE_NONCE_BYTES], uint8_t hash[WIRE_HASH_BYTES],
                       uint64_t *received_ms, uint64_t *log_index, char incident[65]);

/* ---- delivery jobs ---- */

enum job_state {
	JOB_PENDING,
	JOB_INFLIGHT,
	JOB_DELIVERED,
	JOB_DEFERRED,
	JOB_UNDELIVERABLE,
	JOB_FAILED
};
extern const char *const job_state_names[]; /* "pending", "inflight", "delivered", ... */

struct job {
	int64_t id;
	char report_id[REPORT_ID_CHARS + 1];
	char recipient[AGENCY_ID_MAX + 1];
	char channel[16];
	char *address; /* malloc'd */
	unsigned attempts;
	uint64_t created_ms, expires_ms;
};

/* What one attempt came to; state is the job's new state. */
struct job_outcome {
	int64_t job_id;
	const char *report_id, *recipient, *channel; /* for the log entry */
	enum job_state state;
	const char *outcome; /* log word: "delivered", "deferred", "failed", "undeliverable" */
	unsigned attempt;
	uint64_t next_ms; /* for deferred */
	int code;
	const char *detail;
	const uint8_t *notification; /* the notification this attempt sent, kept for the recipient;
	                                may be NULL */
	size_t notification_len;
};

/* After a crash, jobs marked in flight go back to pending (at-least-once). */
int store_jobs_recover(struct store *st, char *err, size_t errlen);
/* Marks up to max due jobs of channel in flight and returns them (free with store_jobs_free). */
int store_jobs_claim(struct store *st, const char *channel, uint64_t now_ms, size_t max,
                     struct job **jobs, size_t *count, char *err, size_t errlen);
void store_jobs_free(struct job *jobs, size_t count);
/* Records outcomes, their history rows and their log entries in one transaction. */
int store_jobs_record(struct store *st, const struct job_outcome *o, size_t n, uint64_t now_ms,
                      char *err, size_t errlen);
/* The earliest next_ms of a waiting job of channel, or 0 when none waits. */
uint64_t store_jobs_next_due(struct store *st, const char *channel);
/* Records a delivery report for notification nid (log entry "dlr"); 1 recorded, 0 unknown nid, -1
 * error. */
int store_job_dlr(struct store *st, const char *nid_report, const char *recipient,
                  const char *channel, const char *outcome, const char *detail, uint64_t now_ms,
                  char *err, size_t errlen);
/* JSON array of a report's jobs with their history (malloc'd). */
char *store_jobs_json(struct store *st, const char *report_id);
/* The first report of incident that was routed to (recipient, channel): threads updates; 1 found, 0
 * not. */
int store_incident_first(struct store *st, const char *incident_id, const char *recipient,
                         const char *channel, char report_id[REPORT_ID_CHARS + 1]);
/* Appends a history row to a job (no log entry): e.g. who was told it is undeliverable. */
int store_job_note(struct store *st, int64_t job_id, const char *outcome, const char *detail,
                   uint64_t now_ms);
/*
 * Records that recipient acknowledged report_id (via "signed", "link", "sms", "webhook"): 1 newly
 * recorded (with its "ack" log entry), 0 acknowledged before (*at_ms the first time), -2 the report
 * was never routed to that recipient, -1 error.
 */
int store_ack(struct store *st, const char *report_id, const char *recipient, const char *via,
              uint64_t now_ms, uint64_t *at_ms, char *err, size_t errlen);
/* The latest SMS jobs sent to phone since since_ms (newest first), for matching an "ACK <code>"
 * reply. */
int store_sms_ack_lookup(struct store *st, const char *phone, int64_t since_ms,
                         char (*report_ids)[REPORT_ID_CHARS + 1],
                         char (*recipients)[AGENCY_ID_MAX + 1], size_t max, size_t *count);
/* (report, recipient) pairs routed since since_ms, not acknowledged, with fewer than 3 escalation
 * steps. */
struct escalation_candidate {
	char report_id[REPORT_ID_CHARS + 1];
	char recipient[AGENCY_ID_MAX + 1];
	char agency[AGENCY_ID_MAX + 1]; /* reporting agency */
	bool serious, drill;
	uint64_t first_ms; /* when the recipient's first job was created */
	int step;          /* escalation steps taken so far */
};
int store_escalation_candidates(struct store *st, uint64_t since_ms, uint64_t due_before_ms,
                                struct escalation_candidate **out, size_t *count);
/* Records escalation step for (report, recipient): new jobs for targets and an "escalate" log
 * entry, one transaction. */
int store_escalate(struct store *st, const char *report_id, const char *recipient, int step,
                   const struct job_spec *targets, size_t n, uint64_t lifetime_ms, uint64_t now_ms,
                   char *err, size_t errlen);
bool store_job_exists(struct store *st, const char *report_id, const char *recipient,
                      const char *channel);
/* The incident's timeline as JSON (reports, state, legal clocks, reminders); NULL when unknown. */
char *store_incident_json(struct store *st, const char *incident_id, const char *agency,
                          uint64_t now_ms, uint64_t deadline_ms);
/* Incidents with a closing deadline (response ended + deadline_ms) not yet met, for reminders. */
struct incident_clock {
	char incident_id[65];
	char agency[AGENCY_ID_MAX + 1];
	char reporter_email[256];
	uint64_t due_ms;
	int reminded; /* 0 none, 1 reminder before the deadline sent, 2 deadline-passed notice sent
	               */
};
int store_open_clocks(struct store *st, uint64_t deadline_ms, struct incident_clock **out,
                      size_t *count);
/* When the reminder named key was last sent (Unix ms, 0 never). */
uint64_t store_clock_last(struct store *st, const char *key);
/* Remembers a reminder stage (1 or 2) for an incident. */
int store_clock_reminded(struct store *st, const char *incident_id, int stage, uint64_t now_ms);
/* The notification last sent for a report (id or its first 8+ characters) to one of recipients on
 * channel: 1 found (*out malloc'd), 0 none, -2 the prefix is ambiguous. */
int store_notification_get(struct store *st, const char *report_prefix,
                           const char *const *recipients, size_t nrecipients, const char *channel,
                           uint8_t **out, size_t *outlen);
/* Endpoints disabled by a 410. */
int store_endpoint_disable(struct store *st, const char *address, uint64_t now_ms);
bool store_endpoint_disabled(struct store *st, const char *address);

#endif
