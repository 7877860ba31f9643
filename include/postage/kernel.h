/*
 * postage/kernel.h - which SHA-1 search kernels this build has and which
 * this machine can run.
 *
 * Kernels are compiled per instruction set (portable C, SSE2, AVX2,
 * AVX-512, SHA-NI, NEON, ARMv8 SHA).  On first use each is checked once:
 * does the CPU (and OS) support it, and does it pass a known-answer
 * self-test?  Only kernels that pass both are ever used; the default is the
 * first of them in order of expected speed.
 */
#ifndef POSTAGE_KERNEL_H
#define POSTAGE_KERNEL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct postage_kernel_info {
    const char *name;        /* e.g. "avx512"                             */
    unsigned lanes;          /* trials computed side by side              */
    int supported;           /* 1 if this CPU and OS can run it           */
    int selftest_passed;     /* 1 if it gave the known answers            */
    int is_default;          /* 1 for the kernel used when none is named  */
};

/** postage_kernel_count - number of kernels compiled into this build. */
size_t postage_kernel_count(void);

/**
 * postage_kernel_get - describe the @index-th compiled kernel (in order of
 * preference).  Returns POSTAGE_OK, or POSTAGE_ERR_INVALID past the end.
 */
int postage_kernel_get(size_t index, struct postage_kernel_info *info);

/**
 * postage_kernel_check - may kernel @name be used here?
 * Returns POSTAGE_OK, POSTAGE_ERR_KERNEL (no such kernel in this build),
 * POSTAGE_ERR_UNSUPPORTED (CPU or OS lacks it) or POSTAGE_ERR_SELFTEST.
 */
int postage_kernel_check(const char *name);

/** postage_kernel_default - name of the default kernel; never NULL. */
const char *postage_kernel_default(void);

#ifdef __cplusplus
}
#endif
#endif
