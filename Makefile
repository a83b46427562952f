# hostnet: see README.md. `make test` (as root) installs what it needs and runs every test.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)

# The version from git (scripts/pkg-version.sh: valid for deb and rpm alike), stamped into the
# binaries and the packages. Override with VERSION=... (e.g. outside a git checkout).
VERSION ?= $(shell scripts/pkg-version.sh 2>/dev/null || echo 0.0.0+unknown)
LDFLAGS := -s -w -X github.com/hostnet/hostnet/internal/version.Version=$(VERSION)
BUILD   := build
DIST    ?= dist
GOTEST  := go test -count=1

# Integration and end-to-end tests need root, OVS, libvirt and the test guest;
# they run serially per package but packages run in parallel (-p), so keep it low on 2 cores.
INTEGRATION_P ?= 2
TEST_TIMEOUT  ?= 30m

.PHONY: all build unit test integration pkgtest deb rpm deps lint fmt clean demo demo-clean bench

all: build

build:
	mkdir -p $(BUILD)
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BUILD)/hostprep ./hostprep
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BUILD)/hostnet-plug ./plug
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(BUILD)/hostnet ./hooks

deps:
	./scripts/install-deps.sh

# Pure logic: no root, no OVS.
unit:
	$(GOTEST) ./internal/... ./hostprep/... ./plug/... ./hooks/...

# Everything that touches the system: namespaces, private OVS, libvirtd, a booted guest.
# test/pkg is left to pkgtest: it installs the package on this machine.
integration:
	@if [ "$$(id -u)" -ne 0 ]; then echo "make integration: run as root (the tests create namespaces, OVS instances and VMs)" >&2; exit 1; fi
	$(GOTEST) -p $(INTEGRATION_P) -timeout $(TEST_TIMEOUT) $$(go list ./test/... | grep -v '/test/pkg$$')

# The packages, end to end: builds the .deb and the .rpm (make deb, make rpm), installs the
# .deb on THIS machine with dpkg, runs the units' commands and a VM against the installed files,
# upgrades, removes and purges it (leaving the machine as it was). Runs alone, after the others.
pkgtest:
	@if [ "$$(id -u)" -ne 0 ]; then echo "make pkgtest: run as root (it installs and removes the hostnet package)" >&2; exit 1; fi
	$(GOTEST) -timeout $(TEST_TIMEOUT) ./test/pkg/

# The one command that runs all tests (what .ci/run runs).
test: deps lint unit integration pkgtest

# Packages, versioned from git: $(DIST)/hostnet_VERSION_ARCH.deb (dpkg-deb) and
# $(DIST)/hostnet-VERSION-1.ARCH.rpm (rpmbuild, from the binaries of make build).
deb: build
	scripts/build-deb.sh '$(VERSION)' $(BUILD) $(DIST)

rpm: build
	scripts/build-rpm.sh '$(VERSION)' $(BUILD) $(DIST)

# The demo lab (as root): a simulated host, switch and peers in network namespaces, a private
# OVS and libvirtd, hostprep and three VMs; it stays up until demo-clean.
demo: deps build
	./scripts/demo.sh up

demo-clean:
	./scripts/demo.sh down

# Benchmarks (as root; not part of `make test`): hostnet against DESIGN.md section 7 and
# against libvirt's own OVS plug, in private namespaces and daemons. Prints a table and
# writes docs/BENCHMARKS.md. BENCH_QUICK=1 is a short smoke run. The "before" variants are
# the hook built from BENCH_BASELINE: the revision before the engine changes it measures, with
# the benchnowait tag already there (f348bd4), so "up to the commit" has a before as well;
# BENCH_BASELINE= measures no before. The steps are in scripts/bench.sh.
BENCH_BASELINE ?= f348bd4
bench: deps build
	BUILD='$(BUILD)' LDFLAGS='$(LDFLAGS)' BENCH_BASELINE='$(BENCH_BASELINE)' BENCH_QUICK='$(BENCH_QUICK)' ./scripts/bench.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BUILD) dist
