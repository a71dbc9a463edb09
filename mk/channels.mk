# mk/channels.mk: the delivery channels' test driver (included by the Makefile).
# build/tools/channel_send (optimised) and build/san/tools/channel_send (ASan + UBSan) are
# compiled straight from the channel sources and common/util.c, so that they do not depend on
# the rest of librelay.a building.

# channel_email.c calls OpenSSL directly (the SSL_CTX handed to libesmtp), so everything that
# links relay objects needs libssl and libcrypto.
PKGS += openssl

CHANNEL_SEND_SRC := tests/tools/channel_send.c relay/channel.c relay/channel_email.c \
	relay/channel_sms.c relay/channel_webhook.c common/util.c
CHANNEL_SEND_DEPS := $(CHANNEL_SEND_SRC) relay/channel.h relay/channel_impl.h common/util.h \
	mk/channels.mk
CHANNEL_SEND_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) -fstack-protector-strong -Icommon -Irelay \
	$(PKG_CFLAGS)

build/tools/channel_send: $(CHANNEL_SEND_DEPS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/LD   $@")
	$(Q)$(CC) $(CHANNEL_SEND_CFLAGS) -O2 -g -o $@ $(CHANNEL_SEND_SRC) $(LDLIBS)

build/san/tools/channel_send: $(CHANNEL_SEND_DEPS) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/LD   $@")
	$(Q)$(CC) $(CHANNEL_SEND_CFLAGS) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer -o $@ $(CHANNEL_SEND_SRC) $(LDLIBS)

.PHONY: channel-tools
channel-tools: build/tools/channel_send build/san/tools/channel_send build/tools/webhook_sink

# The webhook benchmark's HTTPS receiver (libmicrohttpd with GnuTLS).
build/tools/webhook_sink: tests/tools/webhook_sink.c common/util.c common/util.h mk/channels.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/LD   $@")
	$(Q)$(CC) $(CHANNEL_SEND_CFLAGS) -O2 -g -o $@ tests/tools/webhook_sink.c common/util.c $(LDLIBS)
