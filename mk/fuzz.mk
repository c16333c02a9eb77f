# libFuzzer targets, built with Debian's clang (-fsanitize=fuzzer,address,undefined; the
# `clang` target installs it and its runtime when missing):
#   fuzz_nn        the interpreter: every input a candidate .tflite (firmware/fuzz/fuzz_nn.c)
#   fuzz_command   the device core's command characteristic  } a sequence of operations
#   fuzz_ack       its acknowledgement characteristic         } per input, state building
#   fuzz_transfer  the update service's model-transfer writes } up (firmware/fuzz/device_ops.h)
#   fuzz_strip_transfer  ECG strips: made, STRIP_GET / RELEASE, frames, cuts (same harness)
#   fuzz_strip_decode  the strip block decoder: every input a candidate block, accepted
#                  blocks re-encoded and decoded again (firmware/fuzz/fuzz_strip_decode.c)
# `make fuzz-build` builds them and their seed corpora (build/fuzz/corpus for nn,
# build/fuzz/corpus_<name> from tests/vectors/protocol.json for the others);
# `make fuzz` runs each for FUZZ_SECONDS (default 300); crashes go to build/fuzz/crashes.
# `make bench` runs them too (benchmarks/bench_fuzz.py).

FUZZ_DIR := build/fuzz
FUZZ_SECONDS ?= 300
FUZZ_DEVICE_TARGETS := command ack transfer strip_transfer
FUZZ_TARGETS := nn $(FUZZ_DEVICE_TARGETS) strip_decode image  # image: mk/boot.mk builds it
NN_SOURCES := $(wildcard firmware/src/nn/*.c)

FUZZ_CFLAGS := -std=c11 -g -O1 -fno-sanitize-recover=undefined -Wall -Wextra -Werror
# the DEV key, as every host build (FWMK_TRUST, firmware/firmware.mk)
FUZZ_CPPFLAGS := -Ifirmware/include -Ifirmware/port/host -Ifirmware/fuzz -DWS_PORT_HOST=1 \
  $(FWMK_TRUST)
# The device core, the host port's flash, clock and update binding, and the harness,
# compiled once with coverage for all three device targets.
FUZZ_CORE_SRCS := $(sort $(shell find firmware/src -name '*.c' 2>/dev/null))
FUZZ_PORT_SRCS := firmware/port/host/flash.c firmware/port/host/device.c firmware/port/host/update.c
FUZZ_OBJS := $(patsubst firmware/%.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_CORE_SRCS) $(FUZZ_PORT_SRCS) \
  firmware/fuzz/device_ops.c)
FUZZ_HEADERS := $(wildcard firmware/include/*.h firmware/port/host/*.h firmware/fuzz/*.h \
  firmware/src/*/*.h)

.PHONY: fuzz fuzz-build clang $(addprefix fuzz-run-,$(FUZZ_TARGETS))

