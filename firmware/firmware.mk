# C unit tests on the host (ASan + UBSan) and on an emulated Cortex-M4 (QEMU
# mps2-an386), and size figures of the firmware core for the M4.
# Included by the top-level Makefile; also usable on its own from the
# repository root:  make -f firmware/firmware.mk c-tests-host
#
#   make c-tests-host   build/ctest/host/test_<name>, run each, fail if any fails
#   make c-tests-m4     build/ctest/m4/test_<name>.elf, run each in QEMU
#   make m4-size        per-object and per-directory sizes of the core (M4)
#
# Inputs (override on the command line or before including this file):
#   CTEST_SRCS    the C tests, default every firmware/tests/test_*.c;
#                 test_<name>.c becomes test <name>
#   CTEST_OUT     where test objects and binaries go, default build/ctest
#                 (the core, harness and port objects always stay in build/ctest)
#   GEN_HEADERS   generated headers (in build/gen) that must exist before any
#                 C file is compiled; may also be set after the include
#   QEMU_TIMEOUT  seconds one M4 test may run, default 30
#   FWMK_TRUST    the model-package key the core trusts, default -DWS_TRUST_DEV_KEY=1
#                 (the DEV key: tests only; docs/model-package.md, "Keys")
#
# Output lines: each test prints `WS-TEST <name> PASS` or `WS-TEST <name> FAIL <n>`
# (exit status 0/1); an M4 fault prints `WS-FAULT ...` and exits with 2.
# QEMU writes semihosting output to its stderr; c-tests-m4 merges it into stdout.
# m4-size prints lines a script can split on spaces and '=':
#   M4-SIZE-OBJ dir=<source dir> obj=<object> text=N data=N bss=N
#   M4-SIZE dir=<source dir> objects=N text=N data=N bss=N total=N
# (object sizes before --gc-sections: every function of the object counts).

# Prerequisites written as $$(GEN_HEADERS) are expanded when make starts
# building, so GEN_HEADERS may be assigned after this file is included.
.SECONDEXPANSION:

GEN_HEADERS ?=
GEN_DIR := build/gen
CTEST_SRCS ?= $(sort $(wildcard firmware/tests/test_*.c))
CTEST_OUT ?= build/ctest
QEMU_TIMEOUT ?= 30

HOST_CC ?= gcc
HOST_AR ?= ar
ARM_PREFIX ?= arm-none-eabi-
ARM_CC ?= $(ARM_PREFIX)gcc
ARM_AR ?= $(ARM_PREFIX)ar
ARM_SIZE ?= $(ARM_PREFIX)size
QEMU_ARM ?= qemu-system-arm

FWMK_BUILD := build/ctest
FWMK_HOST := $(FWMK_BUILD)/host
FWMK_M4 := $(FWMK_BUILD)/m4
FWMK_PORT_DIR := firmware/port/cortex-m4

# The firmware core: every .c under firmware/src (any depth).
FW_CORE_SRCS := $(sort $(shell find firmware/src -name '*.c' 2>/dev/null))
FW_CORE_DIRS := $(sort $(patsubst %/,%,$(dir $(FW_CORE_SRCS))))
# The archives key their members by file name, so two sources with one name in two folders
# would silently replace each other in libwscore.a (docs/development.md, "File names").
FW_CORE_NAMES := $(notdir $(FW_CORE_SRCS))
ifneq ($(words $(FW_CORE_NAMES)),$(words $(sort $(FW_CORE_NAMES))))
$(error firmware/src: two sources share a file name: $(sort $(foreach n,$(FW_CORE_NAMES),$(if $(filter-out 1,$(words $(filter $(n),$(FW_CORE_NAMES)))),$(n)))))
endif

FWMK_INCLUDES := -Ifirmware/include -I$(GEN_DIR) -Ifirmware/tests

# ---------------------------------------------------------------- flags

CTEST_HOST_CFLAGS := -std=c99 -Wall -Wextra -Werror -g -O1 \
  -fsanitize=address,undefined -fno-sanitize-recover=undefined
# The C tests (host and M4) trust the committed DEVELOPMENT key (firmware/src/updates/
# trusted_key.c); a production build names a maker's key instead (docs/model-package.md).
FWMK_TRUST ?= -DWS_TRUST_DEV_KEY=1
CTEST_HOST_CPPFLAGS := $(FWMK_INCLUDES) -DWS_PORT_HOST=1 $(FWMK_TRUST)
# No malloc in the firmware, so leak checking has nothing to find (and needs
# ptrace, which some containers forbid).
CTEST_HOST_ENV := ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

