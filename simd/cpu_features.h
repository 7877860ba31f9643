/*
 * cpu_features.h - does this CPU and OS support an instruction set?
 *
 * Each function answers for one instruction set and is the cpu_supported
 * hook of the SHA-1 and Argon2 kernels written for it.  They ask the
 * hardware every time (CPUID, XGETBV, getauxval); the dispatchers cache
 * the answers.  On other architectures
 * they return 0.
 */
#ifndef POSTAGE_CPU_FEATURES_H
#define POSTAGE_CPU_FEATURES_H

/* x86: SSE2. */
int cpu_has_sse2(void);
/* x86: AVX2 with the OS saving the YMM state. */
int cpu_has_avx2(void);
/* x86: AVX-512F with the OS saving the opmask and ZMM state. */
int cpu_has_avx512f(void);
/* x86: the SHA extensions, with the SSSE3 and SSE4.1 they come with. */
int cpu_has_shani(void);
/* aarch64: Advanced SIMD. */
int cpu_has_neon(void);
/* aarch64: the SHA-1 instructions of the ARMv8 crypto extensions. */
int cpu_has_armsha(void);

#endif
