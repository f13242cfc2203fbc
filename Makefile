# byob — build, test, demo, bench, lint.
# Tools (MinIO, staticcheck) are installed once per machine into
# $(BYOB_TOOLS_DIR) (default ~/.cache/byob/tools), shared by every clone.

GO        ?= go
SHELL     := /bin/bash
BIN       := bin/byob
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
export BYOB_TOOLS_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/byob/tools
export AWS_EC2_METADATA_DISABLED := true
export GOFLAGS := -buildvcs=false

MINIO_MODULE       := github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
FAKEGCS_MODULE     := github.com/fsouza/fake-gcs-server@v1.56.1
AZURITE_VERSION    := 3.35.0
STATICCHECK_MODULE := honnef.co/go/tools/cmd/staticcheck@v0.8.2
TEST_TIMEOUT       ?= 18m
# A count, not a duration: Go 1.26's fuzz coordinator can fail a clean run
# with "context deadline exceeded" when a duration ends under load
# (golang/go#75804, fixed in 1.27). 100000 runs take about 10 s here.
FUZZTIME           ?= 100000x

.PHONY: all build test unit demo bench peers lint tools clean

all: build

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/byob

$(BYOB_TOOLS_DIR)/bin/minio:
	@mkdir -p $(BYOB_TOOLS_DIR)/bin
	@echo "installing MinIO into $(BYOB_TOOLS_DIR)/bin (about 3 minutes the first time)"
	cd /tmp && GOBIN=$(BYOB_TOOLS_DIR)/bin $(GO) install $(MINIO_MODULE)

$(BYOB_TOOLS_DIR)/bin/staticcheck:
	@mkdir -p $(BYOB_TOOLS_DIR)/bin
	cd /tmp && GOBIN=$(BYOB_TOOLS_DIR)/bin $(GO) install $(STATICCHECK_MODULE)

$(BYOB_TOOLS_DIR)/bin/fake-gcs-server:
	@mkdir -p $(BYOB_TOOLS_DIR)/bin
	@echo "installing fake-gcs-server into $(BYOB_TOOLS_DIR)/bin (about 40 s the first time)"
	cd /tmp && GOBIN=$(BYOB_TOOLS_DIR)/bin $(GO) install $(FAKEGCS_MODULE)

$(BYOB_TOOLS_DIR)/azurite/node_modules/.bin/azurite-blob:
	@mkdir -p $(BYOB_TOOLS_DIR)/azurite
	@echo "installing Azurite $(AZURITE_VERSION) into $(BYOB_TOOLS_DIR)/azurite (about 40 s the first time)"
	cd $(BYOB_TOOLS_DIR)/azurite && npm install --no-audit --no-fund --loglevel=error azurite@$(AZURITE_VERSION)

tools: $(BYOB_TOOLS_DIR)/bin/minio $(BYOB_TOOLS_DIR)/bin/fake-gcs-server $(BYOB_TOOLS_DIR)/azurite/node_modules/.bin/azurite-blob

# Every test, against real servers the tests start themselves.
test: tools build
	$(GO) vet ./...
	CI=$${CI:-true} BYOB_BIN=$(CURDIR)/$(BIN) $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(GO) test -run '^$$' -fuzz '^FuzzParseAddress$$' -fuzztime $(FUZZTIME) ./providers/

# Unit tests only (no servers): for a quick loop.
unit:
	$(GO) test -count=1 -short ./...

demo: build
	@rm -rf .demo && mkdir -p .demo
	$(GO) run ./integration/cmd/seed .demo/bucket wandb
	@echo
	@echo '$$ byob ls file://$(CURDIR)/.demo/bucket/wandb'
	@$(BIN) ls file://$(CURDIR)/.demo/bucket/wandb
	@echo
	@echo '$$ byob ls -R -l -H file://$(CURDIR)/.demo/bucket/wandb/acme-ml'
	@$(BIN) ls -R -l -H file://$(CURDIR)/.demo/bucket/wandb/acme-ml
	@echo
	@echo '$$ byob du file://$(CURDIR)/.demo/bucket/wandb'
	@$(BIN) du file://$(CURDIR)/.demo/bucket/wandb
	@mkdir -p .demo/mnt
	@echo
	@echo '$$ byob mount --daemon --cache-dir .demo/cache file://$(CURDIR)/.demo/bucket/wandb .demo/mnt'
	@if $(BIN) mount --daemon --cache-dir $(CURDIR)/.demo/cache file://$(CURDIR)/.demo/bucket/wandb $(CURDIR)/.demo/mnt; then \
		echo '$$ ls -R .demo/mnt | head -20'; ls -R .demo/mnt | head -20; \
		echo '$$ cat .demo/mnt/acme-ml/llm-pretrain/*/config.yaml | head -6'; cat .demo/mnt/acme-ml/llm-pretrain/*/config.yaml | head -6; \
		echo '$$ echo "written through the mount" > .demo/mnt/notes.txt'; echo "written through the mount" > .demo/mnt/notes.txt; \
		echo '$$ byob unmount .demo/mnt'; $(BIN) unmount $(CURDIR)/.demo/mnt; \
		echo '$$ byob cat file://$(CURDIR)/.demo/bucket/wandb/notes.txt'; $(BIN) cat file://$(CURDIR)/.demo/bucket/wandb/notes.txt; \
	else echo "(the mount needs /dev/fuse and root or fusermount3; skipped)"; fi

# BENCH=Mount|Sync selects benchmarks; BYOB_BENCH_QUICK=1 uses smaller sizes.
# BenchmarkMount/BenchmarkSync need root and /dev/fuse for the mount rows and
# s3fs, rclone, awscli for the peer rows (apt-get install -y s3fs rclone awscli);
# each of their rows is measured once whatever -benchtime says.
# Peers for the comparison rows (Debian packages; rows of a missing peer are skipped).
peers:
	-@command -v s3fs >/dev/null && command -v rclone >/dev/null && command -v aws >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq s3fs rclone awscli fio hyperfine)

bench: tools build peers
	BYOB_BIN=$(CURDIR)/$(BIN) $(GO) test -run '^$$' -bench '$(or $(BENCH),.)' -benchtime 10x -timeout 90m ./integration/

lint: $(BYOB_TOOLS_DIR)/bin/staticcheck
	$(GO) vet ./...
	$(BYOB_TOOLS_DIR)/bin/staticcheck ./...

clean:
	rm -rf bin .demo
