# postage_simd.m4 - probe each instruction set a SHA-1 search kernel uses.
#
# For every kernel: try the compiler flag, then compile AND link a program
# that really uses one of the set's intrinsics.  On success define
# HAVE_KERNEL_<ISA>, substitute CFLAGS_<ISA> (applied to that kernel's file
# only, never to the rest of the build) and set the automake conditional.
# CFLAGS is restored after every probe.

dnl POSTAGE_SIMD_PROBE(ISA, FLAGS, INCLUDES, BODY)
AC_DEFUN([POSTAGE_SIMD_PROBE], [
  AC_MSG_CHECKING([whether $CC can build the $1 kernel with '$2'])
  postage_save_CFLAGS=$CFLAGS
  CFLAGS="$CFLAGS $2"
  AC_LINK_IFELSE([AC_LANG_PROGRAM([$3], [$4])],
    [AC_MSG_RESULT([yes])
     AC_DEFINE([HAVE_KERNEL_$1], [1], [Define if the $1 SHA-1 kernel is built])
     CFLAGS_$1="$2"
     postage_simd_kernels="$postage_simd_kernels m4_tolower($1)"
     postage_have_$1=yes],
    [AC_MSG_RESULT([no])
     CFLAGS_$1=
     postage_have_$1=no])
  CFLAGS=$postage_save_CFLAGS
  AC_SUBST([CFLAGS_$1])
  AM_CONDITIONAL([KERNEL_$1], [test "x$postage_have_$1" = "xyes"])
])

AC_DEFUN([POSTAGE_SIMD_PROBES], [
  postage_simd_kernels="portable"
  POSTAGE_SIMD_PROBE([SSE2], [-msse2],
    [[#include <emmintrin.h>]],
    [[__m128i a = _mm_set1_epi32(1); a = _mm_add_epi32(a, _mm_slli_epi32(a, 5));
      return _mm_cvtsi128_si32(a) == 7 ? 0 : 1;]])
  POSTAGE_SIMD_PROBE([AVX2], [-mavx2],
    [[#include <immintrin.h>]],
    [[__m256i a = _mm256_set1_epi32(1);
      a = _mm256_permutevar8x32_epi32(_mm256_add_epi32(a, a), a);
      return _mm256_extract_epi32(a, 0) == 2 ? 0 : 1;]])
  POSTAGE_SIMD_PROBE([AVX512], [-mavx512f],
    [[#include <immintrin.h>]],
    [[__m512i a = _mm512_set1_epi32(3);
      a = _mm512_ternarylogic_epi32(a, a, _mm512_rol_epi32(a, 5), 0x96);
      return _mm512_reduce_add_epi32(a) ? 0 : 1;]])
  POSTAGE_SIMD_PROBE([SHANI], [-msse4.1 -msha],
    [[#include <immintrin.h>]],
    [[__m128i a = _mm_set1_epi32(1), b = _mm_set1_epi32(2);
      a = _mm_sha1rnds4_epu32(a, b, 0); a = _mm_sha1nexte_epu32(a, b);
      a = _mm_sha1msg2_epu32(_mm_sha1msg1_epu32(a, b), b);
      return _mm_extract_epi32(a, 1) ? 0 : 1;]])
  POSTAGE_SIMD_PROBE([NEON], [],
    [[#include <arm_neon.h>]],
    [[#if !defined(__aarch64__)
      #error aarch64 only
      #endif
      uint32x4_t a = vdupq_n_u32(1); a = vsriq_n_u32(vshlq_n_u32(a, 5), a, 27);
      return vgetq_lane_u32(a, 0) ? 0 : 1;]])
  POSTAGE_SIMD_PROBE([ARMSHA], [-march=armv8-a+crypto],
    [[#include <arm_neon.h>]],
    [[#if !defined(__aarch64__)
      #error aarch64 only
      #endif
      uint32x4_t a = vdupq_n_u32(1), w = vdupq_n_u32(2);
      a = vsha1cq_u32(a, vsha1h_u32(7), w);
      return vgetq_lane_u32(a, 0) ? 0 : 1;]])
])
