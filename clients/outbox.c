/* outbox.c: durable client-side queue; submit, verify the receipt, rewrap when the clock was off.
 */
#include "outbox.h"

#include "httpc.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int ensure_dir(const char *dir, char *err, size_t errlen)
{
	char *copy = xstrdup(dir);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(copy, 0700);
		*p = '/';
	}
	int rc = mkdir(copy, 0700) == 0 || errno == EEXIST
	             ? 0
	             : seterr(err, errlen, "%s: %s", dir, strerror(errno));
	free(copy);
	return rc;
}

int outbox_put(const char *dir, const char *report_id, const uint8_t *envelope, size_t env_len,
               const uint8_t *report, size_t report_len, char *err, size_t errlen)
{
	if (ensure_dir(dir, err, errlen) != 0)
		return -1;
	char *rp = xasprintf("%s/%s.report", dir, report_id);
	char *ep = xasprintf("%s/%s.env", dir, report_id);
	/* The report first: an .env without its .report is never left behind. */
	int rc = file_write_atomic(rp, report, report_len, 0600, err, errlen);
	if (rc == 0)
		rc = file_write_atomic(ep, envelope, env_len, 0600, err, errlen);
	free(rp);
	free(ep);
	return rc;
}

static void move_to(const char *dir, const char *sub, const char *id, const char *what_ext,
                    const void *extra, size_t extra_len)
{
	char *d = xasprintf("%s/%s", dir, sub);
	char err[ERRBUF_MAX];
	ensure_dir(d, err, sizeof err);
	char *from_env = xasprintf("%s/%s.env", dir, id), *to_env = xasprintf("%s/%s.env", d, id);
	char *from_rep = xasprintf("%s/%s.report", dir, id);
	char *extra_path = xasprintf("%s/%s.%s", d, id, what_ext);
	if (extra != NULL)
		file_write_atomic(extra_path, extra, extra_len, 0600, err, sizeof err);
	rename(from_env, to_env);
	unlink(from_rep);
	free(d);
	free(from_env);
	free(to_env);
	free(from_rep);
	free(extra_path);
}

