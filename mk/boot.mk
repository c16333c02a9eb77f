# Firmware images in MCUboot's format (issue 32, docs/firmware-update.md).
#
#   make firmware-image   signs the Cortex-M4 firmware with MCUboot's imgtool:
#                         build/image/wearsense-m4.signed.bin (+ .bin, the raw body)
#   make fuzz-image       builds build/fuzz/fuzz_image and runs it FUZZ_IMAGE_SECONDS (30)
#
# firmware-image inputs (override on the command line):
#   IMAGE_ELF      the M4 ELF to sign, default the whole firmware (the replay image,
#                  mk/detect.mk; it reads recordings from the data root at build time)
#   IMAGE_KEY      the Ed25519 private key (0600; `wearsense keys generate`), default the
#                  committed DEVELOPMENT image key (emulator and tests only)
#   IMAGE_VERSION  major.minor.revision+build, default 0.1.0+0
#   IMAGE_SEC_CNT  the security counter (anti-rollback), default 1
#   IMAGE_SLOT     slot size in bytes, default 0x100000
#   IMAGE_PRODUCTION=1  refuse the development keys
.PHONY: firmware-image fuzz-image

# The signed test image read by firmware/tests/test_image.c (host and M4).
GEN_HEADERS += build/gen/ws_image_vectors.h
build/gen/ws_image_vectors.h: $(STAMP) tools/gen_image_vectors_header.py \
    wearsense/updates/dev_keys/wearsense-DEV-image-emulator-only.ed25519.pem
	$(PY) tools/gen_image_vectors_header.py $@

IMAGE_DIR := build/image
IMAGE_ELF ?= build/replay/m4/replay.elf
IMAGE_KEY ?= wearsense/updates/dev_keys/wearsense-DEV-image-emulator-only.ed25519.pem
IMAGE_VERSION ?= 0.1.0+0
IMAGE_SEC_CNT ?= 1
IMAGE_SLOT ?= 0x100000
IMAGE_PRODUCTION ?= 0

# The raw binary is written on every run: IMAGE_ELF may name another ELF than last time.
firmware-image: $(IMAGE_ELF) firmware
	@mkdir -p $(IMAGE_DIR)
	$(ARM_PREFIX)objcopy -O binary $(IMAGE_ELF) $(IMAGE_DIR)/wearsense-m4.bin
	$(PY) tools/sign_firmware_image.py $(IMAGE_DIR)/wearsense-m4.bin $(IMAGE_DIR)/wearsense-m4.signed.bin \
	  --key $(IMAGE_KEY) --version $(IMAGE_VERSION) --security-counter $(IMAGE_SEC_CNT) \
	  --slot-size $(IMAGE_SLOT) $(if $(filter 1,$(IMAGE_PRODUCTION)),--production)

# libFuzzer target of the verifier: the verifier and the crypto only, seeded with the
# imgtool-signed test image (tools/make_image_corpus.py).
FUZZ_IMAGE_SECONDS ?= 30
FUZZ_IMAGE_SRCS := firmware/fuzz/fuzz_image.c firmware/src/boot/image.c \
  firmware/src/crypto/sha2.c firmware/src/crypto/ed25519.c

build/fuzz/fuzz_image: $(FUZZ_IMAGE_SRCS) firmware/include/ws_image.h firmware/include/ws_crypto.h \
    firmware/include/ws_status.h build/gen/ws_image_vectors.h | clang
	@mkdir -p $(@D)
	clang -std=c11 -g -O1 -fno-sanitize-recover=undefined -Wall -Wextra -Werror \
	  -fsanitize=fuzzer,address,undefined -Ifirmware/include -Ibuild/gen $(FUZZ_IMAGE_SRCS) -o $@

build/fuzz/corpus_image/.stamp: build/gen/ws_image_vectors.h tools/make_image_corpus.py | $(STAMP)
	$(PY) tools/make_image_corpus.py build/fuzz/corpus_image
	@touch $@

fuzz-image: build/fuzz/fuzz_image build/fuzz/corpus_image/.stamp
	@mkdir -p build/fuzz/crashes
	build/fuzz/fuzz_image -max_total_time=$(FUZZ_IMAGE_SECONDS) -max_len=2048 -print_final_stats=1 \
	  -artifact_prefix=build/fuzz/crashes/image- build/fuzz/corpus_image
