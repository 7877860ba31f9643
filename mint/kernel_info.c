/*
 * kernel_info.c - the public view of the SHA-1 kernel table (simd/).
 */
#include "config.h"

#include "postage/kernel.h"
#include "postage/status.h"
#include "simd/sha1_kernels.h"

size_t
postage_kernel_count(void)
{
    return sha1_kernel_count();
}

int
postage_kernel_get(size_t index, struct postage_kernel_info *info)
{
    const struct sha1_kernel *k = sha1_kernel_at(index);

    if (k == NULL || info == NULL)
        return POSTAGE_ERR_INVALID;
    enum sha1_kernel_state state = sha1_kernel_state(k);
    info->name = k->name;
    info->lanes = k->lanes;
    info->supported = state != SHA1_KERNEL_UNSUPPORTED;
    info->selftest_passed = state == SHA1_KERNEL_USABLE;
    info->is_default = k == sha1_kernel_default();
    return POSTAGE_OK;
}

int
postage_kernel_check(const char *name)
{
    const struct sha1_kernel *k = name ? sha1_kernel_find(name) : NULL;

    if (k == NULL)
        return POSTAGE_ERR_KERNEL;
    switch (sha1_kernel_state(k)) {
    case SHA1_KERNEL_USABLE:          return POSTAGE_OK;
    case SHA1_KERNEL_UNSUPPORTED:     return POSTAGE_ERR_UNSUPPORTED;
    case SHA1_KERNEL_SELFTEST_FAILED: return POSTAGE_ERR_SELFTEST;
    }
    return POSTAGE_ERR_SELFTEST;
}

const char *
postage_kernel_default(void)
{
    return sha1_kernel_default()->name;
}
