# The int8 interpreter (firmware/src/nn): the C test's vectors. Its libFuzzer target
# (fuzz_nn) is built and run with the others by mk/fuzz.mk.

# firmware/tests/test_nn.c reads models, inputs and TFLM's outputs from a generated header
# (needs the venv with tflite-micro and the host build, whose interpreter gives the arenas).
GEN_HEADERS += build/gen/ws_nn_vectors.h
build/gen/ws_nn_vectors.h: $(STAMP) build/host/.stamp tools/make_nn_vectors.py \
    $(wildcard models/*/*.tflite) $(wildcard tests/fixtures/foreign/*.tflite) \
    benchmarks/bench_interpreter.py $(wildcard wearsense/tflite/*.py)
	$(PY) tools/make_nn_vectors.py $@

# `wearsense model profile` (wearsense/testing/m4profile.py): one image for every model;
# QEMU's loader puts the model and its inputs in PSRAM (firmware/profile/main.c).
.PHONY: profile-image
PROFILE_SRC := firmware/profile/main.c
PROFILE_ELF := build/profile/m4/profile.elf

$(PROFILE_ELF): $(PROFILE_SRC) $(FWMK_M4_PORT_OBJS) $(FWMK_M4)/libwscore.a $(M4_LDSCRIPT)
	@mkdir -p $(@D)
	$(ARM_CC) $(M4_CFLAGS) $(M4_CPPFLAGS) -c $(PROFILE_SRC) -o $(@D)/profile.o
	$(ARM_CC) $(M4_LDFLAGS) -Wl,-Map=$(@D)/profile.map -o $@ $(@D)/profile.o \
	  $(FWMK_M4_PORT_OBJS) $(FWMK_M4)/libwscore.a $(M4_LDLIBS)

profile-image: $(PROFILE_ELF)
