# WearSense: the two commands are `make demo` and `make test` (see README.md).
# Every target creates the virtual environment, installs the project, builds the
# firmware core and installs the ARM toolchain and QEMU when they are missing.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo "sudo -n")
FW_SOURCES := $(shell find firmware/src firmware/include firmware/port/host -name '*.c' -o -name '*.h' 2>/dev/null)

.PHONY: demo test bench lint typecheck firmware toolchain clean help

help:
	@echo "make demo   - run the main job (emulated wearable + companion + terminal UI)"
	@echo "make test   - lint, type-check, build and run every test (C, Python, Cortex-M4 in QEMU)"
	@echo "make bench  - run the benchmarks; writes build/bench/results.json and results.md"

$(STAMP): pyproject.toml setup.py
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,train]'
	@touch $(STAMP)

# The ARM cross toolchain and QEMU come from Debian's packages.
toolchain:
	@if ! command -v arm-none-eabi-gcc >/dev/null || ! command -v qemu-system-arm >/dev/null \
	   || [ ! -e /usr/lib/arm-none-eabi/newlib/libc.a ]; then \
	  echo "installing the ARM toolchain and QEMU (apt-get)"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends \
	    gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm; \
	fi

build/host/.stamp: $(STAMP) $(FW_SOURCES) firmware/port/host/ffi_build.py
	$(PY) firmware/port/host/ffi_build.py --variant all
	@touch $@

firmware: build/host/.stamp

# Headers generated from the shared test vectors, read by the C tests (host and M4).
GEN_HEADERS := build/gen/ws_protocol_vectors.h
build/gen/ws_protocol_vectors.h: tests/vectors/protocol.json tools/gen_vectors_header.py
	$(PYTHON) tools/gen_vectors_header.py $@

-include firmware/firmware.mk
# Each capability may add its own targets in mk/<area>.mk.
-include $(wildcard mk/*.mk)

lint: $(STAMP)
	$(VENV)/bin/ruff check wearsense tui tests tools benchmarks firmware/port/host
	$(VENV)/bin/ruff format --check wearsense tui tests tools benchmarks firmware/port/host

typecheck: $(STAMP)
	$(VENV)/bin/mypy wearsense tui

ASAN_RT = $(shell gcc -print-file-name=libasan.so)
UBSAN_RT = $(shell gcc -print-file-name=libubsan.so)

test: $(STAMP) toolchain clang firmware lint typecheck
	$(PY) -m pytest -m "not sanitized" -q
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 LD_PRELOAD="$(ASAN_RT) $(UBSAN_RT)" \
	  $(PY) -m pytest -m sanitized -q -p no:cacheprovider

bench: $(STAMP) toolchain firmware
	$(PY) -m benchmarks

# DEMO_ARGS: e.g. --speed 20, or --check 30 (headless: prints when each detector's first
# event reached the screen).
demo: $(STAMP) toolchain firmware
	$(VENV)/bin/wearsense demo $(DEMO_ARGS)

clean:
	rm -rf build wearsense/_firmware*.so
