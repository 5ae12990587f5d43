# payrecon — see README.md. All targets are phony; GOFLAGS and friends pass through.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      ?= bin/payrecon
CONFIG   ?= configs/payrecon.yaml
TESTTIMEOUT ?= 8m

.PHONY: demo test bench lint build

# The end-to-end demo: Huawei and WeChat Pay sandboxes in-process on
# loopback, callbacks fired through the receiver, the day reconciled on a
# fresh embedded SQLite database under var/demo, workbook + JSON written.
# No configuration file, no services, no network beyond loopback.
demo: build
	$(BIN) demo --dir var/demo

# The MySQL halves run when PAYRECON_TEST_MYSQL_DSN is set (.ci/run sets it);
# otherwise they skip and say so.
test:
	$(GO) test -count=1 -timeout $(TESTTIMEOUT) ./...

bench:
	$(GO) run ./cmd/payrecon-bench -n $(or $(N),1000000) $(BENCHFLAGS)
	@if [ -n "$(MICRO)" ]; then $(GO) test -run '^$$' -bench . -benchmem -timeout 20m ./...; else echo "(package micro-benchmarks: make bench MICRO=1)"; fi

lint:
	$(GO) vet ./...
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@if command -v staticcheck >/dev/null 2>&1; then staticcheck ./...; else echo "staticcheck not installed: skipped"; fi

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/payrecon
