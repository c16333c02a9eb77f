# The int8 interpreter (firmware/src/nn): the C test's vectors. Its libFuzzer target
# (fuzz_nn) is built and run with the others by mk/fuzz.mk.

# firmware/tests/test_nn.c reads models, inputs and TFLM's outputs from a generated header
# (needs the venv with tflite-micro and the host build, whose interpreter gives the arenas).
GEN_HEADERS += build/gen/ws_nn_vectors.h
build/gen/ws_nn_vectors.h: $(STAMP) build/host/.stamp tools/make_nn_vectors.py \
    $(wildcard models/*/*.tflite) $(wildcard tests/fixtures/foreign/*.tflite) \
    benchmarks/bench_interpreter.py $(wildcard wearsense/tflite/*.py)
	$(PY) tools/make_nn_vectors.py $@
