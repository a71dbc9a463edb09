/* tlog_entries.h: a deterministic stream of realistic log entries (accept, attempt, dlr, ack) for
 * tests and benchmarks. */
#ifndef TBSC_TLOG_ENTRIES_H
#define TBSC_TLOG_ENTRIES_H

#include <msgpack.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Pending entries of the report being generated. */
#define GEN_QUEUE 32

struct gen_event {
	int type; /* 0 accept, 1 attempt, 2 dlr, 3 ack */
	int route;
	const char *outcome;
	unsigned n;
	uint64_t at;
};

struct gen {
	uint64_t index;  /* entries produced so far */
	uint64_t report; /* reports started */
	uint64_t now;    /* ms */
	unsigned
	    undelivered;  /* every this many reports one route never gets delivered (0: never) */
	uint64_t fork_at; /* entries from this index on differ ... */
	unsigned variant; /* ... by this variant (0: no fork) */
	char id[33];
	int nroutes;
	char rcpt[3][32];
	const char *chan[3];
	struct gen_event q[GEN_QUEUE];
	int qlen, qpos;
	msgpack_sbuffer sb;
};

static inline void gen_init(struct gen *g, unsigned undelivered)
{
	memset(g, 0, sizeof *g);
	g->now = 1767225600000ull; /* 2026-01-01T00:00:00Z */
	g->undelivered = undelivered;
	msgpack_sbuffer_init(&g->sb);
}

static inline void gen_free(struct gen *g)
{
	msgpack_sbuffer_destroy(&g->sb);
}

static inline void gen_push(struct gen *g, int type, int route, const char *outcome, unsigned n,
                            uint64_t at)
{
	struct gen_event *e = &g->q[g->qlen++];
	e->type = type;
	e->route = route;
	e->outcome = outcome;
	e->n = n;
	e->at = at;
}

/* Plans the next report: its accept, then attempts, DLRs and an ack in time order. */
static inline void gen_plan(struct gen *g)
{
	static const char *const channels[3] = {"email", "sms", "webhook"};
	uint64_t r = g->report++;
	unsigned char h[32];
	crypto_hash_sha256(h, (const unsigned char *)&r, sizeof r);
	sodium_bin2hex(g->id, sizeof g->id, h, 16);
	g->nroutes = 1 + (int)(r % 3);
	for (int k = 0; k < g->nroutes; k++) {
		snprintf(g->rcpt[k], sizeof g->rcpt[k], "cert-%02u",
		         (unsigned)((r + (uint64_t)k * 7) % 40));
		g->chan[k] = channels[(r + (uint64_t)k) % 3];
	}
	g->qlen = g->qpos = 0;
	uint64_t t0 = g->now, end = t0;
	gen_push(g, 0, -1, NULL, 0, t0);
	/* routes are worked on in parallel; their events are merged in time order below */
	for (int k = 0; k < g->nroutes; k++) {
		uint64_t t = t0 + 150 + (r * 37 + (uint64_t)k * 11) % 900 + (uint64_t)k * 40;
		if (g->undelivered && r % g->undelivered == g->undelivered - 1 && k == 0) {
			gen_push(g, 1, k, "failed", 1, t);
			gen_push(g, 1, k, "failed", 2, t += 60000);
			gen_push(g, 1, k, "undeliverable", 3, t += 120000);
		} else {
			unsigned n = 1;
			if (r % 7 == 3) {
				gen_push(g, 1, k, "deferred", n++, t);
				t += 30000;
			}
			gen_push(g, 1, k, "delivered", n, t);
			if (strcmp(g->chan[k], "sms") == 0)
				gen_push(g, 2, k, "delivered", 0, t += 800);
			if (k == 0)
				gen_push(g, 3, k, NULL, 0, t += 5000);
		}
		if (t > end)
			end = t;
	}
	for (int i = 2; i < g->qlen; i++) /* stable insertion sort by time, accept stays first */
		for (int j = i; j > 1 && g->q[j - 1].at > g->q[j].at; j--) {
			struct gen_event tmp = g->q[j];
			g->q[j] = g->q[j - 1];
			g->q[j - 1] = tmp;
		}
	g->now = end + 1000;
}

