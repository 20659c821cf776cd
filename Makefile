# eeo-gateway. Needs only Go for run/test/bench; generate and lint also use
# npm (for google-proto-files), which CI machines have.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO              ?= go
BIN             := $(CURDIR)/.bin
PROTOS          := $(CURDIR)/.build/protos
TOOLS_MOD       := -modfile=$(CURDIR)/tools/go.mod
GOOGLE_PROTO_FILES_VERSION := 5.0.3
# Swagger UI for the docs page at /docs, vendored in internal/docsui/swagger-ui.
SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI_FILES   := LICENSE NOTICE package.json swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png
SWAGGER_UI_DIR     := internal/docsui/swagger-ui
RUN_ARGS        ?= serve --dev
BREAKING_REF    ?= HEAD~1
BENCH           ?= .
BENCHTIME       ?= 1s
SIZE            ?= 1073741824
# What `make generate` writes (gen/eeo/go.mod and go.sum are kept: the stubs'
# own module).
GEN_DIRS        := gen/eeo/v1 gen/gateway gen/openapiv2 gen/python

# Stamped into the binary (internal/version) by build and run; `eeo-gateway
# version` prints them and the start-up log line carries them.
VERSION         ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT          ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BUILD_DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG     := github.com/eeo-gateway/eeo-gateway/internal/version
LDFLAGS         := -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT) -X $(VERSION_PKG).buildDate=$(BUILD_DATE)

TOOL_PKGS := \
	github.com/bufbuild/buf/cmd/buf \
	google.golang.org/protobuf/cmd/protoc-gen-go \
	google.golang.org/grpc/cmd/protoc-gen-go-grpc \
	github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway \
	github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2 \
	github.com/fullstorydev/grpcurl/cmd/grpcurl

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

.PHONY: run
run: ## Serve on the embedded EEO sandbox: gRPC 127.0.0.1:9090, REST 127.0.0.1:8080.
	$(GO) run -ldflags '$(LDFLAGS)' ./cmd/eeo-gateway $(RUN_ARGS)

.PHONY: build
build: ## Build ./eeo-gateway with the version stamped in (VERSION, COMMIT, BUILD_DATE).
	$(GO) build -ldflags '$(LDFLAGS)' -o eeo-gateway ./cmd/eeo-gateway

# The benchmark suite is a module of its own (bench/go.mod) so that the
# libraries it compares against stay out of the gateway's go.mod. -mod=mod
# lets it follow the gateway's dependencies (reached through its replace)
# without a tidy after every change to the root go.mod.
BENCH_GO := cd bench && $(GO)

.PHONY: test
test: browser python redis ## go vet and every test with the race detector, the bench module's too (installs chromium, redis-server and the Python gRPC packages for their tests).
	$(GO) vet ./...
	EEO_BROWSER_REQUIRED=1 EEO_PYTHON_REQUIRED=1 EEO_REDIS_REQUIRED=1 $(GO) test -race -count=1 ./...
	$(BENCH_GO) vet -mod=mod ./...
	$(BENCH_GO) test -mod=mod -race -count=1 ./...

