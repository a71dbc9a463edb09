/* webhook_sink.c: a fast HTTPS receiver for the webhook benchmark (libmicrohttpd + GnuTLS).
 *
 *   webhook_sink --port P --cert FILE --key FILE [--threads N]
 *
 * Listens on 127.0.0.1:P with TLS and keep-alive, reads each request body, answers 200 "ok".
 * On SIGTERM or SIGINT it prints "requests N bytes M" and exits 0. The Python test receiver
 * manages only ~100-200 deliveries/s (one thread per connection, Nagle stalls), too slow to
 * measure the channel. */
#include "util.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong requests, bytes;
static struct MHD_Response *ok_response;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
	(void)cls, (void)url, (void)method, (void)version, (void)upload;
	static int marker;
	if (*state == NULL) { /* headers only: come back for the body */
		*state = &marker;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		atomic_fetch_add(&bytes, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	atomic_fetch_add(&requests, 1);
	return MHD_queue_response(conn, MHD_HTTP_OK, ok_response);
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL;
	unsigned port = 0, threads = 2;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--cert") == 0)
			cert = argv[i + 1];
		else if (strcmp(argv[i], "--key") == 0)
			key = argv[i + 1];
		else if (strcmp(argv[i], "--threads") == 0)
			threads = (unsigned)atoi(argv[i + 1]);
	}
	if (port == 0 || port > 65535 || cert == NULL || key == NULL || threads < 1 ||
	    threads > 64) {
		fprintf(stderr,
		        "usage: webhook_sink --port P --cert FILE --key FILE [--threads N]\n");
		return 2;
	}
	char err[ERRBUF_MAX];
	uint8_t *cert_pem = NULL, *key_pem = NULL;
	size_t cert_len, key_len;
	if (file_read_all(cert, 1 << 20, &cert_pem, &cert_len, err, sizeof err) < 0 ||
	    file_read_all(key, 1 << 20, &key_pem, &key_len, err, sizeof err) < 0) {
		fprintf(stderr, "webhook_sink: %s\n", err);
		free(cert_pem);
		return 2;
	}
	/* MHD wants NUL-terminated PEM */
	cert_pem = xrealloc(cert_pem, cert_len + 1);
	cert_pem[cert_len] = '\0';
	key_pem = xrealloc(key_pem, key_len + 1);
	key_pem[key_len] = '\0';

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* MHD's threads inherit the mask */
	signal(SIGPIPE, SIG_IGN);

	ok_response = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_Daemon *d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY | MHD_USE_TLS |
	        MHD_USE_ERROR_LOG,
	    (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
	    MHD_OPTION_HTTPS_MEM_CERT, (const char *)cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
	    (const char *)key_pem, MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "webhook_sink: cannot start the HTTPS daemon on port %u\n", port);
		MHD_destroy_response(ok_response);
		free(cert_pem);
		free(key_pem);
		return 1;
	}
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	MHD_destroy_response(ok_response);
	printf("requests %lu bytes %lu\n", (unsigned long)atomic_load(&requests),
	       (unsigned long)atomic_load(&bytes));
	free(cert_pem);
	free(key_pem);
	return 0;
}
