/*
 * status.c - words for libpostage's status codes.
 */
#include "config.h"

#include <stddef.h>

#include "postage/status.h"

const char *
postage_strerror(int status)
{
    switch ((postage_status) status) {
    case POSTAGE_OK:              return "success";
    case POSTAGE_ERR_SYNTAX:      return "stamp is malformed";
    case POSTAGE_ERR_RESOURCE:    return "stamp is for another resource";
    case POSTAGE_ERR_BITS:        return "stamp has insufficient bits";
    case POSTAGE_ERR_EXPIRED:     return "stamp has expired";
    case POSTAGE_ERR_FUTURE:      return "stamp is dated in the future";
    case POSTAGE_ERR_SPENT:       return "stamp was already spent";
    case POSTAGE_ERR_KIND:        return "kind of stamp not accepted here";
    case POSTAGE_ERR_PARAMS:      return "Argon2id parameters or bits outside the accepted bounds";
    case POSTAGE_ERR_INVALID:     return "invalid argument";
    case POSTAGE_ERR_TOO_LONG:    return "input too long";
    case POSTAGE_ERR_NOMEM:       return "out of memory";
    case POSTAGE_ERR_IO:          return "input/output error";
    case POSTAGE_ERR_STORE:       return "double-spend store failed";
    case POSTAGE_ERR_KERNEL:      return "no such SHA-1 kernel";
    case POSTAGE_ERR_UNSUPPORTED: return "SHA-1 kernel not supported by this CPU";
    case POSTAGE_ERR_SELFTEST:    return "SHA-1 kernel failed its self-test";
    case POSTAGE_ERR_CANCELLED:   return "minting was stopped";
    case POSTAGE_ERR_RANDOM:      return "random number source failed";
    case POSTAGE_ERR_INTERNAL:    return "internal error: a minted stamp failed its re-check";
    }
    return "unknown status";
}

const char *
postage_verdict_name(int status)
{
    switch (status) {
    case POSTAGE_OK:           return "ok";
    case POSTAGE_ERR_SYNTAX:   return "syntax";
    case POSTAGE_ERR_RESOURCE: return "resource";
    case POSTAGE_ERR_BITS:     return "bits";
    case POSTAGE_ERR_EXPIRED:  return "expired";
    case POSTAGE_ERR_FUTURE:   return "future";
    case POSTAGE_ERR_SPENT:    return "spent";
    case POSTAGE_ERR_KIND:     return "kind";
    case POSTAGE_ERR_PARAMS:   return "params";
    default:                   return NULL;
    }
}
