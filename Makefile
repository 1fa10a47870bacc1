# Gatehouse. `make run` serves the app; `make test` runs every test.
export GOTOOLCHAIN := local
GO ?= go
# The race detector needs a C compiler; use it when there is one.
RACE ?= $(shell command -v gcc >/dev/null 2>&1 && echo -race)

# The Node packages of the Clerk interoperability test, pinned in its
# package-lock.json.
INTEROP := auth/token/testdata/clerk-interop

.PHONY: run test generate build bench load fmt vet clean interop-deps

## run: generate templ code, create .env if missing, migrate, seed and serve on :3000
run: generate .env
	$(GO) run . serve

## test: every test (browser tests skip with a reason when Chromium is missing,
## the Clerk interop test when node or its packages are)
test: generate interop-deps
	$(GO) vet ./...
	$(GO) test $(RACE) -count=1 -timeout 20m ./...

## bench: the Go benchmarks, with allocation counts
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

## load: measure the running app on this machine (about 12 minutes) and write
## the results into docs/performance.md; LOAD_FLAGS=-quick for a short try
load: build
	./bin/gatehouse loadtest $(LOAD_FLAGS)

generate:
	$(GO) tool templ generate

## interop-deps: install the interop test's pinned packages (npm ci) when npm
## exists and the lock file changed; without npm, or offline, the test skips
interop-deps: $(INTEROP)/node_modules/.package-lock.json

$(INTEROP)/node_modules/.package-lock.json: $(INTEROP)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(INTEROP) --no-audit --no-fund --loglevel=error || \
		echo "npm ci failed: the Clerk interop test will skip (GATEHOUSE_REQUIRE_NODE=1 makes that a failure)"; \
	fi

build: generate
	$(GO) build -o bin/gatehouse .

fmt:
	gofmt -w $$(git ls-files '*.go')
	$(GO) tool templ fmt .

.env:
	$(GO) run . init

clean:
	rm -rf bin data
