/* config.h: relayd's configuration, read once from an INI file into a const structure. */
#ifndef TBSC_CONFIG_H
#define TBSC_CONFIG_H

#include <stddef.h>

struct relay_config {
	char *listen;          /* host:port */
	char *store;           /* SQLite database path */
	char *log_dir;         /* transparency log directory */
	char *secret_key;      /* relay's secret key file */
	char *passphrase_file; /* optional: file holding the key's passphrase */
	char *registry;        /* agency registry */
	char *origin;          /* transparency log origin line */
	long max_body;         /* bytes */
	long timestamp_window; /* seconds either side of the relay's clock */
	long rate_per_minute;  /* accepted requests per agency per minute */
	long rate_burst;
	long connection_timeout; /* seconds of idleness before a connection is closed */
	long max_connections;
	long per_ip_connections;
	long threads;
	long batch_max;
	/* fan-out */
	char *recipients; /* recipients and routes file; "" = intake only */
	char *templates;  /* notification templates directory */
	char *public_url; /* how gateways reach this relay (SMS delivery reports) */
	long retry_floor, retry_ceiling, lifetime; /* seconds */
	long delivery_batch;
	char *smtp_host, *smtp_helo, *smtp_from, *smtp_ca_file, *smtp_username, *smtp_password;
	long smtp_port, smtp_starttls, smtp_timeout;
	char *sms_profile, *sms_url, *sms_username, *sms_password, *sms_from, *sms_method,
	    *sms_headers, *sms_body_template;
	long sms_dlr_mask, sms_timeout;
	char *webhook_ca_file;
	long webhook_timeout, webhook_per_endpoint, webhook_max_connections;
	long ack_normal_minutes, ack_serious_minutes,
	    escalation_interval;          /* 0 minutes: no escalation */
	long deadline_days, remind_hours; /* legal clocks: 5 days; remind this long before */
};

/* Fills every directive with its default. Paths are copies (config_free frees them). */
void config_defaults(struct relay_config *cfg);
/*
 * Reads path over the defaults. Relative paths are taken relative to the file's directory.
 * Every error goes into err as "file:line: reason" lines; -1 when there was any.
 */
int config_load(const char *path, struct relay_config *cfg, char *err, size_t errlen);
void config_free(struct relay_config *cfg);
/* Splits cfg->listen into host and port; -1 when malformed. */
int config_listen(const struct relay_config *cfg, char *host, size_t hostlen, unsigned *port);

#endif