static inline void pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

/* The next entry; *data points into g (valid until the next call). */
static inline void gen_next(struct gen *g, const unsigned char **data, size_t *len)
{
	if (g->qpos == g->qlen)
		gen_plan(g);
	const struct gen_event *e = &g->q[g->qpos++];
	int forked = g->variant != 0 && g->index >= g->fork_at;
	msgpack_packer pk;
	g->sb.size = 0;
	msgpack_packer_init(&pk, &g->sb, msgpack_sbuffer_write);
	switch (e->type) {
	case 0: {
		unsigned char h[32];
		char inc[48];
		crypto_hash_sha256(h, (const unsigned char *)g->id, 32);
		if (forked)
			h[0] ^= (unsigned char)g->variant;
		snprintf(inc, sizeof inc, "INC-2026-%06llu%s",
		         (unsigned long long)(g->report % 1000000), forked ? "-b" : "");
		msgpack_pack_map(&pk, 9);
		pack_str(&pk, "t");
		pack_str(&pk, "accept");
		pack_str(&pk, "i");
		pack_str(&pk, g->id);
		pack_str(&pk, "h");
		msgpack_pack_bin(&pk, 32);
		msgpack_pack_bin_body(&pk, h, 32);
		pack_str(&pk, "a");
		pack_str(&pk, g->report % 2 ? "vncert-hn" : "so-tttt-dn");
		pack_str(&pk, "inc");
		pack_str(&pk, inc);
		pack_str(&pk, "k");
		pack_str(&pk, g->report % 5 ? "malware" : "ddos");
		pack_str(&pk, "d");
		if (g->report % 11 == 0)
			msgpack_pack_true(&pk);
		else
			msgpack_pack_false(&pk);
		pack_str(&pk, "at");
		msgpack_pack_uint64(&pk, e->at);
		pack_str(&pk, "routes");
		msgpack_pack_array(&pk, (size_t)g->nroutes);
		for (int k = 0; k < g->nroutes; k++) {
			msgpack_pack_array(&pk, 2);
			pack_str(&pk, g->rcpt[k]);
			pack_str(&pk, g->chan[k]);
		}
		break;
	}
	case 1:
		msgpack_pack_map(&pk, 7);
		pack_str(&pk, "t");
		pack_str(&pk, "attempt");
		pack_str(&pk, "i");
		pack_str(&pk, g->id);
		pack_str(&pk, "r");
		pack_str(&pk, g->rcpt[e->route]);
		pack_str(&pk, "c");
		pack_str(&pk, g->chan[e->route]);
		pack_str(&pk, "o");
		pack_str(&pk, e->outcome);
		pack_str(&pk, "n");
		msgpack_pack_uint64(&pk, e->n);
		pack_str(&pk, "at");
		msgpack_pack_uint64(&pk, e->at + (forked ? 1 : 0));
		break;
	case 2:
		msgpack_pack_map(&pk, 6);
		pack_str(&pk, "t");
		pack_str(&pk, "dlr");
		pack_str(&pk, "i");
		pack_str(&pk, g->id);
		pack_str(&pk, "r");
		pack_str(&pk, g->rcpt[e->route]);
		pack_str(&pk, "c");
		pack_str(&pk, g->chan[e->route]);
		pack_str(&pk, "o");
		pack_str(&pk, e->outcome);
		pack_str(&pk, "at");
		msgpack_pack_uint64(&pk, e->at + (forked ? 1 : 0));
		break;
	default:
		msgpack_pack_map(&pk, 4);
		pack_str(&pk, "t");
		pack_str(&pk, "ack");
		pack_str(&pk, "i");
		pack_str(&pk, g->id);
		pack_str(&pk, "r");
		pack_str(&pk, g->rcpt[e->route]);
		pack_str(&pk, "at");
		msgpack_pack_uint64(&pk, e->at + (forked ? 1 : 0));
		break;
	}
	g->index++;
	*data = (const unsigned char *)g->sb.data;
	*len = g->sb.size;
}

#endif
