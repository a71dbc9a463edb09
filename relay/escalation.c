/* escalation.c: unacknowledged notifications escalate step by step, each step committed and logged.
 */
#include "escalation.h"

#include "delivery.h"
#include "logsync.h"
#include "relay.h"
#include "summary.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ESCALATION_WINDOW_MS (14ull * 86400 * 1000)
#define TARGETS_MAX          64

struct escalation {
	struct relay *relay;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
};

/* Adds every channel of rc that has an address and no job for the report yet. */
static void add_targets(struct relay *relay, const char *report_id, bool drill,
                        const struct recipient *rc, struct job_spec *t, size_t *n)
{
	if (drill && !rc->drill)
		return; /* a drill never reaches those who do not take part */
	for (int c = 0; c < CHANNEL_KIND_COUNT && *n < TARGETS_MAX; c++) {
		if (rc->address[c] == NULL ||
		    store_job_exists(relay->store, report_id, rc->id, channel_names[c]))
			continue;
		/* a channel the relay has no server for would wait for ever */
		if ((c == CHANNEL_EMAIL && relay->cfg->smtp_host[0] == '\0') ||
		    (c == CHANNEL_SMS && relay->cfg->sms_url[0] == '\0'))
			continue;
		bool dup = false;
		for (size_t i = 0; i < *n; i++)
			dup |= !strcmp(t[i].recipient, rc->id) &&
			       !strcmp(t[i].channel, channel_names[c]);
		if (!dup)
			t[(*n)++] = (struct job_spec){xstrdup(rc->id), channel_names[c],
			                              xstrdup(rc->address[c])};
	}
}

/*
 * Targets of step (1..3) for a recipient that has not acknowledged: 1 its other channels, 2 its
 * organisation's next contact (backup), 3 the commune office of the reporter's commune.
 */
static size_t step_targets(struct relay *relay, const struct escalation_candidate *c, int step,
                           struct job_spec *t)
{
	size_t n = 0;
	const struct recipient *rc = routing_find(relay->routing, c->recipient);
	if (rc == NULL)
		return 0;
	if (step == 1) {
		add_targets(relay, c->report_id, c->drill, rc, t, &n);
	} else if (step == 2) {
		const struct recipient *b =
		    rc->backup ? routing_find(relay->routing, rc->backup) : NULL;
		if (b != NULL)
			add_targets(relay, c->report_id, c->drill, b, t, &n);
	} else {
		const struct agency *reporter = registry_find(relay->registry, c->agency);
		const char *group = reporter ? reporter->group : "";
		for (size_t i = 0; i < relay->routing->recipient_count; i++) {
			const struct recipient *o = &relay->routing->recipients[i];
			if (strcmp(o->role, "commune_office") == 0 &&
			    strcmp(o->group, group) == 0 && strcmp(o->id, rc->id) != 0 &&
			    !o->standby)
				add_targets(relay, c->report_id, c->drill, o, t, &n);
		}
	}
	return n;
}

