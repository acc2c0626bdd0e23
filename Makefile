# SymmetricDP — `make solve` runs the main job, `make test` the test suite.
SWIFT ?= swift
SYMDP := .build/release/symdp
ARGS ?=

.PHONY: setup build solve test bench regression clean

setup:
	@scripts/setup.sh

build: setup
	$(SWIFT) build -c release --product symdp

## Solve the baseline model (N = 128 firms, Deep Sets, paper defaults); extra flags via ARGS="...".
solve: build
	$(SYMDP) solve --config configs/baseline.yaml $(ARGS)

## The whole test suite, in release mode (the numerics are too slow unoptimised).
test:
	@scripts/setup.sh --test
	$(SWIFT) build -c release --product symdp
	$(SWIFT) build -c release --build-tests
	$(SWIFT) test -c release --skip-build

bench: build
	$(SYMDP) bench
	$(SYMDP) lq --method riccati --set model.N=512
	$(SYMDP) lq --method riccati --cold-start --set model.N=512

regression: build
	$(SYMDP) regression

clean:
	rm -rf .build