clang:
	@command -v clang >/dev/null && [ -n "$$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] || { echo "installing clang (apt-get)"; \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q \
	    --no-install-recommends clang libclang-rt-dev; }

$(FUZZ_DIR)/fuzz_nn: firmware/fuzz/fuzz_nn.c $(NN_SOURCES) $(wildcard firmware/src/nn/*.h) \
                     firmware/include/ws_nn.h firmware/include/ws_status.h | clang
	@mkdir -p $(FUZZ_DIR)
	clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	  -Wall -Wextra -Werror -Ifirmware/include -Ifirmware/src/nn \
	  firmware/fuzz/fuzz_nn.c $(NN_SOURCES) -o $@

$(FUZZ_DIR)/fuzz_strip_decode: firmware/fuzz/fuzz_strip_decode.c firmware/src/strips/codec.c \
                               firmware/include/ws_strip_codec.h firmware/include/ws_status.h | clang
	@mkdir -p $(FUZZ_DIR)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -Ifirmware/include \
	  firmware/fuzz/fuzz_strip_decode.c firmware/src/strips/codec.c -o $@

# The event queue keeps its edge counters (and ASan/UBSan) but not libFuzzer's comparison
# tracing: its comparisons are of record CRCs, commit words and page headers read back from
# flash, and of the UBSan checks on its pointers, values no input byte sets directly (the
# acknowledgement's epoch and seq are compared in device.c, which keeps the tracing).
# Tracing them was 30 % of a device target's execution (docs/device-core.md, Testing).
$(FUZZ_DIR)/obj/src/app/queue.o: FUZZ_COV_FLAGS := -fno-sanitize-coverage=trace-cmp
# Likewise the strip codec in the device targets: its comparisons are of sample values and
# its bit reader, which fuzz_strip_decode (built from codec.c with the tracing) explores;
# tracing them was half of fuzz_strip_transfer's execution.
$(FUZZ_DIR)/obj/src/strips/codec.o: FUZZ_COV_FLAGS := -fno-sanitize-coverage=trace-cmp

$(FUZZ_DIR)/obj/%.o: firmware/%.c $(FUZZ_HEADERS) firmware/fuzz/coverage_ignore.txt | clang
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined $(FUZZ_COV_FLAGS) \
	  -fsanitize-coverage-ignorelist=firmware/fuzz/coverage_ignore.txt $(FUZZ_CPPFLAGS) -c $< -o $@

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/fuzz/fuzz_%.o $(FUZZ_OBJS) | clang
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $^ -o $@

$(FUZZ_DIR)/corpus/.stamp: $(STAMP) tools/make_nn_corpus.py wearsense/testing/tflite_models.py wearsense/tflite/builder.py
	$(PY) tools/make_nn_corpus.py $(FUZZ_DIR)/corpus 40
	@touch $@

$(FUZZ_DIR)/corpus_device.stamp: $(STAMP) tools/make_device_corpus.py tests/vectors/protocol.json
	$(PY) tools/make_device_corpus.py $(FUZZ_DIR)
	@touch $@

$(FUZZ_DIR)/corpus_strip_decode/.stamp: $(STAMP) tools/make_strip_corpus.py firmware/src/strips/codec.c
	$(PY) tools/make_strip_corpus.py $(FUZZ_DIR)/corpus_strip_decode
	@touch $@

fuzz-build: $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_TARGETS)) $(FUZZ_DIR)/corpus/.stamp \
            $(FUZZ_DIR)/corpus_device.stamp $(FUZZ_DIR)/corpus_strip_decode/.stamp \
            $(FUZZ_DIR)/corpus_image/.stamp

# fuzz_nn reads its corpus from build/fuzz/corpus, the others from build/fuzz/corpus_<name>.
# Inputs up to 16 KiB for a model, 600 bytes for a strip block. The device targets take
# 200 bytes: some 30 to 60 operations, room for a command frame (42 bytes at most) four
# times over; 8 three-byte event operations fill the queue (16 events each) and a
# transfer write of 5 bytes expands to any frame length (op bit 0x20, device_ops.h).
# Inputs that grew toward 600 bytes made the device targets 3 times slower than at 200
# (more operations, each scanning the queue), with the same cov (docs/device-core.md).
FUZZ_DEVICE_MAX_LEN := 200
fuzz_max_len = $(if $(filter nn,$(1)),16384,$(if $(filter strip_decode,$(1)),600,$(if $(filter image,$(1)),2048,$(FUZZ_DEVICE_MAX_LEN))))
fuzz_corpus = $(if $(filter nn,$(1)),$(FUZZ_DIR)/corpus,$(FUZZ_DIR)/corpus_$(1))

$(addprefix fuzz-run-,$(FUZZ_TARGETS)): fuzz-run-%: fuzz-build
	@mkdir -p $(FUZZ_DIR)/crashes
	$(FUZZ_DIR)/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -max_len=$(call fuzz_max_len,$*) -print_final_stats=1 \
	  -artifact_prefix=$(FUZZ_DIR)/crashes/$*- $(call fuzz_corpus,$*)

fuzz: $(addprefix fuzz-run-,$(FUZZ_TARGETS))
