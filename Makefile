# printmaster: plain GNU make with pkg-config.
#   make                      build server and agent into build/bin
#   make SAN=address,undefined  the same with sanitizers, into build-san/
#   make check                set up what is missing (packages, npm, services), build,
#                             every test; ends with "N passed, M failed"
#   make setup                only the set-up (scripts/install-deps, scripts/services)
#   make install              PREFIX=/usr/local, DESTDIR: binaries, page, units, man pages
#   make deb                  printmaster-server and printmaster-agent .deb (dpkg-buildpackage)
#   make fuzz                 libFuzzer targets (clang), FUZZ_SECONDS each (default 30)
#   make run                  install what is missing, build, start a demo stack under ./var
#   make bench                benchmarks against a seed-like peer; writes docs/benchmarks.md

SAN ?=
ifeq ($(SAN),)
BUILD ?= build
else
BUILD ?= build-san
endif

CC ?= cc
PKG_CONFIG ?= pkg-config

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -pthread $(WARN) -MMD -MP -Icommon -I.
LDFLAGS += -pthread
ifneq ($(SAN),)
CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
endif

SERVER_PKGS := libmicrohttpd libpq libwebsockets jansson libsodium
AGENT_PKGS := libcurl libwebsockets jansson libsodium avahi-client
COMMON_PKGS := jansson libsodium

pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1))
pc_libs = $(shell $(PKG_CONFIG) --libs $(1))
# The flags below are computed once, when first used, not when this file is
# read: `make check` on a fresh machine reads it before its set-up has
# installed pkg-config and the libraries.
once = $(eval $(1) := $(2))$($(1))
CUPS_CFLAGS = $(call once,CUPS_CFLAGS,$(shell cups-config --cflags 2>/dev/null))
CUPS_LIBS = $(call once,CUPS_LIBS,$(shell cups-config --libs 2>/dev/null))

