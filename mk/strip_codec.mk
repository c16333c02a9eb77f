# The strip codec's Cortex-M4 image (firmware/bench/strip_codec.c, docs/strips.md): the
# block encoder and decoder on real recordings, timed under QEMU -icount.
#
#   make strip-codec-image   build/strip_codec/m4/strip_codec.elf
#
# The recordings are read from the data root (WEARSENSE_DATA, default ../shared/data) at
# build time by tools/make_strip_codec_image.py; the generated header is not committed.
.PHONY: strip-codec-image

STRIP_CODEC_DIR := build/strip_codec
STRIP_CODEC_GEN := build/gen/ws_strip_codec_data.h
STRIP_CODEC_SRC := firmware/bench/strip_codec.c

$(STRIP_CODEC_GEN): tools/make_strip_codec_image.py | $(STAMP)
	@mkdir -p $(@D)
	$(PY) tools/make_strip_codec_image.py $@

$(STRIP_CODEC_DIR)/m4/strip_codec.elf: $(STRIP_CODEC_SRC) $(STRIP_CODEC_GEN) $(FWMK_M4_PORT_OBJS) \
    $(FWMK_M4)/libwscore.a $(M4_LDSCRIPT)
	@mkdir -p $(@D)
	$(ARM_CC) $(M4_CFLAGS) $(M4_CPPFLAGS) -c $(STRIP_CODEC_SRC) -o $(STRIP_CODEC_DIR)/m4/strip_codec.o
	$(ARM_CC) $(M4_LDFLAGS) -Wl,-Map=$(STRIP_CODEC_DIR)/m4/strip_codec.map -o $@ \
	  $(STRIP_CODEC_DIR)/m4/strip_codec.o $(FWMK_M4_PORT_OBJS) $(FWMK_M4)/libwscore.a $(M4_LDLIBS)

strip-codec-image: $(STRIP_CODEC_DIR)/m4/strip_codec.elf
