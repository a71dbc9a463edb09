# mk/notify.mk: the recipient-side test tool and fuzz target (included by the Makefile).
# build/tools/notify_make is compiled straight from its sources, so that it builds the same way
# from `make`, `make SAN=1 integration` or a test script, whichever comes first.

NOTIFY_MAKE_SRC := tests/tools/notify_make.c relay/render.c
build/tools/notify_make: $(NOTIFY_MAKE_SRC) $(COMMON_SRC) $(wildcard common/*.h keys/*.h) relay/render.h \
		| $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/LD   $@")
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) -O1 -g -Icommon -Ikeys -Irelay $(PKG_CFLAGS) \
		-o $@ $(NOTIFY_MAKE_SRC) $(COMMON_SRC) $(LDLIBS)

.PHONY: notify_make
notify_make: build/tools/notify_make
integration: build/tools/notify_make

# The recipient's parsers of outside bytes (MIME, webhook JSON, SMS text) live in clients/.
build/fuzz/fuzz_recipient: tests/fuzz/fuzz_recipient.c clients/recipient.c clients/recipient.h \
		$(FUZZ_LIBSRC) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-Icommon -Ikeys -Iclients $(PKG_CFLAGS) -o $@ $< clients/recipient.c $(FUZZ_LIBSRC) $(LDLIBS)
