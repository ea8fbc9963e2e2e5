# iotc-mock: `make run` starts the emulator, `make test` runs every test. Both install what a fresh Debian
# machine lacks first.
SWIFT ?= swift
APT_PACKAGES := libsqlite3-dev libssl-dev pkg-config curl python3 python3-venv binutils iproute2 util-linux mount
BROWSER_APT_PACKAGES := chromium chromium-driver
ARGS ?=
BIN := .build/debug/iotc-mock
VENV := .venv
AZURE_CLI_VENV := .venv-azure-cli

.PHONY: schemas all catalog crash-test soak deps browser-deps build run test test-swift test-clients test-azure-tools test-dist test-image dist image docs fuzz bench clean

all: build

# Installs Debian packages through apt-get when root; otherwise prints the exact command and stops.
define apt_install
	@missing=""; \
	for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "iotc-mock needs these Debian packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi
endef

deps:
	$(call apt_install,$(APT_PACKAGES))

# Headless Chromium and its driver, for the explorer's browser test (selenium drives them).
browser-deps:
	$(call apt_install,$(BROWSER_APT_PACKAGES))

build: deps
	$(SWIFT) build

# Runs the emulator in the foreground; pass flags with ARGS, e.g. make run ARGS="--port 0 --in-memory".
run: build
	$(BIN) $(ARGS)

test: test-swift test-clients

test-swift: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# Real third-party clients (Python requests, schemathesis) against the built binary, from a pinned venv.
test-clients: deps browser-deps $(VENV)/.installed
	$(SWIFT) build --product iotc-mock
	$(VENV)/bin/pytest -q Tests/clients

# The unchanged Azure CLI, azure-identity and MSAL against the mock in drop-in mode, in private mount and network
# namespaces (unshare; as root, or as a user where user namespaces are allowed): a hosts file and a CA bundle are
# bind-mounted there only. The Azure CLI has a venv of its own (about a minute to install).
test-azure-tools: deps $(VENV)/.installed $(AZURE_CLI_VENV)/.installed
	$(SWIFT) build --product iotc-mock
	OUTER_NAMESPACES="$$(readlink /proc/self/ns/net /proc/self/ns/mnt | tr '\n' ' ')" \
	  unshare $$([ "$$(id -u)" = 0 ] || echo --user --map-root-user) --mount --net -- $(VENV)/bin/pytest -q -p no:cacheprovider Tests/azure

$(AZURE_CLI_VENV)/.installed: Tests/azure/requirements-azure-cli.txt
	python3 -m venv $(AZURE_CLI_VENV)
	$(AZURE_CLI_VENV)/bin/pip install -q --disable-pip-version-check -r Tests/azure/requirements-azure-cli.txt
	touch $@

# The self-contained release binary: dist/iotc-mock-<version>-linux-<arch>.tar.gz (+ .sha256; dist/latest/iotc-mock).
dist: deps
	release/dist.sh

# The container image iotc-mock:<version> (IMAGE_TOOL=docker|podman|buildah, IMAGE_FROM=auto|source|dist).
image: deps
	release/image.sh

# The dist binary alone in an empty folder: its dependencies, --version, the README walk-through, the binary recipe.
test-dist: dist $(VENV)/.installed
	$(VENV)/bin/pytest -q Tests/release/test_dist.py

# The image built and its entrypoint run (buildah run --isolation chroot where containers cannot start).
test-image: image $(VENV)/.installed
	$(VENV)/bin/pytest -q Tests/release/test_image.py

$(VENV)/.installed: Tests/clients/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r Tests/clients/requirements.txt
	touch $@

# Sources/Central/OperationVersions.swift, the api-versions of every operation, from the official specs' per-version
# table (the shared spec folder beside the checkout; only needed when that table changes).
SPEC_TABLE ?= ../shared/spec/iotcentral/operations-by-version.json
catalog:
	python3 scripts/operation-versions.py $(SPEC_TABLE) > Sources/Central/OperationVersions.swift.tmp && mv Sources/Central/OperationVersions.swift.tmp Sources/Central/OperationVersions.swift || { rm -f Sources/Central/OperationVersions.swift.tmp; exit 1; }

# Sources/Central/SpecSchemas.swift, the models of the 2022-07-31 and 2022-10-31-preview spec files that request
# bodies are validated by (the shared spec folder beside the checkout; only needed when the specs change).
SPEC_DIR ?= ../shared/spec/iotcentral
schemas:
	python3 scripts/spec-schemas.py $(SPEC_DIR)/2022-07-31/iotcentral.json $(SPEC_DIR)/2022-10-31-preview/iotcentral.json > Sources/Central/SpecSchemas.swift.tmp && mv Sources/Central/SpecSchemas.swift.tmp Sources/Central/SpecSchemas.swift || { rm -f Sources/Central/SpecSchemas.swift.tmp; exit 1; }

# docs/permissions.md, the operation × role table, from the operation catalog and fixtures/roles.json.
docs: build
	$(BIN) permissions > docs/permissions.md.tmp && mv docs/permissions.md.tmp docs/permissions.md || { rm -f docs/permissions.md.tmp; exit 1; }

# Durability: writers against a persistent server, kill -9 at random moments (CRASH_ITERATIONS, default 50),
# restart; every acknowledged write and delete must hold and SQLite's integrity check pass.
CRASH_ITERATIONS ?= 50
crash-test: build $(VENV)/.installed
	$(VENV)/bin/python Tests/reliability/crash_test.py $(BIN) $(CRASH_ITERATIONS)

# Endurance: mixed traffic at a steady rate for SOAK_SECONDS (default 600); fails if memory or descriptors grow
# beyond the bounds printed.
SOAK_SECONDS ?= 600
soak: build $(VENV)/.installed
	$(VENV)/bin/python Tests/reliability/soak.py $(BIN) $(SOAK_SECONDS)

# libFuzzer targets for the request parser and the Authorization header, each for FUZZ_SECONDS:
# make fuzz FUZZ_SECONDS=600
FUZZ_SECONDS ?= 60
fuzz: deps
	Fuzz/build.sh
	Fuzz/run.sh $(FUZZ_SECONDS)

# Throughput, latency, start-up time, memory and size of the `make dist` binary, side by side with nginx (the ceiling),
# written to BENCHMARKS.md.
bench: deps
	$(call apt_install,wrk nginx-light openssl linux-perf)
	release/dist.sh
	python3 bench/bench.py

clean:
	rm -rf .build .iotc-mock $(VENV) $(AZURE_CLI_VENV) dist
