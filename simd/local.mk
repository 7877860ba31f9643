# simd/local.mk - SHA-1 search kernels.  The portable kernel, the CPU
# feature probe and the dispatcher go straight into libpostage; each
# instruction-set kernel is its own convenience library compiled with only
# its own flags (CFLAGS_<ISA> from m4/postage_simd.m4).
libpostage_internal_la_SOURCES += simd/sha1_search.h simd/sha1_portable.c \
	simd/cpu_features.h simd/cpu_features.c \
	simd/sha1_kernels.h simd/sha1_kernels.c simd/sha1_vector_search.h \
	simd/sha1_search_preamble.h
# Argon2's fill-block kernels: the same arrangement (portable one and
# dispatcher here, each instruction set in its kernel library below).
libpostage_internal_la_SOURCES += simd/argon2_kernels.h simd/argon2_kernels.c \
	simd/argon2_portable.c simd/argon2_index.h simd/argon2_segment.h \
	simd/argon2_kernel_define.h
# Blake2b for Argon2id's H0, H' and tag, and its H' chain kernels: the
# portable one and the dispatcher here, the AVX2 one in its library below.
libpostage_internal_la_SOURCES += simd/blake2b.h simd/blake2b_portable.c \
	simd/blake2b_kernels.c

# Every instruction-set kernel is built, each as its own convenience
# library with only its own flags; a file whose instruction set configure
# did not find compiles to nothing (it is wrapped in #ifdef
# HAVE_KERNEL_<ISA>, and its CFLAGS_<ISA> is empty), so no conditionals.
SIMD_KERNEL_LIBS = simd/libkernel_sse2.la simd/libkernel_avx2.la \
	simd/libkernel_avx512.la simd/libkernel_shani.la \
	simd/libkernel_neon.la simd/libkernel_armsha.la
noinst_LTLIBRARIES += $(SIMD_KERNEL_LIBS)
libpostage_internal_la_LIBADD += $(SIMD_KERNEL_LIBS)
simd_libkernel_sse2_la_SOURCES = simd/sha1_sse2.c
simd_libkernel_avx2_la_SOURCES = simd/sha1_avx2.c simd/argon2_avx2.c \
	simd/blake2b_avx2.c
simd_libkernel_avx512_la_SOURCES = simd/sha1_avx512.c simd/argon2_avx512.c
simd_libkernel_shani_la_SOURCES = simd/sha1_shani.c
simd_libkernel_neon_la_SOURCES = simd/sha1_neon.c simd/argon2_neon.c
simd_libkernel_armsha_la_SOURCES = simd/sha1_armsha.c
simd_libkernel_sse2_la_CFLAGS = $(AM_CFLAGS) $(CFLAGS_SSE2)
simd_libkernel_avx2_la_CFLAGS = $(AM_CFLAGS) $(CFLAGS_AVX2)
simd_libkernel_avx512_la_CFLAGS = $(AM_CFLAGS) $(CFLAGS_AVX512)
simd_libkernel_shani_la_CFLAGS = $(AM_CFLAGS) $(CFLAGS_SHANI)
simd_libkernel_neon_la_CFLAGS = $(AM_CFLAGS) $(CFLAGS_NEON)
simd_libkernel_armsha_la_CFLAGS = $(AM_CFLAGS) $(CFLAGS_ARMSHA)
