/*
 * argon2_kernel_define.h - the end of every Argon2 kernel's file: its
 * fill_block(), its segment loop and its struct argon2_kernel, all from the
 * one compression function the file wrote for its instruction set (a
 * template, like argon2_segment.h: no include guard, included once per
 * kernel file, compiled under that file's flags).
 *
 * Before including it, define
 *   static inline void compress(const argon2_block *prev,
 *       const argon2_block *ref, argon2_block *next, int with_xor,
 *       const struct argon2_fill_hook *hook, const struct argon2_next *nx):
 *     G(prev, ref) into next as argon2_kernels.h's fill functions do,
 *     calling hook->word0 (if hook) and argon2_prefetch_next(nx, word 0)
 *     (if nx) once word 0 of next is final;
 *   ARGON2_KERNEL_VAR: the name of the struct argon2_kernel to define;
 *   ARGON2_KERNEL_NAME: its name, a string ("avx2");
 *   ARGON2_KERNEL_SUPPORTED: its int (*)(void) CPU and OS check.
 */
static void fill_block(const argon2_block *prev, const argon2_block *ref,
                       argon2_block *next, int with_xor, const struct argon2_fill_hook *hook)
{
    compress(prev, ref, next, with_xor, hook, NULL);
}

#define ARGON2_SEGMENT_FN fill_segment
#define ARGON2_SEGMENT_COMPRESS(seg, prev, ref, next, with_xor, nx) \
    compress(prev, ref, next, with_xor, NULL, nx)
#include "simd/argon2_segment.h"

const struct argon2_kernel ARGON2_KERNEL_VAR = {
    ARGON2_KERNEL_NAME, ARGON2_KERNEL_SUPPORTED, fill_block, fill_segment
};
