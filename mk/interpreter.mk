# The int8 interpreter (firmware/src/nn): the C test's vectors, the libFuzzer target and
# its seed corpus. `make fuzz` runs it for FUZZ_SECONDS (default 300) over the ASan/UBSan build.

# firmware/tests/test_nn.c reads models, inputs and TFLM's outputs from a generated header
# (needs the venv with tflite-micro and the host build, whose interpreter gives the arenas).
GEN_HEADERS += build/gen/ws_nn_vectors.h
build/gen/ws_nn_vectors.h: $(STAMP) build/host/.stamp tools/make_nn_vectors.py \
    $(wildcard models/*/*.tflite) $(wildcard tests/fixtures/foreign/*.tflite) \
    benchmarks/bench_interpreter.py $(wildcard wearsense/tflite/*.py)
	$(PY) tools/make_nn_vectors.py $@

FUZZ_DIR := build/fuzz
FUZZ_SECONDS ?= 300
NN_SOURCES := $(wildcard firmware/src/nn/*.c)

.PHONY: fuzz fuzz-build clang

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

$(FUZZ_DIR)/corpus/.stamp: $(STAMP) tools/make_nn_corpus.py wearsense/testing/tflite_models.py wearsense/tflite/builder.py
	$(PY) tools/make_nn_corpus.py $(FUZZ_DIR)/corpus 40
	@touch $@

fuzz-build: $(FUZZ_DIR)/fuzz_nn $(FUZZ_DIR)/corpus/.stamp

fuzz: fuzz-build
	@mkdir -p $(FUZZ_DIR)/crashes
	$(FUZZ_DIR)/fuzz_nn -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -print_final_stats=1 \
	  -artifact_prefix=$(FUZZ_DIR)/crashes/ $(FUZZ_DIR)/corpus
