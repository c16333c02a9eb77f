# The detectors' replay image (docs/detectors.md): the whole firmware with the shipped
# models on real recordings, for the emulated Cortex-M4 and natively (ASan/UBSan).
#
#   make replay-image   build/replay/m4/replay.elf and build/replay/host/replay
#   make replay-m4      run both (the M4 one in QEMU with -icount) and compare their events
#
# The recordings are read from the data root (WEARSENSE_DATA, default ../shared/data) at
# build time by tools/make_replay_image.py; the generated header is not committed.
.PHONY: replay-image replay-m4

REPLAY_DIR := build/replay
REPLAY_GEN := build/gen/ws_replay_data.h
REPLAY_SRC := firmware/replay/main.c
REPLAY_MODELS := $(wildcard models/*/*.tflite)

$(REPLAY_GEN): tools/make_replay_image.py $(REPLAY_MODELS) | $(STAMP)
	@mkdir -p $(@D)
	$(PY) tools/make_replay_image.py $@

$(REPLAY_DIR)/m4/replay.elf: $(REPLAY_SRC) $(REPLAY_GEN) $(FWMK_M4_PORT_OBJS) $(FWMK_M4)/libwscore.a \
    $(M4_LDSCRIPT)
	@mkdir -p $(@D)
	$(ARM_CC) $(M4_CFLAGS) $(M4_CPPFLAGS) -c $(REPLAY_SRC) -o $(REPLAY_DIR)/m4/replay.o
	$(ARM_CC) $(M4_LDFLAGS) -Wl,-Map=$(REPLAY_DIR)/m4/replay.map -o $@ $(REPLAY_DIR)/m4/replay.o \
	  $(FWMK_M4_PORT_OBJS) $(FWMK_M4)/libwscore.a $(M4_LDLIBS)

$(REPLAY_DIR)/host/replay: $(REPLAY_SRC) $(REPLAY_GEN) $(FWMK_HOST)/libwscore.a
	@mkdir -p $(@D)
	$(HOST_CC) $(CTEST_HOST_CFLAGS) $(CTEST_HOST_CPPFLAGS) -o $@ $(REPLAY_SRC) $(FWMK_HOST)/libwscore.a

replay-image: $(REPLAY_DIR)/m4/replay.elf $(REPLAY_DIR)/host/replay

replay-m4: replay-image
	$(CTEST_HOST_ENV) $(REPLAY_DIR)/host/replay > $(REPLAY_DIR)/host.txt
	timeout 300 $(QEMU_ARM) $(QEMU_M4_ARGS) -icount shift=0 -kernel $(REPLAY_DIR)/m4/replay.elf \
	  > $(REPLAY_DIR)/m4.txt 2>&1
	@grep '^WS-EV' $(REPLAY_DIR)/host.txt > $(REPLAY_DIR)/host.ev; \
	 grep '^WS-EV' $(REPLAY_DIR)/m4.txt > $(REPLAY_DIR)/m4.ev; \
	 if cmp -s $(REPLAY_DIR)/host.ev $(REPLAY_DIR)/m4.ev; then \
	   echo "replay-m4: $$(wc -l < $(REPLAY_DIR)/m4.ev) events, the same on the M4 and the host"; \
	 else echo "replay-m4: the M4 and the host differ"; diff $(REPLAY_DIR)/host.ev $(REPLAY_DIR)/m4.ev; exit 1; fi
