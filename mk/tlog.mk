# mk/tlog.mk: transparency-log test tools (included by the Makefile).
# build/tools/tlog_gen and tlog_bench are compiled straight from the few sources they need, so
# they build even while unrelated modules are mid-edit; build/tools/tlogcheck is the independent
# Go cross-check, built in GOPATH mode against Debian's golang-golang-x-mod-dev, offline.

TLOG_TOOL_SRC := common/tlog.c common/note.c common/util.c relay/logwriter.c
TLOG_TOOL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) -O2 -g -Icommon -Irelay -Itests/tools $(PKG_CFLAGS)

build/tools/tlog_gen build/tools/tlog_bench: build/tools/%: tests/tools/%.c tests/tools/tlog_entries.h \
		$(TLOG_TOOL_SRC) $(wildcard common/tlog.h common/note.h common/util.h relay/logwriter.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/LD   $@")
	$(Q)$(CC) $(TLOG_TOOL_CFLAGS) -o $@ $< $(TLOG_TOOL_SRC) $(LDLIBS)

build/tools/tlogcheck: tests/go/tlogcheck/main.go
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GO      $@")
	$(Q)tmp=$$(mktemp -d) && \
		GOPATH=/usr/share/gocode:$$tmp GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE=$$tmp/cache \
		go build -o $@ ./tests/go/tlogcheck; rc=$$?; rm -rf "$$tmp"; exit $$rc

.PHONY: tlog-tools
tlog-tools: build/tools/tlog_gen build/tools/tlog_bench
