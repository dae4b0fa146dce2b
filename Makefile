# pitrguard — see README.md. Everything the project needs is installed by these targets.
GO        ?= go
export GOTOOLCHAIN := local
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/pitrguard/pitrguard/internal/cli.Version=$(VERSION)

.PHONY: build test tidy-check demo vet fmt bench clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/pitrguard ./cmd/pitrguard

# The whole suite, with the race detector. moto_server must be on PATH:
# PITRGUARD_REQUIRE_MOTO=1 makes moto-backed tests fail instead of skipping.
# PostgreSQL's server binaries (Debian: apt-get install postgresql) too:
# PITRGUARD_REQUIRE_POSTGRES=1 makes the PostgreSQL store suite fail instead of skipping.
# And Debian's chromium (apt-get install chromium): PITRGUARD_REQUIRE_CHROMIUM=1 makes the
# evidence report's browser test fail instead of skipping (PITRGUARD_ARTIFACTS=DIR keeps its screenshot).
test:
	@command -v moto_server >/dev/null || { echo "moto_server is not on PATH; the moto-backed tests need it (see README.md)"; exit 1; }
	gofmt_out=$$(gofmt -l cmd internal); if [ -n "$$gofmt_out" ]; then echo "gofmt needed:"; echo "$$gofmt_out"; exit 1; fi
	$(MAKE) --no-print-directory tidy-check
	$(GO) vet ./...
	PITRGUARD_REQUIRE_MOTO=1 PITRGUARD_REQUIRE_POSTGRES=1 PITRGUARD_REQUIRE_CHROMIUM=1 $(GO) test -race -count=1 -timeout 15m ./...
	# Brief fuzzing of every untrusted input (no panics, no hangs): IaC front ends,
	# the policy file, plan files, time strings, events (issue 9's invariants). Bounded by
	# executions, not time: a time bound can end in a spurious "context deadline exceeded".
	$(GO) test -run '^$$' -fuzz FuzzScan -fuzztime 30000x ./internal/iac/cloudformation
	$(GO) test -run '^$$' -fuzz FuzzScan -fuzztime 5000x ./internal/iac/terraform
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 10000x ./internal/config
	$(GO) test -run '^$$' -fuzz FuzzLoadPlan -fuzztime 10000x ./internal/remediate
	$(GO) test -run '^$$' -fuzz FuzzParseTime -fuzztime 10000x ./internal/restore
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 10000x ./internal/events

# go.mod and go.sum must be exactly what `go mod tidy` would write (issue 9 #16: direct
# dependencies were all marked `// indirect`). Fails, printing the diff, when they are not.
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy (diff above); run 'go mod tidy'"; exit 1; }

# Audit a demo organization in a local emulator.
demo:
	$(GO) run ./cmd/pitrguard-demo

# The scale benchmark (not part of make test): about 16 minutes on 2 cores.
# Results go to bench/results/ (latest.md). BENCH_FLAGS=--reuse keeps the seeded emulator;
# BENCH_FLAGS="--runs default-org,source-config,sharded" picks runs.
# BENCH_FLAGS="--only events" runs only the handle-event part (1,000 CreateTable events, ~2.5 min;
# bench/results/events.md). BENCH_FLAGS="--only memory" runs only the peak-RSS rows on generated
# facts (9,880 and 50,200 tables, no moto, ~3 min; bench/results/memory.md); --only sharded-generated
# the shard rows on generated facts.
bench:
	$(GO) run ./cmd/pitrguard-bench $(BENCH_FLAGS)

vet:
	$(GO) vet ./...

fmt:
	gofmt -w cmd internal

clean:
	rm -rf bin demo-output
