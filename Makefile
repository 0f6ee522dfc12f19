# rumpfs — see README.md.
GO      ?= go
BIN     := bin
CMDS    := $(notdir $(wildcard cmd/*))
FUZZTIME ?= 30s
PREFIX  ?= /usr/local
# NetBSD fs-utils' programs; ukfs run as fsu_X behaves as `ukfs X`
# (cmd/ukfs/fsu.go).
FSU_TOOLS := cat chflags chmod chown cp df diff du ecp exec find get ln ls mkdir mkfifo mknod mv put rm rmdir stat touch write

.PHONY: all build test test-short vet demo bench fuzz install clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

vet:
	gofmt -l . | (! grep .) || (echo "gofmt: files above need formatting" >&2; exit 1)
	$(GO) vet ./...

# The full suite: unit, fuzz seed corpora, FUSE and oracle tests. Run as
# root with /dev/fuse for the mount tests (CI does). Two passes keep it
# within CI's budget on 2 cores: every test under the race detector with
# the -short fixture sizes, then every test again at full size (20,000-entry
# directories, files past 4 GiB) without it, where the detector's 5-10x
# slowdown would cost the most and find the least.
test: vet
	$(GO) test -race -short -timeout 20m ./...
	$(GO) test -timeout 20m ./...

test-short:
	$(GO) test -short ./...

# Mount the committed sample ISO with rump_cd9660, list it, unmount.
demo: build
	@set -e; mnt=$$(mktemp -d); \
	echo "+ $(BIN)/rump_cd9660 testdata/sample/sample.iso $$mnt"; \
	$(BIN)/rump_cd9660 testdata/sample/sample.iso $$mnt; \
	trap 'fusermount3 -u $$mnt 2>/dev/null || umount $$mnt; rmdir $$mnt' EXIT; \
	echo "+ ls -liR $$mnt"; ls -liR $$mnt; \
	echo "+ cat $$mnt/README.txt"; cat $$mnt/README.txt; \
	echo "+ $(BIN)/ukfs ls -l -R testdata/sample/sample.iso"; \
	$(BIN)/ukfs ls -l -R testdata/sample/sample.iso

# Side-by-side speed against the peer tools; prints a table with ratios.
bench: build
	$(GO) run ./bench $(BENCHFLAGS)

# Longer fuzzing of every target (FUZZTIME each).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# Installs the binaries and the fs-utils style fsu_* links to ukfs.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BIN)/* $(DESTDIR)$(PREFIX)/bin/
	for t in $(FSU_TOOLS); do ln -sf ukfs $(DESTDIR)$(PREFIX)/bin/fsu_$$t; done

clean:
	rm -rf $(BIN)
