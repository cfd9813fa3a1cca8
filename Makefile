# Callflow: `make run` and `make test` each do all set-up on a fresh Debian 12 machine.
# (bench-sip: SIP calls/s, calls held with audio, RTP pacing, memory per call)
.PHONY: all deps build web web-screenshots run test test-asan bench bench-http bench-lead-api bench-sip bench-web fuzz fuzz-smoke soak reliability-report check-includes format format-check clean

BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CALLFLOW   := $(BUILD)/callflow

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

# The designer (web/): npm ci from the lock file when it changed, then the Vite build into web/dist.
web: deps
	@bash scripts/build-web.sh

# The README's screenshots of the designer (docs/screenshots/), from the real app in chromium.
web-screenshots: build
	SCREENSHOTS=1 bash scripts/test-web.sh $(CALLFLOW) screenshots

# Callflow's main job: `callflow serve` on run/callflow.db (SQLite) with the demo leads and the
# example flows, the seed's example run against it, then serving until Ctrl-C.
run: build web
	@bash scripts/run-demo.sh $(CALLFLOW)

test: build check-includes
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The unit and flow tests again, built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCALLFLOW_SANITIZE=ON \
	  -DCALLFLOW_BENCH=OFF
	ninja -C $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS)

bench: build
	$(BUILD)/bench/engine_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

# ApiRequest under load against nginx, beside wrk and a bare libcurl loop (installs nginx, wrk).
bench-http: build
	BUILD=$(BUILD) bash bench/http_load.sh

# The Lead Web API's field endpoint under wrk, beside nginx serving a static file.
bench-lead-api: build
	BUILD=$(BUILD) bash bench/lead_api_load.sh

# SIP: the seed's flow as phone calls under SIPp, calls held with audio, beside SIPp against SIPp.
bench-sip: build
	BUILD=$(BUILD) bash bench/sip_load.sh

# The designer: a 200-element flow opened in headless Chromium, the validation round trip.
bench-web: build
	BUILD=$(BUILD) bash bench/web_load.sh

# Fuzzing (RELIABILITY.md 5.6): fuzz/'s libFuzzer targets with clang 14, ASan and UBSan in
# build-fuzz, 10 min each; new crashes land in fuzz/regressions/, which `make test` replays.
# The smoke run (in CI) is a fixed number of runs per target from a fixed seed, about 15 s each on
# the CI machine, so that what it finds replays with `make fuzz-smoke` (scripts/fuzz.sh says how far).
FUZZ_SMOKE_RUNS ?= flow=200000 fillpoint=200000 result_path=1000000 sip_msg=20000 sdp=400000 \
  rtp=400000 http_request=300000
fuzz: deps
	bash scripts/fuzz.sh 600
fuzz-smoke: deps
	FUZZ_RUNS="$(FUZZ_SMOKE_RUNS)" bash scripts/fuzz.sh 90

# An hour of calls through `serve --sip` (greeting, ApiRequest, read-back, hang-up) and the slope
# of the server's RSS after warm-up, kept in build/soak.log for `make reliability-report`; not in
# CI. SOAK_SECONDS=600 for a shorter run.
SOAK_SECONDS ?= 3600
SOAK_RATE ?= 5
SOAK_CONCURRENT ?= 40
soak: build
	bash -o pipefail -c 'python3 tests/reliability/soak.py $(CALLFLOW) . $(SOAK_SECONDS) $(SOAK_RATE) $(SOAK_CONCURRENT) 2>&1 | tee build/soak.log'

# The figures table of docs/RELIABILITY.md from real runs: every PROTOS-style case, 50 kill -9
# cycles each for leads and calls, the L0/L1 load run, the overload and flood runs, 60 s of fuzzing
# a target.
reliability-report: build
	bash scripts/reliability_report.sh $(CALLFLOW)

check-includes:
	@bash scripts/check_includes.sh

SOURCES = $(shell git ls-files '*.h' '*.cpp')
format:
	clang-format -i $(SOURCES)
format-check: deps
	clang-format --dry-run -Werror $(SOURCES)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
