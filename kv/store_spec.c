/*
 * store_spec.c - which storage a store specification names (the rule is
 * in kv/store_spec.h).
 */
#include "config.h"

#include <string.h>

#include "kv/store_spec.h"

size_t
kv_spec_scheme_length(const char *spec)
{
    size_t i;

    if (!(spec[0] >= 'a' && spec[0] <= 'z'))
        return 0;
    for (i = 1; spec[i] != '\0'; i++) {
        char c = spec[i];
        if (c == ':')
            return i;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+'))
            return 0;
    }
    return 0;
}

static int
scheme_is(const char *spec, size_t len, const char *name)
{
    return strlen(name) == len && memcmp(spec, name, len) == 0;
}

int
kv_spec_is_redis(const char *spec, size_t len)
{
    return scheme_is(spec, len, "redis") || scheme_is(spec, len, "redis+unix")
        || scheme_is(spec, len, "redis+sentinel");
}

int
redis_scheme(const char *spec)
{
    if (spec == NULL)
        return 0;
    return kv_spec_is_redis(spec, strcspn(spec, ":"));
}

enum kv_spec_kind
kv_spec_kind(const char *spec, size_t *scheme_len)
{
    size_t len = kv_spec_scheme_length(spec);

    if (scheme_len != NULL)
        *scheme_len = len;
    if (len == 0 || scheme_is(spec, len, "lmdb"))
        return KV_SPEC_LMDB;
    if (kv_spec_is_redis(spec, len))
        return KV_SPEC_REDIS;
    return KV_SPEC_UNKNOWN;
}
