# mk/bench.mk: the intake benchmark's load generator (included by the Makefile).
# build/tools/loadgen links against the common library of the default (unsanitised) build.

build/tools/loadgen: tests/tools/loadgen.c build/default/libcommon.a | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/LD   $@")
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE $(WARN) -O2 -g -Icommon -Ikeys $(PKG_CFLAGS) -MMD -MP \
		-o $@ $< build/default/libcommon.a $(LDLIBS)

.PHONY: loadgen
loadgen: build/tools/loadgen
