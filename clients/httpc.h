/* httpc.h: the client's HTTP calls to the relay (libcurl). */
#ifndef TBSC_HTTPC_H
#define TBSC_HTTPC_H

#include <stddef.h>
#include <stdint.h>

struct http_reply {
	long status;   /* 0 when the relay could not be reached */
	uint8_t *body; /* malloc'd, NUL-terminated for convenience */
	size_t len;
	char error[256]; /* transport error when status is 0 */
};

/* POST body to url; GET when body is NULL. auth (may be NULL) is the Authorization value. */
int http_request(const char *url, const char *content_type, const uint8_t *body, size_t len,
                 const char *auth, struct http_reply *reply);
void http_reply_clear(struct http_reply *reply);
/* A top-level member of a relay JSON reply as text (json-c; malloc'd), or NULL when absent or not
 * JSON. */
char *json_member(const char *json, const char *name);

#endif