/* The last step also tells the commune office, in words, who has not acknowledged what. */
static void tell_office(struct relay *relay, const struct escalation_candidate *c,
                        uint64_t waited_ms)
{
	char *to[16];
	size_t nto = 0;
	pthread_rwlock_rdlock(&relay->registry_lock);
	const struct agency *reporter = registry_find(relay->registry, c->agency);
	const char *group = reporter ? reporter->group : "";
	const struct recipient *rc = routing_find(relay->routing, c->recipient);
	char *who = xstrdup(rc ? rc->name : c->recipient);
	for (size_t i = 0; i < relay->routing->recipient_count && nto < 16; i++) {
		const struct recipient *o = &relay->routing->recipients[i];
		if (strcmp(o->role, "commune_office") == 0 && strcmp(o->group, group) == 0 &&
		    o->address[CHANNEL_EMAIL] && (!c->drill || o->drill) &&
		    strcmp(o->id, c->recipient) != 0 && !o->standby)
			to[nto++] = xstrdup(o->address[CHANNEL_EMAIL]);
	}
	pthread_rwlock_unlock(&relay->registry_lock);
	char *subject = xasprintf("[TBSC] %sChưa xác nhận / not acknowledged: %s",
	                          c->drill ? "[DIỄN TẬP] " : "", who);
	char *text = xasprintf(
	    "%s (%s) chưa xác nhận đã nhận báo cáo %s sau %llu phút, dù đã được nhắc lại.\n"
	    "%s (%s) has not acknowledged report %s after %llu minutes, although reminded.\n\n"
	    "Đơn vị báo cáo / reporting agency: %s\nHãy liên lạc trực tiếp / please reach them "
	    "directly.\n",
	    who, c->recipient, c->report_id, (unsigned long long)(waited_ms / 60000), who,
	    c->recipient, c->report_id, (unsigned long long)(waited_ms / 60000), c->agency);
	char results[16][ERRBUF_MAX], *rp[16];
	for (size_t i = 0; i < 16; i++)
		rp[i] = results[i];
	char tag[128];
	snprintf(tag, sizeof tag, "escalation/%s/%s", c->report_id, c->recipient);
	delivery_notice(relay, to, nto, tag, subject, text, rp);
	for (size_t i = 0; i < nto; i++)
		free(to[i]);
	free(who);
	free(subject);
	free(text);
}

static long deadline_minutes(const struct relay *relay, const struct recipient *rc, bool serious)
{
	if (rc != NULL && rc->ack_minutes[serious] > 0)
		return rc->ack_minutes[serious];
	return serious ? relay->cfg->ack_serious_minutes : relay->cfg->ack_normal_minutes;
}

size_t escalation_run(struct relay *relay, uint64_t now)
{
	struct escalation_candidate *cands = NULL;
	size_t count = 0, steps = 0;
	if (relay->routing == NULL)
		return 0;
	/* Only pairs whose first step may be due: first notified at least the shortest deadline
	 * ago. */
	uint64_t shortest = 0;
	pthread_rwlock_rdlock(&relay->registry_lock);
	for (size_t i = 0; i < relay->routing->recipient_count; i++)
		for (int s = 0; s < 2; s++) {
			uint64_t m =
			    (uint64_t)deadline_minutes(relay, &relay->routing->recipients[i], s) *
			    60000;
			if (m > 0 && (shortest == 0 || m < shortest))
				shortest = m;
		}
	pthread_rwlock_unlock(&relay->registry_lock);
	if (shortest == 0)
		return 0;
	store_escalation_candidates(relay->store,
	                            now > ESCALATION_WINDOW_MS ? now - ESCALATION_WINDOW_MS : 0,
	                            now > shortest ? now - shortest : 0, &cands, &count);
	for (size_t i = 0; i < count; i++) {
		const struct escalation_candidate *c = &cands[i];
		struct job_spec t[TARGETS_MAX];
		size_t n = 0;
		int step = c->step;
		pthread_rwlock_rdlock(&relay->registry_lock);
		const struct recipient *rc = routing_find(relay->routing, c->recipient);
		uint64_t period = (uint64_t)deadline_minutes(relay, rc, c->serious) * 60000;
		/* Step k is due k periods after the first notification; a step with nobody to add
		 * passes straight to the next one. */
		while (period > 0 && step < 3 &&
		       now >= c->first_ms + period * (uint64_t)(step + 1) && n == 0)
			n = step_targets(relay, c, ++step, t);
		pthread_rwlock_unlock(&relay->registry_lock);
		if (step == c->step)
			continue;
		char err[ERRBUF_MAX];
		if (store_escalate(relay->store, c->report_id, c->recipient, step, t, n,
		                   (uint64_t)relay->cfg->lifetime * 1000, now, err,
		                   sizeof err) != 0) {
			log_error("leo thang / escalation %s %s: %s", c->report_id, c->recipient,
			          err);
		} else {
			if (step == 3)
				tell_office(relay, c, period * 3);
			steps++;
			log_info("leo thang / escalated %s: %s chưa xác nhận / not acknowledged, "
			         "bước / step %d -> %zu %s",
			         c->report_id, c->recipient, step, n,
			         n ? "new deliveries" : "(nobody to add)");
		}
		for (size_t k = 0; k < n; k++) {
			free((char *)t[k].recipient);
			free((char *)t[k].address);
		}
	}
	free(cands);
	if (steps > 0) {
		delivery_kick(relay->delivery);
		if (relay->logsync != NULL)
			logsync_kick(relay->logsync);
	}
	return steps;
}

