# payrecon — see README.md. All targets are phony; GOFLAGS and friends pass through.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      ?= bin/payrecon
CONFIG   ?= configs/payrecon.yaml
TESTTIMEOUT ?= 8m

.PHONY: demo test bench lint build

# Until the end-to-end demo lands, this builds the binary, applies the schema
# to the embedded SQLite database of the example configuration and checks
# that configuration.
demo: build
	@echo "== demo: the sandbox run is not wired in yet; migrating the example database and checking the example config =="
	$(BIN) --config $(CONFIG) migrate
	$(BIN) --config $(CONFIG) config check
	@echo "== demo done: the schema is in place (see database.dsn in $(CONFIG)); 'make test' runs the suites =="

# The MySQL halves run when PAYRECON_TEST_MYSQL_DSN is set (.ci/run sets it);
# otherwise they skip and say so.
test:
	$(GO) test -count=1 -timeout $(TESTTIMEOUT) ./...

bench:
	$(GO) run ./cmd/payrecon-bench -n $(or $(N),1000000) $(BENCHFLAGS)
	@if [ -n "$(MICRO)" ]; then $(GO) test -run '^$$' -bench . -benchmem -timeout 20m ./...; else echo "(package micro-benchmarks: make bench MICRO=1)"; fi

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@if command -v staticcheck >/dev/null 2>&1; then staticcheck ./...; else echo "staticcheck not installed: skipped"; fi

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/payrecon
