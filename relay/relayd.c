/* relayd.c: the relay daemon's main: options, configuration, signals, start and orderly stop. */
#include "delivery.h"
#include "escalation.h"
#include "logsync.h"
#include "relay.h"
#include "render.h"
#include "util.h"

#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char USAGE[] =
    "Cách dùng / usage: relayd [--config TỆP] [--check] [--verbose] [--help]\n"
    "\n"
    "Relay thông báo sự cố: nhận báo cáo đã ký, lưu bền vững, trả biên nhận có chữ ký.\n"
    "Incident notification relay: accepts signed reports, stores them durably, answers with a\n"
    "signed receipt.\n"
    "\n"
    "  --config TỆP   tệp cấu hình INI / INI configuration file (mặc định/default: các giá trị\n"
    "                 nhúng sẵn, đường dẫn tính từ thư mục hiện tại / embedded defaults,\n"
    "                 paths relative to the current directory)\n"
    "  --check        kiểm tra cấu hình, khóa, sổ đăng ký rồi thoát / validate and exit\n"
    "  --verbose      ghi nhật ký chi tiết / debug logging\n"
    "  --help         trợ giúp này / this help\n"
    "\n"
    "Tín hiệu / signals: SIGHUP nạp lại sổ đăng ký / reloads the registry; SIGTERM dừng có trật "
    "tự\n"
    "/ orderly stop.  Mã thoát / exit codes: 0 thành công / success, 1 cấu hình không hợp lệ /\n"
    "invalid configuration, 2 lỗi sử dụng hoặc hệ thống / usage or system error.\n";

static char *read_passphrase(const struct relay_config *cfg)
{
	const char *env = getenv("TBSC_RELAY_PASSPHRASE");
	if (env != NULL)
		return xstrdup(env);
	if (cfg->passphrase_file[0] == '\0')
		return NULL;
	uint8_t *buf;
	size_t len;
	char err[ERRBUF_MAX];
	if (file_read_all(cfg->passphrase_file, 1024, &buf, &len, err, sizeof err) != 0)
		fatal("%s", err);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	char *p = xmalloc(len + 1);
	memcpy(p, buf, len);
	p[len] = '\0';
	sodium_memzero(buf, len);
	free(buf);
	return p;
}

static struct keypair *load_key(const struct relay_config *cfg, char *err, size_t errlen)
{
	char *pass = read_passphrase(cfg);
	struct keypair *kp = keyfile_read_secret(cfg->secret_key, pass, err, errlen);
	if (pass != NULL) {
		sodium_memzero(pass, strlen(pass));
		free(pass);
	}
	return kp;
}

