# mk/fanout-bench.mk: the fan-out benchmark's driver (included by the Makefile).
# build/tools/fanout_load links against the common library of the default (unsanitised) build and
# libmicrohttpd (its HTTPS webhook receiver).

build/tools/fanout_load: tests/tools/fanout_load.c build/default/libcommon.a | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/LD   $@")
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) -O2 -g -Icommon -Ikeys $(PKG_CFLAGS) -MMD -MP \
		-o $@ $< build/default/libcommon.a $(LDLIBS)

.PHONY: fanout-tools
fanout-tools: build/tools/fanout_load build/tools/loadgen build/tools/webhook_sink
