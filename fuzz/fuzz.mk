# fuzz/fuzz.mk - builds and runs the libFuzzer targets (GNU make).
#
# Invoked by `make fuzz` (fuzz/local.mk), which passes top_srcdir,
# top_builddir, FUZZ_CC, FUZZ_DEP_CFLAGS, FUZZ_SECONDS, FUZZ_TARGETS and
# the configured libraries that FUZZ_LIBS in local.mk is made of.  The library sources a target needs are compiled here,
# with clang and -fsanitize=fuzzer-no-link,address,undefined, into
# fuzz-build/obj/ (once each, shared by the targets), so the normal gcc
# build is never touched and no libtool archive is involved.

include $(top_srcdir)/fuzz/local.mk

B := $(top_builddir)/fuzz-build
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -g -O1 $(SAN) -Wall -Wextra -Werror -Wno-unused-parameter \
	-Wformat=2 -Wmissing-prototypes -Wstrict-prototypes -Wshadow -Wpointer-arith \
	-Wcast-qual -Wwrite-strings -Wvla \
	-D_GNU_SOURCE -I$(top_srcdir)/include -I$(top_srcdir) -I$(top_builddir) \
	$(FUZZ_DEP_CFLAGS)

AR ?= ar
PROGRAMS := $(FUZZ_TARGETS:%=$(B)/fuzz_%)

build: $(PROGRAMS)

run: build
	$(top_srcdir)/fuzz/run.sh $(B) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

$(B)/obj/%.o: $(top_srcdir)/%.c
	@mkdir -p $(@D)
	@echo "  FUZZCC   $*.o"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

# An instruction-set kernel gets its own flags, as in the main build
# (simd/local.mk); empty where configure did not find the set.
$(B)/obj/simd/argon2_avx2.o: FUZZ_CFLAGS += $(CFLAGS_AVX2)
$(B)/obj/simd/argon2_avx512.o: FUZZ_CFLAGS += $(CFLAGS_AVX512)
$(B)/obj/simd/argon2_neon.o: FUZZ_CFLAGS += $(CFLAGS_NEON)
$(B)/obj/simd/blake2b_avx2.o: FUZZ_CFLAGS += $(CFLAGS_AVX2)

# Per target: its FUZZ_SRCS_ objects in an archive (so only what it uses
# is linked, and what that drags in must be listed), and the program.
define fuzz_program
$(B)/libfuzz_$(1).a: $(patsubst %.c,$(B)/obj/%.o,$(FUZZ_SRCS_$(1)))
	@rm -f $$@
	@$(AR) rcs $$@ $$^ $(B)/obj/empty.o
$(B)/libfuzz_$(1).a: $(B)/obj/empty.o
$(B)/fuzz_$(1): $(B)/obj/fuzz/fuzz_$(1).o $(B)/libfuzz_$(1).a
	@echo "  FUZZLD   fuzz_$(1)"
	@$(FUZZ_CC) $(SAN) -fsanitize=fuzzer -o $$@ $$^ $(FUZZ_LIBS_$(1)) $(FUZZ_LIBS)
endef

# An archive may not be empty.
$(B)/obj/empty.o:
	@mkdir -p $(@D)
	@echo 'extern int fuzz_empty_archive_member; int fuzz_empty_archive_member;' | \
	  $(FUZZ_CC) -x c -c -o $@ -
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_program,$(t))))

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

.PHONY: build run
.DEFAULT_GOAL := build
