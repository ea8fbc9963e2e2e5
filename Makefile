# iotc-mock: `make run` starts the emulator, `make test` runs every test. Both install what a fresh Debian
# machine lacks first.
SWIFT ?= swift
APT_PACKAGES := libsqlite3-dev libssl-dev pkg-config curl
ARGS ?=
BIN := .build/debug/iotc-mock

.PHONY: all deps build run test clean

all: build

# Installs the system libraries through apt-get when root; otherwise prints the exact command and stops.
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
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

build: deps
	$(SWIFT) build

# Runs the emulator in the foreground; pass flags with ARGS, e.g. make run ARGS="--port 0 --in-memory".
run: build
	$(BIN) $(ARGS)

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

clean:
	rm -rf .build .iotc-mock