COMMON_SRC := $(sort $(wildcard common/*.c))
SERVER_SRC := $(sort $(filter-out server/main.c,$(wildcard server/*.c)))
AGENT_SRC := $(sort $(filter-out agent/main.c,$(wildcard agent/*.c)))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
SQL_SRC := $(sort $(wildcard sql/*.sql))
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/migrations.o
AGENT_OBJ := $(AGENT_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

SERVER_LIBS = $(call once,SERVER_LIBS,$(call pc_libs,$(SERVER_PKGS)))
AGENT_LIBS = $(call once,AGENT_LIBS,$(call pc_libs,$(AGENT_PKGS)) $(CUPS_LIBS))
ALL_CFLAGS = $(call once,ALL_CFLAGS,$(call pc_cflags,$(SERVER_PKGS) $(AGENT_PKGS) cmocka) $(CUPS_CFLAGS))

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS += -DPM_VERSION='"$(VERSION)"'

.PHONY: all check check-build setup run stop clean unit bench docs fuzz fuzz-replay install man deb
all: $(BUILD)/bin/printmaster-server $(BUILD)/bin/printmaster-agent

ifeq ($(V),1)
Q :=
else
Q := @
endif

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The migrations' names, rewritten only when a file is added, renamed or
# removed: a removed one leaves no newer prerequisite behind.
$(BUILD)/gen/sql.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(SQL_SRC)' | cmp -s - $@ || echo '$(SQL_SRC)' > $@

$(BUILD)/gen/migrations.c: $(SQL_SRC) $(BUILD)/gen/sql.list scripts/embed-sql
	@mkdir -p $(dir $@)
	scripts/embed-sql $@ $(SQL_SRC)

FORCE:

$(BUILD)/obj/gen/migrations.o: $(BUILD)/gen/migrations.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Iserver -c -o $@ $<

$(BUILD)/lib/libcommon.a: $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/lib/libserver.a: $(SERVER_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/lib/libagent.a: $(AGENT_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/printmaster-server: $(BUILD)/obj/server/main.o $(BUILD)/lib/libserver.a $(BUILD)/lib/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(call pc_libs,$(COMMON_PKGS)) -lm

$(BUILD)/bin/printmaster-agent: $(BUILD)/obj/agent/main.o $(BUILD)/lib/libagent.a $(BUILD)/lib/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS) $(call pc_libs,$(COMMON_PKGS)) -lm

# Unit tests link every library; the linker keeps only what each test uses.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/lib/libserver.a $(BUILD)/lib/libagent.a $(BUILD)/lib/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ALL_CFLAGS) -o $@ $< -Wl,--start-group $(BUILD)/lib/libserver.a \
		$(BUILD)/lib/libagent.a $(BUILD)/lib/libcommon.a -Wl,--end-group \
		$(SERVER_LIBS) $(AGENT_LIBS) $(call pc_libs,cmocka) $(LDFLAGS) -lm

unit: $(UNIT_BIN)

# Fuzz targets (tests/fuzz/fuzz_<name>.c). `make check` builds each with the
# normal compiler as a replay program over its committed corpus; `make fuzz`
# builds them with clang's libFuzzer and runs each for FUZZ_SECONDS.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_REPLAY := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/fuzz_%)

$(BUILD)/fuzz-replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h \
		$(BUILD)/lib/libserver.a $(BUILD)/lib/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ALL_CFLAGS) -Itests/fuzz -o $@ $< tests/fuzz/replay.c \
		-Wl,--start-group $(BUILD)/lib/libserver.a $(BUILD)/lib/libcommon.a -Wl,--end-group \
		$(SERVER_LIBS) $(LDFLAGS) -lm

fuzz-replay: $(FUZZ_REPLAY)

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZ_ARGS ?=
FUZZ_DIR := $(BUILD)/fuzz
# Only the pure modules under test, compiled with coverage for libFuzzer.
FUZZ_LIB_SRC := $(COMMON_SRC) server/session.c server/acceptor.c \
	server/config.c
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = $(call once,FUZZ_CFLAGS,-O1 -g -std=c11 -D_GNU_SOURCE -pthread $(WARN) -MMD -MP \
	-Icommon -I. -Itests/fuzz $(FUZZ_SAN) $(call pc_cflags,jansson libsodium))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJ) \
		$(call pc_libs,jansson libsodium) -lm

fuzz: $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
	@for n in $(or $(FUZZ_TARGETS),$(FUZZ_NAMES)); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$n && \
		echo "== fuzz_$$n for $(FUZZ_SECONDS)s" && \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		$(FUZZ_DIR)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
			-rss_limit_mb=1024 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/$$n- \
			$$([ -f tests/fuzz/$$n.dict ] && echo -dict=tests/fuzz/$$n.dict) \
			$(FUZZ_ARGS) $(FUZZ_DIR)/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

# The set-up comes first and the build is a second make, so that on a fresh
# machine pkg-config and the libraries exist when the flags are computed.
# Both scripts do nothing when everything is already there.
setup:
	scripts/install-deps
	scripts/services start

check: setup
	+$(MAKE) check-build
	@BUILD=$(BUILD) SAN=$(SAN) tests/run

check-build: all unit fuzz-replay

run: setup
	@scripts/run-dev

stop:
	@scripts/run-dev stop

# Benchmarks, not part of check: the server against the seed-like peer
# (bench/compare.sh: every scenario of issue 10, a table, docs/benchmarks.md),
# then the agent's footprint. A missed target prints FAIL and does not fail
# make; a benchmark that cannot run does.
bench: all
	@BUILD=$(BUILD) bench/compare.sh
	@BUILD=$(BUILD) bench/agent_scan.sh

# Installation. PREFIX and DESTDIR as usual; configs go to SYSCONFDIR (/etc)
# whatever the prefix. The server finds the page in PREFIX/share/printmaster/web
# beside its own PREFIX/bin. An existing server.conf or agent.conf is kept.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL ?= install
WEB_FILES := $(sort $(wildcard web/*))
MAN_PAGES := $(BUILD)/man/printmaster-server.1 $(BUILD)/man/printmaster-agent.1

$(BUILD)/man/printmaster-server.1: $(BUILD)/bin/printmaster-server
	@mkdir -p $(dir $@)
	help2man --no-info --no-discard-stderr -n "printer discovery and sync: REST API, websocket gateway, settings page" -o $@ $<
$(BUILD)/man/printmaster-agent.1: $(BUILD)/bin/printmaster-agent
	@mkdir -p $(dir $@)
	help2man --no-info --no-discard-stderr -n "printer discovery and sync: the branch computer's agent" -o $@ $<

man: $(MAN_PAGES)

install: all man
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/printmaster/web \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SYSCONFDIR)/printmaster $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0755 $(BUILD)/bin/printmaster-server $(BUILD)/bin/printmaster-agent $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 $(WEB_FILES) $(DESTDIR)$(DATADIR)/printmaster/web/
	$(INSTALL) -m 0644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man1/
	for u in printmaster-server printmaster-agent; do \
		sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' dist/$$u.service \
			> $(DESTDIR)$(UNITDIR)/$$u.service && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.service || exit 1; \
	done
	for c in server agent; do \
		[ -e $(DESTDIR)$(SYSCONFDIR)/printmaster/$$c.conf ] || \
			$(INSTALL) -m 0644 dist/$$c.conf.example $(DESTDIR)$(SYSCONFDIR)/printmaster/$$c.conf || exit 1; \
		$(INSTALL) -m 0644 dist/$$c.env.example $(DESTDIR)$(SYSCONFDIR)/printmaster/ || exit 1; \
	done

# Debian packages, built by dpkg-buildpackage (debian/) from a copy of this
# tree in DEB_DIR, then checked by lintian (an error fails; its report is kept
# in DEB_DIR/lintian.txt). The .deb files land in DEB_DIR; nothing is rebuilt
# while no file that goes into them has changed.
DEB_DIR ?= $(BUILD)/deb
DEB_INPUTS := Makefile VERSION $(wildcard common/* server/* agent/* sql/* web/* dist/* \
	scripts/* debian/* debian/source/*)

deb: $(DEB_DIR)/.built

$(DEB_DIR)/.built: $(DEB_INPUTS)
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/printmaster
	tar -c --exclude=./build --exclude='./build-*' --exclude=./var --exclude=node_modules \
		--exclude=./.git . | tar -x -C $(DEB_DIR)/printmaster
	cd $(DEB_DIR)/printmaster && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		DEB_BUILD_OPTIONS=parallel=$(or $(DEB_JOBS),2) \
		dpkg-buildpackage -b -us -uc >../build.log 2>&1 || { tail -40 ../build.log; exit 1; }
	rm -rf $(DEB_DIR)/printmaster
	cd $(DEB_DIR) && lintian --fail-on error --tag-display-limit 0 *.changes > lintian.txt 2>&1 \
		|| { cat lintian.txt; exit 1; }
	@cat $(DEB_DIR)/lintian.txt
	@ls $(DEB_DIR)/*.deb
	touch $@

docs: all
	BIN=$(BUILD)/bin scripts/gen-config-docs > docs/configuration.md

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
