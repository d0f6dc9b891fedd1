# SPDX-License-Identifier: Apache-2.0
# Thin wrapper over Meson/ninja. `make run` starts the platform locally; `make test` runs all tests.

BUILD ?= build
TEST_BUILD ?= build-test
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
MESON ?= meson

.PHONY: all build run test test-build unit integration fuzz bench bench-pump format check-format clean

all: build

build:
	@test -f $(BUILD)/build.ninja || $(MESON) setup $(BUILD) --buildtype=release
	ninja -C $(BUILD)

run: build
	scripts/run-local.sh

# The sanitizer build (ASan + UBSan) that every test runs against.
$(TEST_BUILD)/build.ninja:
	$(MESON) setup $(TEST_BUILD) --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false

test-build: $(TEST_BUILD)/build.ninja
	ninja -C $(TEST_BUILD)

unit: test-build
	$(MESON) test -C $(TEST_BUILD) --suite unit --print-errorlogs

# npm packages for the black-box tests, exactly as the lock file pins them.
tests/integration/node_modules/.package-lock.json: tests/integration/package-lock.json
	cd tests/integration && npm ci --no-audit --no-fund

integration: test-build tests/integration/node_modules/.package-lock.json
	cd tests/integration && TURNPIKE_GATEWAY_BIN=$(CURDIR)/$(TEST_BUILD)/src/gateway/turnpike-gateway \
	  node --test --test-concurrency=2 gateway/
	cd tests/integration && TURNPIKE_PUMP_BIN=$(CURDIR)/$(TEST_BUILD)/src/pump/turnpike-pump \
	  node --test --test-concurrency=2 pump/
	cd tests/integration && TURNPIKE_DASHBOARD_BIN=$(CURDIR)/$(TEST_BUILD)/src/dashboard/turnpike-dashboard \
	  TURNPIKE_GATEWAY_BIN=$(CURDIR)/$(TEST_BUILD)/src/gateway/turnpike-gateway \
	  TURNPIKE_PUMP_BIN=$(CURDIR)/$(TEST_BUILD)/src/pump/turnpike-pump \
	  node --test --test-concurrency=2 dashboard/

fuzz:
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang $(MESON) setup $(FUZZ_BUILD) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(FUZZ_BUILD) tests/fuzz/fuzz_http1 tests/fuzz/fuzz_apidef tests/fuzz/fuzz_jwt tests/fuzz/fuzz_analytics tests/fuzz/fuzz_jsonschema tests/fuzz/fuzz_template tests/fuzz/fuzz_h2
	scripts/run-fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

test: check-format unit integration fuzz test-packaging
	@echo "all tests passed"

bench:
	@test -f build-release/build.ninja || $(MESON) setup build-release --buildtype=release
	ninja -C build-release
	bench/run.sh

# turnpike-pump throughput: Redis -> journal -> sql sink -> PostgreSQL (bench/RESULTS-pump.md)
bench-pump:
	@test -f build-release/build.ninja || $(MESON) setup build-release --buildtype=release
	ninja -C build-release src/pump/turnpike-pump
	bench/pump.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	@out=$$(for f in $$(git ls-files '*.c' '*.h'); do clang-format --dry-run -Werror $$f >/dev/null 2>&1 || echo $$f; done); \
	if [ -n "$$out" ]; then echo "not clang-formatted (run make format):"; echo "$$out"; exit 1; fi
	@scripts/checksrc.sh

clean:
	rm -rf $(BUILD) $(TEST_BUILD) $(FUZZ_BUILD) build-release

# Packages (one per daemon in install/daemons.conf) into build-pkg/, and their tests.
.PHONY: deb rpm test-packaging

deb: build
	packaging/build.sh deb

rpm: build
	@command -v rpmbuild >/dev/null 2>&1 || { echo "make rpm: rpmbuild is not installed (Debian: apt-get install rpm)" >&2; exit 1; }
	packaging/build.sh rpm

test-packaging: build
	tests/packaging/run.sh