# The Python stubs are generated with Debian's protoc and gRPC Python
# plugin, and examples/python runs on Debian's python3-grpcio and
# python3-protobuf (cmd/eeo-gateway/python_example_test.go, in make test).
PYTHON_DEBS := protobuf-compiler protobuf-compiler-grpc python3-grpcio python3-protobuf
.PHONY: python
python: ## Install Debian's protoc, gRPC Python plugin, python3-grpcio and python3-protobuf if missing.
	@missing=$$(for p in $(PYTHON_DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
		if [ -n "$$missing" ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; fi

# The Redis backend's tests (internal/redistest) run Debian's redis-server.
.PHONY: redis
redis: ## Install Debian's redis-server with apt-get if it is missing.
	@command -v redis-server >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server; }

# The docs page test (e2e/docs_browser_test.go) drives headless Chromium.
.PHONY: browser
browser: ## Install Debian's chromium with apt-get if it is missing.
	@command -v chromium >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

.PHONY: bench
bench: ## Benchmarks with allocation counts (BENCH=regexp, BENCHTIME=1s).
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -benchtime $(BENCHTIME) ./...

.PHONY: bench-files
bench-files: ## 1 GiB up and down through a gateway process: throughput and peak RSS (SIZE=bytes).
	$(BENCH_GO) run -mod=mod ./cmd/filebench -size $(SIZE)

.PHONY: bench-report
bench-report: ## Every comparison of the benchmark suite in one run, written to BENCHMARKS.md (SIZE=bytes per file transfer).
	$(BENCH_GO) run -mod=mod ./cmd/benchreport -size $(SIZE) -out ../BENCHMARKS.md

# Tool binaries are cached in .bin and rebuilt when tools/go.mod changes.
# Building buf from source takes a few minutes on a fresh machine.
$(BIN)/.stamp: tools/go.mod tools/go.sum
	mkdir -p $(BIN)
	cd tools && $(GO) build -o $(BIN)/ $(TOOL_PKGS)
	touch $@

.PHONY: tools
tools: $(BIN)/.stamp ## Build buf, the protoc plugins and grpcurl into .bin.

# Third-party protos: google/api and google/rpc (for the Python stubs) from
# the npm package google-proto-files,
# openapiv2 options from the grpc-gateway module pinned in tools/go.mod.
$(PROTOS)/.stamp: tools/go.mod Makefile
	rm -rf $(PROTOS) && mkdir -p $(PROTOS)/google/api $(PROTOS)/google/rpc $(PROTOS)/protoc-gen-openapiv2/options .build/npm
	npm install --prefix .build/npm --no-audit --no-fund --no-package-lock --ignore-scripts \
		google-proto-files@$(GOOGLE_PROTO_FILES_VERSION) >/dev/null
	cp .build/npm/node_modules/google-proto-files/google/api/{annotations,http,httpbody,field_behavior}.proto $(PROTOS)/google/api/
	cp .build/npm/node_modules/google-proto-files/google/rpc/{status,error_details}.proto $(PROTOS)/google/rpc/
	gw=$$(cd tools && $(GO) list -m -f '{{.Dir}}' github.com/grpc-ecosystem/grpc-gateway/v2) && \
		cp $$gw/protoc-gen-openapiv2/options/{annotations,openapiv2}.proto $(PROTOS)/protoc-gen-openapiv2/options/
	chmod -R u+w $(PROTOS)
	touch $@

.PHONY: protos
protos: $(PROTOS)/.stamp ## Fetch third-party protos into .build/protos.

.PHONY: generate
generate: tools protos python ## Regenerate gen/ from proto/ (Go, Python, OpenAPI).
	rm -rf $(GEN_DIRS)
	$(BIN)/buf generate
	$(BIN)/buf generate --template buf.gen.openapi.yaml
	$(BIN)/buf generate --template buf.gen.python.yaml
	./scripts/gen-openapi-embed.sh gen/openapiv2

.PHONY: lint
lint: tools protos ## buf lint (STANDARD), buf format, gofmt.
	$(BIN)/buf lint
	$(BIN)/buf format --diff --exit-code proto
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^gen/')); \
		if [ -n "$$unformatted" ]; then echo "gofmt needed:" $$unformatted >&2; exit 1; fi

.PHONY: breaking
breaking: tools protos ## buf breaking against proto/breaking-baseline.txtpb and proto/ at BREAKING_REF (default HEAD~1).
	BUF=$(BIN)/buf BREAKING_REF=$(BREAKING_REF) ./scripts/buf-breaking.sh

.PHONY: proto-baseline
proto-baseline: tools protos ## Record the current contract as the breaking-change baseline (declares a break intended).
	$(BIN)/buf build --path proto/eeo --exclude-source-info -o proto/breaking-baseline.txtpb

.PHONY: check-generated
check-generated: generate ## Fail if gen/ differs from what proto/ generates.
	@if [ -n "$$(git status --porcelain --untracked-files=all -- gen)" ]; then \
		echo "gen/ is stale: run 'make generate' and commit the result" >&2; \
		git status --short -- gen >&2; git diff --stat -- gen >&2; exit 1; fi

# Swagger UI is committed (like gen/) so builds need no network; these
# targets fetch the pinned npm release to update it or to check for drift.
.PHONY: docs-ui
docs-ui: ## Vendor swagger-ui-dist@SWAGGER_UI_VERSION into internal/docsui/swagger-ui.
	rm -rf .build/swagger-ui && mkdir -p .build/swagger-ui
	npm install --prefix .build/swagger-ui --no-audit --no-fund --no-package-lock --ignore-scripts \
		swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null
	rm -rf $(SWAGGER_UI_DIR) && mkdir -p $(SWAGGER_UI_DIR)
	cd .build/swagger-ui/node_modules/swagger-ui-dist && cp $(SWAGGER_UI_FILES) $(CURDIR)/$(SWAGGER_UI_DIR)/

.PHONY: check-docs-ui
check-docs-ui: docs-ui ## Fail if the vendored Swagger UI differs from the pinned npm release.
	@if [ -n "$$(git status --porcelain --untracked-files=all -- $(SWAGGER_UI_DIR))" ]; then \
		echo "$(SWAGGER_UI_DIR) differs from swagger-ui-dist@$(SWAGGER_UI_VERSION): run 'make docs-ui' and commit" >&2; \
		git status --short -- $(SWAGGER_UI_DIR) >&2; exit 1; fi

.PHONY: grpcurl
grpcurl: tools ## Print the path of the grpcurl binary built into .bin.
	@echo $(BIN)/grpcurl

.PHONY: clean
clean: ## Remove built binaries and fetched protos.
	rm -rf $(BIN) .build eeo-gateway

FUZZTIME ?= 30s
.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 30s).
	for t in auth:FuzzTokenResponse eeo:FuzzResponses server:FuzzRequestValidation server:FuzzRESTUpload; do \
		echo "== ./$${t%%:*} $${t#*:}"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) ./$${t%%:*}; \
	done

SOAK_DURATION ?= 10m
.PHONY: soak
soak: ## Mixed load at concurrency 64 with 1% injected faults (SOAK_DURATION, default 10m).
	EEO_SOAK_DURATION=$(SOAK_DURATION) $(GO) test -run '^TestSoak$$' -count=1 -timeout 0 -v ./e2e/