M4_CPU := -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
M4_CFLAGS := $(M4_CPU) -O2 -std=c99 -Wall -Wextra -Werror \
  -ffunction-sections -fdata-sections -g
# M4_NN_DSP=1 (default): the nn kernels use the M4 DSP extension (SMLAD);
# M4_NN_DSP=0: the portable C reference kernels (c-tests-m4-portable).
M4_NN_DSP ?= 1
M4_CPPFLAGS := $(FWMK_INCLUDES) -I$(FWMK_PORT_DIR) -DWS_PORT_CORTEX_M4=1 -DWS_NN_DSP=$(M4_NN_DSP) \
  $(FWMK_TRUST)
M4_LDSCRIPT := $(FWMK_PORT_DIR)/mps2_an386.ld
# -nostdlib: no crt0, no newlib system-call stubs, so printf/malloc cannot
# link (the firmware uses neither); startup.c and string.c replace what is
# needed. Pure functions (strlen, libm) still come from newlib-nano and libm,
# and libgcc supplies 64-bit division and software double arithmetic.
M4_LDFLAGS := $(M4_CPU) -nostdlib -T $(M4_LDSCRIPT) -Wl,--gc-sections
M4_LDLIBS := -Wl,--start-group -lm -lc_nano -lgcc -Wl,--end-group

QEMU_M4_ARGS := -M mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
  -semihosting-config enable=on,target=native

# ---------------------------------------------------------------- names

fwmk_test_name = $(patsubst test_%,%,$(basename $(notdir $(1))))
CTEST_NAMES := $(foreach s,$(CTEST_SRCS),$(call fwmk_test_name,$(s)))
CTEST_HOST_BINS := $(foreach n,$(CTEST_NAMES),$(CTEST_OUT)/host/test_$(n))
CTEST_M4_ELFS := $(foreach n,$(CTEST_NAMES),$(CTEST_OUT)/m4/test_$(n).elf)

