/*
 * postage/status.h - status codes returned by every libpostage function.
 *
 * The library never prints and never exits: each call returns POSTAGE_OK (0)
 * or one of the negative codes below, and postage_strerror() turns a code into
 * a short English phrase a program can put in its own message.  The first
 * group (SYNTAX .. PARAMS) are verdicts about a stamp; the rest are errors of
 * the call or of the system.
 */
#ifndef POSTAGE_STATUS_H
#define POSTAGE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum postage_status {
    POSTAGE_OK = 0,

    /* Verdicts on a stamp, in the order hashcash 1.22 tests them. */
    POSTAGE_ERR_SYNTAX = -1,    /* malformed stamp or date field            */
    POSTAGE_ERR_RESOURCE = -2,  /* resource does not match what was asked   */
    POSTAGE_ERR_BITS = -3,      /* value below the required bits            */
    POSTAGE_ERR_EXPIRED = -4,   /* date + validity + grace is not after now */
    POSTAGE_ERR_FUTURE = -5,    /* date is later than now + grace           */
    POSTAGE_ERR_SPENT = -6,     /* already recorded in the double-spend store */
    /* Verdicts on memory-hard stamps (postage/argon2id.h). */
    POSTAGE_ERR_KIND = -7,      /* a kind of stamp the checker does not accept */
    POSTAGE_ERR_PARAMS = -8,    /* Argon2id parameters or bits out of bounds  */

    /* Errors of the call or of the system. */
    POSTAGE_ERR_INVALID = -20,   /* an argument is out of range or malformed */
    POSTAGE_ERR_TOO_LONG = -21,  /* input or output exceeds its bound        */
    POSTAGE_ERR_NOMEM = -22,     /* memory allocation failed                 */
    POSTAGE_ERR_IO = -23,        /* a system call failed (see errno)         */
    POSTAGE_ERR_STORE = -24,     /* the double-spend store failed            */
    POSTAGE_ERR_KERNEL = -25,    /* unknown SHA-1 kernel name                */
    POSTAGE_ERR_UNSUPPORTED = -26, /* kernel not usable on this CPU/OS       */
    POSTAGE_ERR_SELFTEST = -27,  /* kernel failed its known-answer test      */
    POSTAGE_ERR_CANCELLED = -28, /* minting stopped by the caller            */
    POSTAGE_ERR_RANDOM = -29,    /* the random source failed                 */
    POSTAGE_ERR_INTERNAL = -30   /* a found stamp failed its re-check: a bug */
} postage_status;

/**
 * postage_strerror - describe a status code.
 * @status: any value returned by a libpostage function.
 *
 * Returns a static, NUL-terminated English phrase such as "stamp has
 * insufficient bits"; never NULL (unknown codes give "unknown status").
 */
const char *postage_strerror(int status);

/**
 * postage_verdict_name - the one-word verdict for a stamp check result.
 * @status: POSTAGE_OK or one of POSTAGE_ERR_SYNTAX .. POSTAGE_ERR_PARAMS.
 *
 * Returns "ok", "syntax", "resource", "bits", "expired", "future",
 * "spent", "kind" or "params"; NULL for any status that is not a verdict.
 */
const char *postage_verdict_name(int status);

#ifdef __cplusplus
}
#endif
#endif
