/* channel.h: the delivery channels (email, SMS, HTTPS webhook) behind one small interface.
 *
 * Contract common to the three channels:
 * - x_channel_new() copies every string of its configuration ("" counts as unset), returns NULL
 *   with a reason in err when the configuration is unusable; x_channel_free(NULL) is a no-op.
 * - A channel object is used by one thread at a time (one per delivery worker); several
 *   objects may work in parallel. It keeps connections (webhooks, SMS) between calls.
 * - x_send() never keeps pointers into the deliveries after it returns and fills every result:
 *   a delivery the channel cannot send as given (bad address, id, text) is PERMANENT at once.
 * - detail is one printable UTF-8 line, never holding passwords or message content.
 * - The process must ignore SIGPIPE (libesmtp writes to sockets without MSG_NOSIGNAL). */
#ifndef TBSC_CHANNEL_H
#define TBSC_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum channel_kind { CHANNEL_EMAIL, CHANNEL_SMS, CHANNEL_WEBHOOK, CHANNEL_KIND_COUNT };
extern const char *const channel_names[CHANNEL_KIND_COUNT]; /* "email", "sms", "webhook" */

/* One notification to one address on one channel, fully rendered by the caller. */
struct delivery {
	enum channel_kind kind;
	const char
	    *notification_id; /* stable across retries: webhook-id, Message-ID, SMS reference */
	const char *address;  /* email address, E.164 phone number, or https URL */
	/* email */
	const char *subject; /* UTF-8, starts with "[TBSC]" (encoded by the channel, RFC 2047) */
	const char *text;    /* UTF-8 plain-text summary */
	const uint8_t *attachment; /* the signed, sealed notification (msgpack) */
	size_t attachment_len;
	const char *attachment_name; /* e.g. "thong-bao-<nid>.tbsc" */
	const char *thread_id;       /* Message-ID of the incident's first notification, or NULL */
	/* sms */
	const char *sms_text; /* NFC UTF-8, already shaped for the coding below */
	bool sms_ucs2;        /* true: coding=2 (UCS-2); false: GSM-7 */
	const char *dlr_url;  /* callback URL Kannel fetches with %d etc., or NULL */
	/* webhook */
	const char *body; /* JSON body, sent byte for byte */
	size_t body_len;
	int64_t timestamp;     /* webhook-timestamp of this attempt (Unix s) */
	const char *signature; /* full webhook-signature header value ("v1a,<base64>") */
};

enum delivery_outcome {
	DELIVERY_OK,        /* accepted by the next hop (SMTP 250, gateway 202, webhook 2xx) */
	DELIVERY_TEMPORARY, /* retry later (SMTP 4xx, connection failure, HTTP 408/429/5xx, timeout)
	                     */
	DELIVERY_PERMANENT, /* stop now (SMTP 5xx, HTTP 4xx other than 408/410/429, 3xx) */
	DELIVERY_GONE,      /* HTTP 410: disable this endpoint */
};
/* "OK", "TEMPORARY", "PERMANENT", "GONE" (static strings). */
const char *delivery_outcome_name(enum delivery_outcome outcome);

struct delivery_result {
	enum delivery_outcome outcome;
	int retry_after;  /* seconds asked by the peer (Retry-After), 0 if none */
	int code;         /* SMTP or HTTP status, 0 for transport errors */
	char detail[256]; /* the peer's reply or the transport error, for the job history */
};

/* Email over SMTP (libesmtp). */
struct email_config {
	const char *host;
	unsigned port;
	const char *helo;
	const char *from;     /* envelope and header From */
	int starttls;         /* 0 never, 1 when offered, 2 required (fail if not offered) */
	const char *ca_file;  /* trust anchors for STARTTLS, NULL for the system store */
	const char *username; /* AUTH, NULL for none */
	const char *password;
	int timeout_s;
};
struct email_channel;
struct email_channel *email_channel_new(const struct email_config *cfg, char *err, size_t errlen);
/* Sends n messages in one SMTP session; res[i] is the outcome of d[i]. 0, or -1 if the session
 * failed before any message (then every res[i] is filled as temporary with the reason). Per
 * recipient: 2xx OK, 4xx TEMPORARY, 5xx PERMANENT; connection, TLS, AUTH and session failures
 * TEMPORARY. STARTTLS is capped at TLS 1.2 (a libesmtp 1.1 limitation) and verifies the chain and
 * the name (DNS or IP) of host; 1 ("when offered") never falls back to clear text after a failed
 * handshake. Message-ID is <notification_id@tbsc>; thread_id gives In-Reply-To/References
 * <thread_id@tbsc> (omitted when equal to notification_id). */
int email_send(struct email_channel *ch, const struct delivery *const *d, size_t n,
               struct delivery_result *res);
void email_channel_free(struct email_channel *ch);

/* SMS through Kannel's sendsms interface, or a generic HTTP gateway profile. */
struct sms_config {
	const char *profile; /* "kannel" or "http" */
	const char *url; /* kannel: http://host:13013/cgi-bin/sendsms; http: the provider's URL */
	const char *username, *password; /* kannel sendsms-user */
	const char *from;
	int dlr_mask; /* kannel dlr-mask, e.g. 31 */
	/* generic profile */
	const char *method;  /* "GET" or "POST" */
	const char *headers; /* "Name: value" lines separated by \n, may be NULL */
	const char
	    *body_template; /* with {to} {text} {id} {dlr_url} placeholders, escaped for JSON */
	int timeout_s;
};
struct sms_channel;
struct sms_channel *sms_channel_new(const struct sms_config *cfg, char *err, size_t errlen);
/* One SMS. kannel: GET sendsms with charset=UTF-8, coding=2 (sms_ucs2) or 0, dlr-mask and
 * dlr-url when d->dlr_url is set; 2xx OK, 503/5xx/408/429 and transport errors TEMPORARY,
 * other 4xx and 3xx PERMANENT. http: {to} {text} {id} {dlr_url} in the URL (URL-encoded) and
 * the body template (JSON-escaped); same classes, Retry-After honoured. Always returns 0. */
int sms_send(struct sms_channel *ch, const struct delivery *d, struct delivery_result *res);
void sms_channel_free(struct sms_channel *ch);

/* HTTPS webhooks (libcurl): TLS verification on, keep-alive, no redirects, per-endpoint
 * concurrency. */
struct webhook_config {
	const char
	    *ca_file; /* CA bundle for the receivers' certificates, NULL for the system store */
	int timeout_s;
	int per_endpoint_concurrency;
	int max_total_connections;
};
struct webhook_channel;
struct webhook_channel *webhook_channel_new(const struct webhook_config *cfg, char *err,
                                            size_t errlen);
/* Sends n deliveries concurrently (curl multi), at most per_endpoint_concurrency per URL origin
 * (scheme://host:port) and max_total_connections in all; POSTs body with Content-Type:
 * application/json, webhook-id (notification_id), webhook-timestamp, webhook-signature.
 * 2xx OK; 410 GONE; 408/429/5xx, timeouts and TLS/connect errors TEMPORARY (retry_after from
 * Retry-After, seconds or HTTP-date, at most one day); 3xx and other 4xx PERMANENT; https only.
 * Connections stay open in ch for the next call. Always returns 0. */
int webhook_send(struct webhook_channel *ch, const struct delivery *const *d, size_t n,
                 struct delivery_result *res);
void webhook_channel_free(struct webhook_channel *ch);

#endif
