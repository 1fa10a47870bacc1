# Gatehouse. `make run` serves the app; `make test` runs every test.
export GOTOOLCHAIN := local
GO ?= go
# The race detector needs a C compiler; use it when there is one.
RACE ?= $(shell command -v gcc >/dev/null 2>&1 && echo -race)

.PHONY: run test generate build bench load fmt vet clean

## run: generate templ code, create .env if missing, migrate, seed and serve on :3000
run: generate .env
	$(GO) run . serve

## test: every test (browser tests skip with a reason when Chromium is missing)
test: generate
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

build: generate
	$(GO) build -o bin/gatehouse .

fmt:
	gofmt -w $$(git ls-files '*.go')
	$(GO) tool templ fmt .

.env:
	$(GO) run . init

clean:
	rm -rf bin data