void receipt_print(const struct receipt *rc)
{
	char when[64], hash[2 * WIRE_HASH_BYTES + 1], kid[2 * KEY_ID_BYTES + 1];
	time_t t = (time_t)(rc->received_ms / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", &tm);
	hex_encode(hash, rc->hash, WIRE_HASH_BYTES);
	hex_encode(kid, rc->relay_kid, KEY_ID_BYTES);
	printf("Đã tiếp nhận báo cáo / report accepted\n");
	printf("  Mã báo cáo / report id:     %s\n", rc->report_id);
	printf("  Mã sự cố / incident id:     %s\n", rc->incident_id);
	printf("  Đơn vị / agency:            %s\n", rc->agency);
	printf("  Thời điểm nhận / received:  %s\n", when);
	printf("  Vị trí nhật ký / log index: %llu\n", (unsigned long long)rc->log_index);
	printf("  Băm / hash:                 %s\n", hash);
	printf("  Biên nhận ký bởi relay / receipt signed by relay key %s: hợp lệ / valid\n", kid);
}

static int load(const char *path, uint8_t **buf, size_t *len)
{
	char err[ERRBUF_MAX];
	return file_read_all(path, ENVELOPE_MAX_BYTES, buf, len, err, sizeof err);
}

/* Asks the relay whether it holds report id; 1 yes (receipt filled), 0 no, -1 unknown. */
static int relay_has(struct client *cl, const char *id, int64_t clock_offset, struct receipt *rc)
{
	char *path = xasprintf("/v1/reports/%s", id);
	struct http_reply r;
	int found = -1;
	/* Signed on the relay's clock: ours is the reason we are asking. */
	client_get(cl, path, clock_offset, &r);
	if (r.status == 404)
		found = 0;
	else if (r.status == 200) {
		char *b64 = json_member((const char *)r.body, "receipt");
		uint8_t raw[1024];
		long n = b64 ? b64_decode(raw, sizeof raw, b64, strlen(b64)) : -1;
		char err[ERRBUF_MAX];
		if (n > 0 && receipt_decode(raw, (size_t)n, rc, err, sizeof err) == 0 &&
		    receipt_verify(rc, cl->relay_pk) == 0)
			found = 1;
		free(b64);
	}
	http_reply_clear(&r);
	free(path);
	return found;
}

static enum submit_result post_once(struct client *cl, const uint8_t *env, size_t env_len,
                                    const char *id, struct receipt *rc, char *code, size_t codelen,
                                    int64_t *relay_time, char *reason, size_t reasonlen)
{
	char *url = xasprintf("%s/v1/reports", cl->relay_url);
	struct http_reply r;
	enum submit_result res;
	char err[ERRBUF_MAX];
	code[0] = '\0';
	http_request(url, "application/msgpack", env, env_len, NULL, &r);
	free(url);
	if (r.status == 200 || r.status == 202) {
		if (receipt_decode(r.body, r.len, rc, err, sizeof err) != 0) {
			snprintf(reason, reasonlen,
			         "biên nhận không đọc được / unreadable receipt: %s", err);
			res = SUBMIT_LATER;
		} else if (receipt_verify(rc, cl->relay_pk) != 0 ||
		           strcmp(rc->report_id, id) != 0) {
			snprintf(reason, reasonlen,
			         "chữ ký biên nhận không hợp lệ hoặc sai báo cáo / receipt "
			         "signature invalid or for another report");
			res = SUBMIT_LATER;
		} else {
			res = SUBMIT_ACCEPTED;
		}
	} else if (r.status == 0 || r.status >= 500 || r.status == 429 || r.status == 408) {
		snprintf(reason, reasonlen,
		         "relay chưa nhận, sẽ gửi lại / relay did not take it, will retry: %s",
		         r.status == 0 ? r.error : (const char *)r.body);
		res = SUBMIT_LATER;
	} else {
		char *c = json_member((const char *)r.body, "error");
		char *why = json_member((const char *)r.body, "reason");
		char *t = json_member((const char *)r.body, "relay_time");
		snprintf(code, codelen, "%s", c ? c : "");
		*relay_time = t ? strtoll(t, NULL, 10) : 0;
		snprintf(reason, reasonlen, "HTTP %ld %s: %s", r.status, c ? c : "",
		         why ? why : (const char *)r.body);
		free(c);
		free(why);
		free(t);
		res = SUBMIT_REJECTED;
	}
	http_reply_clear(&r);
	return res;
}

enum submit_result outbox_send(struct client *cl, const char *report_id, struct receipt *rc,
                               char *final_id, char *reason, size_t reasonlen)
{
	char *ep = xasprintf("%s/%s.env", cl->outbox, report_id);
	char *rp = xasprintf("%s/%s.report", cl->outbox, report_id);
	uint8_t *env = NULL, *rep = NULL;
	size_t env_len = 0, rep_len = 0;
	enum submit_result res = SUBMIT_LATER;
	char code[64], id[REPORT_ID_CHARS + 1];
	int64_t relay_time = 0;
	snprintf(id, sizeof id, "%s", report_id);
	if (load(ep, &env, &env_len) != 0 || load(rp, &rep, &rep_len) != 0) {
		snprintf(reason, reasonlen, "%s: không đọc được / unreadable", ep);
		goto out;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		res = post_once(cl, env, env_len, id, rc, code, sizeof code, &relay_time, reason,
		                reasonlen);
		if (res == SUBMIT_REJECTED && strcmp(code, "future") == 0) {
			/* The unit's clock is ahead. This envelope becomes acceptable once the
			 * clocks meet, so wrapping the report again could make a second report: it
			 * waits, and we say why. */
			snprintf(reason + strlen(reason), reasonlen - strlen(reason),
			         "; đồng hồ máy đi nhanh %lld giây: hãy chỉnh giờ rồi gửi lại / "
			         "this computer's clock is %lld s ahead: fix it and flush again",
			         (long long)(now_s() - relay_time),
			         (long long)(now_s() - relay_time));
			res = SUBMIT_LATER;
			break;
		}
		if (res != SUBMIT_REJECTED || strcmp(code, "stale") != 0 || attempt == 1)
			break;
		/* The unit's clock is behind. The relay refuses this envelope for ever, so unless
		 * it was stored before (a lost reply), a new envelope is safe and cannot make a
		 * second report. */
		int has = relay_has(cl, id, relay_time - now_s(), rc);
		if (has == 1) {
			res = SUBMIT_ACCEPTED;
			break;
		}
		if (has < 0) {
			res = SUBMIT_LATER;
			break;
		}
		int64_t offset = relay_time - now_s();
		fprintf(stderr,
		        "Đồng hồ máy lệch %lld giây so với relay; gói lại báo cáo / clock is %lld "
		        "s off the relay's; rewrapping\n",
		        (long long)offset, (long long)offset);
		uint8_t *fresh = NULL;
		size_t fresh_len = 0;
		char err[ERRBUF_MAX];
		struct envelope e;
		uint8_t hash[WIRE_HASH_BYTES];
		if (envelope_create(cl->kp, cl->agency, cl->relay_xpk, rep, rep_len,
		                    (uint64_t)(now_s() + offset), &fresh, &fresh_len, err,
		                    sizeof err) != 0 ||
		    envelope_decode(fresh, fresh_len, &e, err, sizeof err) != 0) {
			free(fresh);
			snprintf(reason, reasonlen, "%s", err);
			break;
		}
		envelope_hash(&e, hash);
		envelope_clear(&e);
		char new_id[REPORT_ID_CHARS + 1];
		report_id_from_hash(hash, new_id);
		if (outbox_put(cl->outbox, new_id, fresh, fresh_len, rep, rep_len, err,
		               sizeof err) != 0) {
			free(fresh);
			snprintf(reason, reasonlen, "%s", err);
			res = SUBMIT_LATER;
			break;
		}
		move_to(cl->outbox, "superseded", id, "by", new_id, strlen(new_id));
		free(env);
		env = fresh;
		env_len = fresh_len;
		snprintf(id, sizeof id, "%s", new_id);
	}
	if (res == SUBMIT_ACCEPTED) {
		uint8_t *enc;
		size_t enc_len;
		receipt_encode(rc, &enc, &enc_len);
		move_to(cl->outbox, "sent", id, "receipt", enc, enc_len);
		free(enc);
	} else if (res == SUBMIT_REJECTED) {
		move_to(cl->outbox, "rejected", id, "reason", reason, strlen(reason));
	}
out:
	if (final_id != NULL)
		snprintf(final_id, REPORT_ID_CHARS + 1, "%s", id);
	free(env);
	if (rep != NULL)
		sodium_memzero(rep, rep_len);
	free(rep);
	free(ep);
	free(rp);
	return res;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int outbox_flush(struct client *cl, unsigned *sent, unsigned *waiting, unsigned *rejected)
{
	*sent = *waiting = *rejected = 0;
	char err[ERRBUF_MAX];
	if (ensure_dir(cl->outbox, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	/* One flusher at a time, so two runs never send the same entry concurrently. */
	char *lock_path = xasprintf("%s/.lock", cl->outbox);
	int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lock_path);
	if (lock < 0 || flock(lock, LOCK_EX) != 0) {
		if (lock >= 0)
			close(lock);
		return -1;
	}
	struct dirent **names = NULL;
	int n = scandir(cl->outbox, &names, NULL, by_name);
	bool relay_down = false;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		if (len == REPORT_ID_CHARS + 4 && strcmp(name + REPORT_ID_CHARS, ".env") == 0) {
			char id[REPORT_ID_CHARS + 1], final_id[REPORT_ID_CHARS + 1], reason[1024];
			memcpy(id, name, REPORT_ID_CHARS);
			id[REPORT_ID_CHARS] = '\0';
			if (relay_down) {
				(*waiting)++;
			} else {
				struct receipt rc;
				enum submit_result r =
				    outbox_send(cl, id, &rc, final_id, reason, sizeof reason);
				if (r == SUBMIT_ACCEPTED) {
					(*sent)++;
					receipt_print(&rc);
				} else if (r == SUBMIT_REJECTED) {
					(*rejected)++;
					fprintf(stderr, "Bị từ chối / rejected %s: %s\n", id,
					        reason);
				} else {
					(*waiting)++;
					relay_down = true;
					fprintf(stderr, "%s\n", reason);
				}
			}
		}
		free(names[i]);
	}
	free(names);
	flock(lock, LOCK_UN);
	close(lock);
	return 0;
}
