# simd/local.mk - SHA-1 search kernels.  The portable kernel, the CPU
# feature probe and the dispatcher go straight into libpostage; each
# instruction-set kernel is its own convenience library compiled with only
# its own flags (CFLAGS_<ISA> from m4/postage_simd.m4).
libpostage_internal_la_SOURCES += simd/sha1_search.h simd/sha1_portable.c \
	simd/cpu_features.h simd/cpu_features.c \
	simd/sha1_kernels.h simd/sha1_kernels.c simd/sha1_vector_search.h

SIMD_KERNEL_CFLAGS = $(AM_CFLAGS)

if KERNEL_SSE2
noinst_LTLIBRARIES += simd/libkernel_sse2.la
simd_libkernel_sse2_la_SOURCES = simd/sha1_sse2.c
simd_libkernel_sse2_la_CFLAGS = $(SIMD_KERNEL_CFLAGS) $(CFLAGS_SSE2)
libpostage_internal_la_LIBADD += simd/libkernel_sse2.la
endif
if KERNEL_AVX2
noinst_LTLIBRARIES += simd/libkernel_avx2.la
simd_libkernel_avx2_la_SOURCES = simd/sha1_avx2.c
simd_libkernel_avx2_la_CFLAGS = $(SIMD_KERNEL_CFLAGS) $(CFLAGS_AVX2)
libpostage_internal_la_LIBADD += simd/libkernel_avx2.la
endif
if KERNEL_AVX512
noinst_LTLIBRARIES += simd/libkernel_avx512.la
simd_libkernel_avx512_la_SOURCES = simd/sha1_avx512.c
simd_libkernel_avx512_la_CFLAGS = $(SIMD_KERNEL_CFLAGS) $(CFLAGS_AVX512)
libpostage_internal_la_LIBADD += simd/libkernel_avx512.la
endif
if KERNEL_SHANI
noinst_LTLIBRARIES += simd/libkernel_shani.la
simd_libkernel_shani_la_SOURCES = simd/sha1_shani.c
simd_libkernel_shani_la_CFLAGS = $(SIMD_KERNEL_CFLAGS) $(CFLAGS_SHANI)
libpostage_internal_la_LIBADD += simd/libkernel_shani.la
endif
if KERNEL_NEON
noinst_LTLIBRARIES += simd/libkernel_neon.la
simd_libkernel_neon_la_SOURCES = simd/sha1_neon.c
simd_libkernel_neon_la_CFLAGS = $(SIMD_KERNEL_CFLAGS) $(CFLAGS_NEON)
libpostage_internal_la_LIBADD += simd/libkernel_neon.la
endif
if KERNEL_ARMSHA
noinst_LTLIBRARIES += simd/libkernel_armsha.la
simd_libkernel_armsha_la_SOURCES = simd/sha1_armsha.c
simd_libkernel_armsha_la_CFLAGS = $(SIMD_KERNEL_CFLAGS) $(CFLAGS_ARMSHA)
libpostage_internal_la_LIBADD += simd/libkernel_armsha.la
endif