/*
 * Legal clocks: the closing report (Mẫu 04) is due deadline_days after the end of the response.
 * remind_hours before, the reporting unit is reminded; once it passes, the commune office is told.
 */
size_t clocks_run(struct relay *relay, uint64_t now)
{
	struct incident_clock *c = NULL;
	size_t n = 0, sent = 0;
	uint64_t deadline = (uint64_t)relay->cfg->deadline_days * 86400000ull;
	uint64_t before = (uint64_t)relay->cfg->remind_hours * 3600000ull;
	store_open_clocks(relay->store, deadline, &c, &n);
	for (size_t i = 0; i < n; i++) {
		int stage = now > c[i].due_ms ? 2 : now + before >= c[i].due_ms ? 1 : 0;
		if (stage <= c[i].reminded)
			continue;
		char *to[16];
		size_t nto = 0;
		pthread_rwlock_rdlock(&relay->registry_lock);
		const struct agency *reporter = registry_find(relay->registry, c[i].agency);
		const char *group = reporter ? reporter->group : "";
		if (stage == 1 && c[i].reporter_email[0])
			to[nto++] = xstrdup(c[i].reporter_email);
		for (size_t k = 0;
		     relay->routing && k < relay->routing->recipient_count && nto < 16; k++) {
			const struct recipient *rc = &relay->routing->recipients[k];
			bool office = strcmp(rc->role, "commune_office") == 0 &&
			              strcmp(rc->group, group) == 0;
			bool unit = strcmp(rc->agency, c[i].agency) == 0;
			if (((stage == 2 && office) || unit) && rc->address[CHANNEL_EMAIL] != NULL)
				to[nto++] = xstrdup(rc->address[CHANNEL_EMAIL]);
		}
		pthread_rwlock_unlock(&relay->registry_lock);
		time_t due = (time_t)(c[i].due_ms / 1000) + 7 * 3600;
		struct tm tm;
		char when[32];
		gmtime_r(&due, &tm);
		strftime(when, sizeof when, "%d/%m/%Y %H:%M", &tm);
		char *subject = stage == 1 ? xasprintf("[TBSC] Nhắc hạn nộp báo cáo kết thúc (Mẫu "
		                                       "04) / closing report due: %s",
		                                       c[i].incident_id)
		                           : xasprintf("[TBSC] Quá hạn báo cáo kết thúc (Mẫu 04) / "
		                                       "closing report overdue: %s",
		                                       c[i].incident_id);
		char *text = xasprintf(
		    "%s\nSự cố / incident: %s\nĐơn vị báo cáo / reporting agency: %s\n"
		    "Hạn nộp Mẫu 04 (%ld ngày sau khi kết thúc ứng phó, TT 20/2017 Điều 9.2.b) / "
		    "due %ld days after the response ended: %s (giờ Việt Nam / UTC+7)\n",
		    stage == 1 ? "Đề nghị gửi báo cáo kết thúc ứng phó (Mẫu 04) trước hạn.\nPlease "
		                 "file the closing report before the deadline."
		               : "Đã quá hạn mà chưa có báo cáo kết thúc ứng phó (Mẫu 04).\nThe "
		                 "closing report is overdue.",
		    c[i].incident_id, c[i].agency, relay->cfg->deadline_days,
		    relay->cfg->deadline_days, when);
		char results[16][ERRBUF_MAX], *rp[16];
		for (size_t k = 0; k < 16; k++)
			rp[k] = results[k];
		char tag[128];
		snprintf(tag, sizeof tag, "clock/%s/%d", c[i].incident_id, stage);
		int ok = delivery_notice(relay, to, nto, tag, subject, text, rp);
		log_info("hạn / clock %s: %s, %d/%zu notices sent", c[i].incident_id,
		         stage == 1 ? "reminder" : "overdue", ok, nto);
		char key[AGENCY_ID_MAX + 70];
		snprintf(key, sizeof key, "%s/%s", c[i].agency, c[i].incident_id);
		store_clock_reminded(relay->store, key, stage, now);
		sent += (size_t)(ok > 0);
		for (size_t k = 0; k < nto; k++)
			free(to[k]);
		free(subject);
		free(text);
	}
	free(c);
	/* Mẫu 05: the 6-monthly summary before 20 June, the annual one before 15 December. */
	char which[16];
	if (summary_reminder_due((int64_t)(now / 1000),
	                         (int64_t)(store_clock_last(relay->store, "/mau05") / 1000), which,
	                         sizeof which) == 1) {
		char *to[32];
		size_t nto = 0;
		pthread_rwlock_rdlock(&relay->registry_lock);
		for (size_t k = 0;
		     relay->routing && k < relay->routing->recipient_count && nto < 32; k++) {
			const struct recipient *rc = &relay->routing->recipients[k];
			if ((strcmp(rc->role, "commune_office") == 0 ||
			     strcmp(rc->role, "unit") == 0) &&
			    rc->address[CHANNEL_EMAIL])
				to[nto++] = xstrdup(rc->address[CHANNEL_EMAIL]);
		}
		pthread_rwlock_unlock(&relay->registry_lock);
		bool annual = strchr(which, 'H') == NULL;
		char *subject =
		    xasprintf("[TBSC] Nhắc gửi báo cáo tổng hợp Mẫu 05 %s / Mẫu 05 summary due: %s",
		              annual ? "năm" : "6 tháng", which);
		char *text = xasprintf(
		    "Hạn gửi báo cáo tổng hợp %s (Mẫu 05, TT 20/2017 Điều 6.1.c): trước %s.\n"
		    "The %s Mẫu 05 summary is due before %s.\n\n"
		    "Lập từ hồ sơ của relay / from the relay's records:\n  incident summary "
		    "--period %s --out mau05-%s\n",
		    annual ? "01 năm" : "06 tháng", annual ? "15/12" : "20/6",
		    annual ? "annual" : "6-monthly", annual ? "15 December" : "20 June", which,
		    which);
		char results[32][ERRBUF_MAX], *rp[32];
		for (size_t k = 0; k < 32; k++)
			rp[k] = results[k];
		char tag[64];
		snprintf(tag, sizeof tag, "mau05/%s", which);
		int ok = delivery_notice(relay, to, nto, tag, subject, text, rp);
		log_info("nhắc Mẫu 05 / Mẫu 05 reminder %s: %d/%zu sent", which, ok, nto);
		store_clock_reminded(relay->store, "/mau05", 1,
		                     now); /* no agency id starts with '/' */
		for (size_t k = 0; k < nto; k++)
			free(to[k]);
		free(subject);
		free(text);
	}
	return sent;
}

static void *escalation_thread(void *arg)
{
	struct escalation *e = arg;
	for (;;) {
		escalation_run(e->relay, (uint64_t)now_ms());
		clocks_run(e->relay, (uint64_t)now_ms());
		pthread_mutex_lock(&e->lock);
		if (!e->stopping) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += e->relay->cfg->escalation_interval;
			pthread_cond_timedwait(&e->wake, &e->lock, &ts);
		}
		bool stop = e->stopping;
		pthread_mutex_unlock(&e->lock);
		if (stop)
			break;
	}
	return NULL;
}

struct escalation *escalation_start(struct relay *relay)
{
	if (relay->routing == NULL)
		return NULL;
	struct escalation *e = xcalloc(1, sizeof *e);
	e->relay = relay;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->wake, NULL);
	if (pthread_create(&e->thread, NULL, escalation_thread, e) != 0)
		fatal("cannot start the escalation thread");
	return e;
}

void escalation_stop(struct escalation *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->lock);
	e->stopping = true;
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->wake);
	free(e);
}
