# Makefile: builds bin/relayd and bin/incident; check, bench, demo, fuzz, clean.
# make SAN=1 builds everything under build/san with AddressSanitizer + UBSan.

CC ?= cc
V ?= 0
Q = $(if $(filter 1,$(V)),,@)

PKGS := libsodium libcurl msgpack sqlite3 libmicrohttpd inih libutf8proc libesmtp-1.0 json-c
DEPS_STAMP := build/.deps-ok

ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT := -O1 -g
else
BUILD ?= build/default
SANFLAGS :=
OPT := -O2 -g
endif
BINDIR := $(if $(filter 1,$(SAN)),$(BUILD)/bin,bin)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-format-nonliteral
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS ?= $(OPT)
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) -fstack-protector-strong \
	-Icommon -Ikeys -Irelay -Iclients $(PKG_CFLAGS) -MMD -MP
LDLIBS = $(PKG_LIBS) -lpthread -lm
LDFLAGS += $(SANFLAGS)

COMMON_SRC := $(wildcard common/*.c keys/*.c)
RELAY_SRC := $(filter-out relay/relayd.c,$(wildcard relay/*.c))
CLIENT_SRC := $(filter-out clients/incident.c,$(wildcard clients/*.c))
UNIT_SRC := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))
RELAY_OBJ := $(call obj,$(RELAY_SRC))
CLIENT_OBJ := $(call obj,$(CLIENT_SRC))
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all deps check unit integration bench demo fuzz fuzz-check clean format
all: $(BINDIR)/relayd $(BINDIR)/incident

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps.sh
	$(Q)./scripts/install-deps.sh
	$(Q)mkdir -p build && touch $@

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/librelay.a: $(RELAY_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^
$(BUILD)/libclient.a: $(CLIENT_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BINDIR)/relayd: $(BUILD)/relay/relayd.o $(BUILD)/librelay.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BINDIR)/incident: $(BUILD)/clients/incident.o $(BUILD)/libclient.a $(BUILD)/librelay.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libclient.a $(BUILD)/librelay.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs check)

# Every unit and integration test runs under ASan + UBSan.
check: $(DEPS_STAMP)
	$(Q)$(MAKE) --no-print-directory SAN=1 unit integration
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory fuzz-check

unit: $(UNIT_BIN) $(BINDIR)/relayd $(BINDIR)/incident
	$(Q)set -e; for t in $(UNIT_BIN); do echo "== $$t"; \
		ASAN_OPTIONS=detect_leaks=1 CK_FORK=yes $$t; done

integration: $(BINDIR)/relayd $(BINDIR)/incident
	$(Q)BIN=$(abspath $(BINDIR)) ./tests/integration/run-all.sh

bench: all
	$(Q)BIN=$(abspath bin) ./tests/bench/run-all.sh

demo: all
	$(Q)BIN=$(abspath bin) ./scripts/demo.sh

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_LIBSRC := $(COMMON_SRC)
# The summary's readers live in relay/summary.c; it links with the relay's sources it needs.
build/fuzz/fuzz_summary: FUZZ_LIBSRC += relay/summary.c relay/ratelimit.c
build/fuzz/fuzz_summary: FUZZ_EXTRA_INC = -Irelay
build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIBSRC) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
		-Icommon -Ikeys $(FUZZ_EXTRA_INC) $(PKG_CFLAGS) -o $@ $< $(FUZZ_LIBSRC) $(LDLIBS)

# make fuzz: long runs (FUZZ_SECONDS each); fuzz-check: a short run of each target.
FUZZ_SECONDS ?= 300
FUZZ_CHECK_SECONDS ?= 20
fuzz: $(FUZZ_BIN)
	$(Q)for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
		$$f -max_total_time=$(FUZZ_SECONDS) build/fuzz/corpus-$$n tests/fuzz/seeds/$$n || exit 1; done
fuzz-check:
	$(Q)if command -v clang >/dev/null; then $(MAKE) --no-print-directory $(FUZZ_BIN) && \
		for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build/fuzz/corpus-$$n; \
		echo "== fuzz $$n ($(FUZZ_CHECK_SECONDS) s)"; \
		$$f -max_total_time=$(FUZZ_CHECK_SECONDS) build/fuzz/corpus-$$n tests/fuzz/seeds/$$n >build/fuzz/$$n.log 2>&1 \
			|| { tail -40 build/fuzz/$$n.log; exit 1; }; tail -1 build/fuzz/$$n.log; done; \
		else echo "clang not found: fuzz targets not run"; fi

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build bin

-include mk/*.mk
-include $(shell find build -name '*.d' 2>/dev/null)
