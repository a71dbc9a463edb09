/* httpc.c: one place that talks libcurl for the client. */
#include "httpc.h"

#include "util.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_MAX (1 << 20)

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
	struct http_reply *r = user;
	size_t n = size * nmemb;
	if (r->len + n > REPLY_MAX)
		return 0;
	r->body = xrealloc(r->body, r->len + n + 1);
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

int http_request(const char *url, const char *content_type, const uint8_t *body, size_t len,
                 const char *auth, struct http_reply *reply)
{
	memset(reply, 0, sizeof *reply);
	CURL *c = curl_easy_init();
	if (c == NULL)
		fatal("curl_easy_init failed");
	struct curl_slist *headers = NULL;
	char *h;
	if (content_type != NULL) {
		h = xasprintf("Content-Type: %s", content_type);
		headers = curl_slist_append(headers, h);
		free(h);
	}
	if (auth != NULL) {
		h = xasprintf("Authorization: %s", auth);
		headers = curl_slist_append(headers, h);
		free(h);
	}
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, reply->error);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
	} else {
		reply->status = 0;
		if (reply->error[0] == '\0')
			snprintf(reply->error, sizeof reply->error, "%s", curl_easy_strerror(rc));
	}
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	if (reply->body == NULL) {
		reply->body = xcalloc(1, 1);
	}
	return reply->status != 0 ? 0 : -1;
}

void http_reply_clear(struct http_reply *reply)
{
	free(reply->body);
	memset(reply, 0, sizeof *reply);
}

char *json_member(const char *json, const char *name)
{
	struct json_object *root = json_tokener_parse(json), *v = NULL;
	char *out = NULL;
	if (root != NULL && json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, name, &v) && v != NULL)
		out = xstrdup(json_object_get_string(v));
	json_object_put(root);
	return out;
}