static int check_config(const struct relay_config *cfg)
{
	char err[4096];
	int bad = 0;
	struct keypair *kp = load_key(cfg, err, sizeof err);
	if (kp == NULL) {
		fprintf(stderr, "%s\n", err);
		bad = 1;
	}
	keypair_free(kp);
	struct registry *reg = registry_load(cfg->registry, err, sizeof err);
	if (reg == NULL) {
		fprintf(stderr, "%s\n", err);
		bad = 1;
	}
	if (cfg->recipients[0] != '\0') {
		struct routing *routing = routing_load(cfg->recipients, err, sizeof err);
		if (routing == NULL) {
			fprintf(stderr, "%s\n", err);
			bad = 1;
		}
		for (size_t i = 0; routing != NULL && reg != NULL && i < routing->recipient_count;
		     i++) {
			const struct recipient *rc = &routing->recipients[i];
			if (registry_current_key(reg, rc->agency, now_s()) == NULL) {
				fprintf(stderr,
				        "%s: [recipient %s]: đơn vị %s không có khóa còn hiệu lực "
				        "trong sổ đăng ký / agency %s has no valid key in the "
				        "registry\n",
				        cfg->recipients, rc->id, rc->agency, rc->agency);
				bad = 1;
			}
		}
		routing_free(routing);
		struct renderer *r = render_load(cfg->templates, err, sizeof err);
		if (r == NULL) {
			fprintf(stderr, "%s\n", err);
			bad = 1;
		}
		render_free(r);
	}
	registry_free(reg);
	char *dir = xstrdup(cfg->store);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	if (access(slash ? dir : ".", W_OK) != 0) {
		fprintf(stderr, "%s: thư mục kho không ghi được / store directory not writable\n",
		        cfg->store);
		bad = 1;
	}
	free(dir);
	if (!bad)
		printf("cấu hình hợp lệ / configuration OK\n");
	return bad;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"check", no_argument, NULL, 'n'},
	                                     {"verbose", no_argument, NULL, 'v'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *config_path = NULL;
	bool check = false;
	int c;
	log_set_prefix("relayd");
	while ((c = getopt_long(argc, argv, "c:nvh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			fputs(USAGE, stdout);
			return 0;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (sodium_init() < 0)
		fatal("libsodium init failed");

	struct relay_config cfg;
	char err[8192];
	config_defaults(&cfg);
	if (config_path != NULL && config_load(config_path, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		config_free(&cfg);
		return 1;
	}
	if (check) {
		int rc = check_config(&cfg);
		config_free(&cfg);
		return rc;
	}

	/* Signals go to the main thread only: every thread started below inherits this mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct relay relay;
	memset(&relay, 0, sizeof relay);
	relay.cfg = &cfg;
	pthread_rwlock_init(&relay.registry_lock, NULL);
	int rc = 2;
	struct intake *in = NULL;
	relay.key = load_key(&cfg, err, sizeof err);
	if (relay.key == NULL) {
		log_error("%s", err);
		goto out;
	}
	relay.registry = registry_load(cfg.registry, err, sizeof err);
	if (relay.registry == NULL) {
		log_error("%s", err);
		rc = 1;
		goto out;
	}
	relay.store = store_open(cfg.store, err, sizeof err);
	if (relay.store == NULL) {
		log_error("%s", err);
		goto out;
	}
	mkdir(cfg.log_dir, 0755);
	relay.logsync = logsync_start(&relay, err, sizeof err);
	if (relay.logsync == NULL) {
		log_error("%s", err);
		goto out;
	}
	if (cfg.recipients[0] != '\0') {
		relay.routing = routing_load(cfg.recipients, err, sizeof err);
		relay.renderer = relay.routing ? render_load(cfg.templates, err, sizeof err) : NULL;
		if (relay.routing == NULL || relay.renderer == NULL) {
			log_error("%s", err);
			rc = 1;
			goto out;
		}
		relay.delivery = delivery_start(&relay, err, sizeof err);
		if (relay.delivery == NULL) {
			log_error("%s", err);
			goto out;
		}
		relay.escalation = escalation_start(&relay);
	}
	relay.ratelimit = ratelimit_new((double)cfg.rate_per_minute, (double)cfg.rate_burst);
	relay.committer = committer_start(relay.store, (size_t)cfg.batch_max, NULL, NULL);
	in = intake_start(&relay, err, sizeof err);
	if (in == NULL) {
		log_error("%s", err);
		goto out;
	}
	char kid[2 * KEY_ID_BYTES + 1];
	hex_encode(kid, relay.key->kid, KEY_ID_BYTES);
	log_info("đang nghe / listening on %s (port %u), relay key %s, %zu agencies", cfg.listen,
	         intake_port(in), kid, relay.registry->count);

	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			struct registry *reg = registry_load(cfg.registry, err, sizeof err);
			if (reg == NULL) {
				log_error("nạp lại sổ đăng ký thất bại, giữ bản cũ / registry "
				          "reload failed, keeping the old one:\n%s",
				          err);
				continue;
			}
			struct routing *routing = NULL;
			if (cfg.recipients[0] != '\0' &&
			    (routing = routing_load(cfg.recipients, err, sizeof err)) == NULL) {
				log_error("nạp lại người nhận thất bại, giữ bản cũ / recipients "
				          "reload failed, keeping the old ones:\n%s",
				          err);
				registry_free(reg);
				continue;
			}
			log_info("đã nạp lại sổ đăng ký / registry reloaded: %zu agencies",
			         reg->count);
			relay_registry_swap(&relay, reg, routing);
			continue;
		}
		log_info("dừng / stopping (signal %d)", sig);
		break;
	}
	rc = 0;
out:
	/* Stop taking requests, commit and answer what is queued, then close the log. */
	intake_quiesce(in);
	committer_stop(relay.committer);
	intake_stop(in);
	escalation_stop(relay.escalation);
	delivery_stop(relay.delivery);
	routing_free(relay.routing);
	render_free(relay.renderer);
	logsync_stop(relay.logsync);
	ratelimit_free(relay.ratelimit);
	store_close(relay.store);
	registry_free(relay.registry);
	keypair_free(relay.key);
	pthread_rwlock_destroy(&relay.registry_lock);
	config_free(&cfg);
	return rc;
}
