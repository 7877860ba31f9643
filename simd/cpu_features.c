/*
 * cpu_features.c - instruction-set detection for the SHA-1 and Argon2
 * kernels.
 *
 * A CPUID feature bit alone is not enough for AVX and AVX-512: the OS must
 * also save the wider registers on a context switch, which it announces
 * through OSXSAVE and the XCR0 bits read with XGETBV.  On aarch64 the
 * kernel reports features through the auxiliary vector.
 */
#include "config.h"

#include "simd/cpu_features.h"

/* The probe of an instruction set of another architecture: never there. */
#define CPU_ABSENT(probe) \
    int probe(void) \
    { \
        return 0; \
    }

#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>
#include <stdint.h>

#define XCR0_SSE (UINT64_C(1) << 1)
#define XCR0_AVX (UINT64_C(1) << 2)
#define XCR0_OPMASK (UINT64_C(1) << 5)
#define XCR0_ZMM_HI256 (UINT64_C(1) << 6)
#define XCR0_HI16_ZMM (UINT64_C(1) << 7)

struct x86_regs {
    unsigned leaf1_ecx, leaf1_edx, leaf7_ebx;
};

static void x86_read(struct x86_regs *r)
{
    unsigned a, b, c, d;

    r->leaf1_ecx = r->leaf1_edx = r->leaf7_ebx = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        r->leaf1_ecx = c;
        r->leaf1_edx = d;
    }
    if (__get_cpuid_max(0, 0) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        r->leaf7_ebx = b;
    }
}

/* XCR0, or 0 when the OS has not enabled XSAVE (XGETBV would fault). */
static uint64_t x86_xcr0(const struct x86_regs *r)
{
    uint32_t lo, hi;

    if (!(r->leaf1_ecx & (1u << 27))) /* OSXSAVE */
        return 0;
    /* Raw opcode: the _xgetbv intrinsic needs -mxsave on this file. */
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static int x86_os_avx(const struct x86_regs *r)
{
    const uint64_t need = XCR0_SSE | XCR0_AVX;

    return (r->leaf1_ecx & (1u << 28)) && (x86_xcr0(r) & need) == need;
}

int cpu_has_sse2(void)
{
#if defined(__x86_64__)
    return 1; /* part of the x86-64 baseline */
#else
    struct x86_regs r;

    x86_read(&r);
    return (r.leaf1_edx >> 26) & 1;
#endif
}

int cpu_has_avx2(void)
{
    struct x86_regs r;

    x86_read(&r);
    return x86_os_avx(&r) && (r.leaf7_ebx & (1u << 5));
}

int cpu_has_avx512f(void)
{
    const uint64_t need = XCR0_SSE | XCR0_AVX | XCR0_OPMASK | XCR0_ZMM_HI256 |
                          XCR0_HI16_ZMM;
    struct x86_regs r;

    x86_read(&r);
    return x86_os_avx(&r) && (x86_xcr0(&r) & need) == need &&
           (r.leaf7_ebx & (1u << 16));
}

int cpu_has_shani(void)
{
    struct x86_regs r;

    x86_read(&r);
    return (r.leaf7_ebx & (1u << 29)) && (r.leaf1_ecx & (1u << 19)) &&
           (r.leaf1_ecx & (1u << 9));
}

CPU_ABSENT(cpu_has_neon)
CPU_ABSENT(cpu_has_armsha)

#elif defined(__aarch64__)

#if defined(HAVE_SYS_AUXV_H) && defined(HAVE_GETAUXVAL)
#include <sys/auxv.h>
#endif

/* Values of the Linux arm64 ABI, in case <asm/hwcap.h> is missing. */
#define POSTAGE_HWCAP_ASIMD (1ul << 1)
#define POSTAGE_HWCAP_SHA1 (1ul << 5)

static unsigned long arm_hwcap(void)
{
#if defined(HAVE_SYS_AUXV_H) && defined(HAVE_GETAUXVAL)
    return getauxval(AT_HWCAP);
#else
    return 0;
#endif
}

CPU_ABSENT(cpu_has_sse2)
CPU_ABSENT(cpu_has_avx2)
CPU_ABSENT(cpu_has_avx512f)
CPU_ABSENT(cpu_has_shani)

int cpu_has_neon(void)
{
#if defined(HAVE_SYS_AUXV_H) && defined(HAVE_GETAUXVAL)
    return (arm_hwcap() & POSTAGE_HWCAP_ASIMD) != 0;
#else
    return 1; /* Advanced SIMD is mandatory in ARMv8-A */
#endif
}

int cpu_has_armsha(void)
{
    return (arm_hwcap() & POSTAGE_HWCAP_SHA1) != 0;
}

#else /* neither x86 nor aarch64 */

CPU_ABSENT(cpu_has_sse2)
CPU_ABSENT(cpu_has_avx2)
CPU_ABSENT(cpu_has_avx512f)
CPU_ABSENT(cpu_has_shani)

CPU_ABSENT(cpu_has_neon)
CPU_ABSENT(cpu_has_armsha)

#endif
