/* routing.h: recipients, their channels, and the rules that say who gets which report how. */
#ifndef TBSC_ROUTING_H
#define TBSC_ROUTING_H

#include "channel.h"

#include <stdbool.h>
#include <stddef.h>

struct recipient {
	char *id;     /* section name; also the log's recipient id */
	char *agency; /* registry id whose public key seals this recipient's notifications */
	char *name;   /* display name, Vietnamese */
	char *role;   /* one of registry_roles */
	char *group;  /* commune served; "" serves every group (province, nation) */
	char *address[CHANNEL_KIND_COUNT]; /* email, phone (E.164), https URL; NULL when absent */
	bool sms_ucs2;  /* true: Vietnamese with diacritics (UCS-2); false: không dấu (GSM-7) */
	char *language; /* "vi" or "en" */
	char **clear;   /* report fields shown in clear in email and webhook text */
	size_t clear_count;
	bool drill;   /* takes part in drills */
	char *backup; /* the organisation's next contact (a recipient id) for escalation, or NULL */
	bool standby; /* reached only through escalation (as someone's backup), never routed
	                 directly */
	long ack_minutes[2]; /* acknowledgement expected within [normal, serious] minutes; 0: the
	                        default */
};

struct route {
	char *name;
	unsigned kinds;    /* bit per enum report_kind */
	char **categories; /* empty: any */
	size_t category_count;
	int severity; /* -1 any, 0 normal, 1 serious */
	int drill;    /* 0 real reports only, 1 drills only, -1 both */
	char **to;    /* roles, "recipient:ID", or "*" */
	size_t to_count;
	unsigned channels; /* bit per enum channel_kind */
};

struct routing {
	struct recipient *recipients;
	size_t recipient_count;
	struct route *routes;
	size_t route_count;
};

struct route_target {
	const struct recipient *recipient;
	enum channel_kind channel;
};

/* Loads recipients and routes; every error as "file:line: reason" into err; NULL on any error. */
struct routing *routing_load(const char *path, char *err, size_t errlen);
void routing_free(struct routing *r);
const struct recipient *routing_find(const struct routing *r, const char *id);

/*
 * The (recipient, channel) pairs a report goes to: the union of the matching routes, restricted to
 * recipients serving the reporter's group, to drill participants for drills, and to channels the
 * recipient has an address for. Returns the count (at most max written to out).
 */
size_t routing_resolve(const struct routing *r, const char *reporter_group, const char *kind,
                       const char *category, const char *severity, bool drill,
                       struct route_target *out, size_t max);

#endif