FWMK_HOST_CORE_OBJS := $(patsubst firmware/src/%.c,$(FWMK_HOST)/core/%.o,$(FW_CORE_SRCS))
FWMK_M4_CORE_OBJS := $(patsubst firmware/src/%.c,$(FWMK_M4)/core/%.o,$(FW_CORE_SRCS))
FWMK_HOST_HARNESS := $(FWMK_HOST)/harness/harness.o
FWMK_M4_HARNESS := $(FWMK_M4)/harness/harness.o
FWMK_M4_PORT_SRCS := $(filter-out %/m4_main.c,$(sort $(wildcard $(FWMK_PORT_DIR)/*.c)))
FWMK_M4_PORT_OBJS := $(patsubst $(FWMK_PORT_DIR)/%.c,$(FWMK_M4)/port/%.o,$(FWMK_M4_PORT_SRCS))

# Flag stamps: rewritten only when the flags or the list of core sources
# change, so every object and archive depending on one rebuilds then.
FWMK_HOST_STAMP := $(FWMK_HOST)/.flags
FWMK_M4_STAMP := $(FWMK_M4)/.flags
FWMK_HOST_CONFIG := $(HOST_CC) $(CTEST_HOST_CFLAGS) $(CTEST_HOST_CPPFLAGS) | $(FW_CORE_SRCS)
FWMK_M4_CONFIG := $(ARM_CC) $(M4_CFLAGS) $(M4_CPPFLAGS) $(M4_LDFLAGS) $(M4_LDLIBS) | $(FW_CORE_SRCS)

.PHONY: c-tests c-tests-host c-tests-m4 c-tests-m4-portable c-tests-build m4-size fwmk-force

# ---------------------------------------------------------------- run

c-tests: c-tests-host c-tests-m4 c-tests-m4-portable

# The M4 suite again with the portable kernels (same build dir: the flag stamp
# rebuilds the objects), then back to the DSP build.
c-tests-m4-portable:
	$(MAKE) --no-print-directory c-tests-m4 M4_NN_DSP=0

c-tests-build: $(CTEST_HOST_BINS) $(CTEST_M4_ELFS)

c-tests-host: $(CTEST_HOST_BINS)
	@pass=0; fail=0; \
	for t in $(CTEST_HOST_BINS); do \
	  case $$t in /*) exe=$$t ;; *) exe=./$$t ;; esac; \
	  $(CTEST_HOST_ENV) $$exe; rc=$$?; \
	  if [ $$rc -eq 0 ]; then pass=$$((pass + 1)); \
	  else fail=$$((fail + 1)); echo "c-tests-host: $$t exited with status $$rc"; fi; \
	done; \
	echo "c-tests-host: $$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]

c-tests-m4: $(CTEST_M4_ELFS)
	@pass=0; fail=0; \
	for t in $(CTEST_M4_ELFS); do \
	  timeout $(QEMU_TIMEOUT) $(QEMU_ARM) $(QEMU_M4_ARGS) -kernel $$t 2>&1; rc=$$?; \
	  if [ $$rc -eq 0 ]; then pass=$$((pass + 1)); \
	  else fail=$$((fail + 1)); \
	    if [ $$rc -eq 124 ]; then echo "c-tests-m4: $$t timed out after $(QEMU_TIMEOUT) s"; \
	    else echo "c-tests-m4: $$t exited with status $$rc"; fi; \
	  fi; \
	done; \
	echo "c-tests-m4: $$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]

# M4 objects of the core sources directly in directory $(1)
fwmk_m4_objs_in = $(patsubst firmware/src/%.c,$(FWMK_M4)/core/%.o,\
  $(foreach s,$(FW_CORE_SRCS),$(if $(filter $(1)/,$(dir $(s))),$(s))))

m4-size: $(FWMK_M4_CORE_OBJS)
	@$(foreach d,$(FW_CORE_DIRS),\
	  $(ARM_SIZE) -B $(call fwmk_m4_objs_in,$(d)) \
	  | awk -v dir=$(d) 'NR > 1 { t += $$1; da += $$2; b += $$3; n++; \
	      printf "M4-SIZE-OBJ dir=%s obj=%s text=%d data=%d bss=%d\n", dir, $$6, $$1, $$2, $$3 } \
	    END { printf "M4-SIZE dir=%s objects=%d text=%d data=%d bss=%d total=%d\n", \
	      dir, n, t, da, b, t + da + b }' || exit 1;)

# ---------------------------------------------------------------- stamps, dirs

$(FWMK_HOST_STAMP): fwmk-force
	@mkdir -p $(@D)
	@printf '%s\n' '$(FWMK_HOST_CONFIG)' | cmp -s - $@ || printf '%s\n' '$(FWMK_HOST_CONFIG)' > $@

$(FWMK_M4_STAMP): fwmk-force
	@mkdir -p $(@D)
	@printf '%s\n' '$(FWMK_M4_CONFIG)' | cmp -s - $@ || printf '%s\n' '$(FWMK_M4_CONFIG)' > $@

$(GEN_DIR):
	@mkdir -p $@

# ---------------------------------------------------------------- host build

$(FWMK_HOST)/core/%.o: firmware/src/%.c $(FWMK_HOST_STAMP) | $$(GEN_HEADERS) $(GEN_DIR)
	@mkdir -p $(@D)
	$(HOST_CC) $(CTEST_HOST_CFLAGS) $(CTEST_HOST_CPPFLAGS) -MMD -MP -c $< -o $@

$(FWMK_HOST)/libwscore.a: $(FWMK_HOST_CORE_OBJS) $(FWMK_HOST_STAMP)
	@rm -f $@
	$(HOST_AR) rcs $@ $(FWMK_HOST_CORE_OBJS)

$(FWMK_HOST_HARNESS): firmware/tests/harness.c $(FWMK_HOST_STAMP) | $$(GEN_HEADERS) $(GEN_DIR)
	@mkdir -p $(@D)
	$(HOST_CC) $(CTEST_HOST_CFLAGS) $(CTEST_HOST_CPPFLAGS) -MMD -MP -c $< -o $@

# ---------------------------------------------------------------- M4 build

$(FWMK_M4)/core/%.o: firmware/src/%.c $(FWMK_M4_STAMP) | $$(GEN_HEADERS) $(GEN_DIR)
	@mkdir -p $(@D)
	$(ARM_CC) $(M4_CFLAGS) $(M4_CPPFLAGS) -MMD -MP -c $< -o $@

$(FWMK_M4)/libwscore.a: $(FWMK_M4_CORE_OBJS) $(FWMK_M4_STAMP)
	@rm -f $@
	$(ARM_AR) rcs $@ $(FWMK_M4_CORE_OBJS)

$(FWMK_M4_HARNESS): firmware/tests/harness.c $(FWMK_M4_STAMP) | $$(GEN_HEADERS) $(GEN_DIR)
	@mkdir -p $(@D)
	$(ARM_CC) $(M4_CFLAGS) $(M4_CPPFLAGS) -MMD -MP -c $< -o $@

# string.c must not have its loops turned into calls to memcpy/memset.
$(FWMK_M4)/port/string.o: FWMK_EXTRA_CFLAGS := -fno-tree-loop-distribute-patterns

$(FWMK_M4)/port/%.o: $(FWMK_PORT_DIR)/%.c $(FWMK_M4_STAMP) | $$(GEN_HEADERS) $(GEN_DIR)
	@mkdir -p $(@D)
	$(ARM_CC) $(M4_CFLAGS) $(FWMK_EXTRA_CFLAGS) $(M4_CPPFLAGS) -MMD -MP -c $< -o $@

# ---------------------------------------------------------------- per test

# $(1): test name, $(2): its source file
define FWMK_TEST_RULES
$(CTEST_OUT)/host/obj/test_$(1).o: $(2) $(FWMK_HOST_STAMP) | $$$$(GEN_HEADERS) $(GEN_DIR)
	@mkdir -p $$(@D)
	$$(HOST_CC) $$(CTEST_HOST_CFLAGS) $$(CTEST_HOST_CPPFLAGS) -MMD -MP -c $$< -o $$@

$(CTEST_OUT)/host/obj/main_$(1).o: firmware/tests/host_main.c $(FWMK_HOST_STAMP) | $$$$(GEN_HEADERS) $(GEN_DIR)
	@mkdir -p $$(@D)
	$$(HOST_CC) $$(CTEST_HOST_CFLAGS) $$(CTEST_HOST_CPPFLAGS) -DWS_TEST_NAME='"$(1)"' -MMD -MP -c $$< -o $$@

$(CTEST_OUT)/host/test_$(1): $(CTEST_OUT)/host/obj/test_$(1).o $(CTEST_OUT)/host/obj/main_$(1).o \
    $(FWMK_HOST_HARNESS) $(FWMK_HOST)/libwscore.a
	$$(HOST_CC) $$(CTEST_HOST_CFLAGS) -o $$@ $$^

$(CTEST_OUT)/m4/obj/test_$(1).o: $(2) $(FWMK_M4_STAMP) | $$$$(GEN_HEADERS) $(GEN_DIR)
	@mkdir -p $$(@D)
	$$(ARM_CC) $$(M4_CFLAGS) $$(M4_CPPFLAGS) -MMD -MP -c $$< -o $$@

$(CTEST_OUT)/m4/obj/main_$(1).o: $(FWMK_PORT_DIR)/m4_main.c $(FWMK_M4_STAMP) | $$$$(GEN_HEADERS) $(GEN_DIR)
	@mkdir -p $$(@D)
	$$(ARM_CC) $$(M4_CFLAGS) $$(M4_CPPFLAGS) -DWS_TEST_NAME='"$(1)"' -MMD -MP -c $$< -o $$@

$(CTEST_OUT)/m4/test_$(1).elf: $(CTEST_OUT)/m4/obj/test_$(1).o $(CTEST_OUT)/m4/obj/main_$(1).o \
    $(FWMK_M4_HARNESS) $(FWMK_M4_PORT_OBJS) $(FWMK_M4)/libwscore.a $(M4_LDSCRIPT)
	$$(ARM_CC) $$(M4_LDFLAGS) -Wl,-Map=$$(@:.elf=.map) -o $$@ \
	  $$(filter %.o %.a,$$^) $$(M4_LDLIBS)
endef

$(foreach s,$(CTEST_SRCS),$(eval $(call FWMK_TEST_RULES,$(call fwmk_test_name,$(s)),$(s))))

# ---------------------------------------------------------------- dependencies

FWMK_DEPS := $(wildcard $(FWMK_BUILD)/*/*/*.d $(FWMK_BUILD)/*/core/*/*.d \
  $(FWMK_BUILD)/*/core/*/*/*.d $(FWMK_BUILD)/*/core/*/*/*/*.d \
  $(CTEST_OUT)/*/obj/*.d)
-include $(FWMK_DEPS)
