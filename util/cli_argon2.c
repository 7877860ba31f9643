/*
 * cli_argon2.c - the command-line choice of postage's own Argon2 kernel,
 * one rule for postage-mint and postage-verify (see cli_argon2.h).
 */
#include "config.h"

#include <string.h>

#include "postage/argon2id.h"
#include "postage/status.h"
#include "util/cli.h"
#include "util/cli_argon2.h"

int
cli_argon2_kernel_choose(int backend, const char *given, const char *env, const char **out)
{
    int library = backend == POSTAGE_A2ID_LIBARGON2 || backend == POSTAGE_A2ID_LIBSODIUM;
    *out = NULL;
    if (given != NULL && library) {
        cli_error("--argon2-kernel names one of postage's own Argon2 kernels: not with "
                  "--argon2id-backend %s", postage_argon2id_backend_name(backend));
        return -1;
    }
    const char *name = given != NULL ? given : library ? NULL : env;
    if (name == NULL)
        return 0;
    int rc = postage_argon2id_kernel_check(name);
    if (rc == POSTAGE_OK) {
        *out = name;
        return 0;
    }
    char usable[128] = "";
    for (size_t i = 0; i < postage_argon2id_kernel_count(); i++) {
        struct postage_argon2id_kernel_info k;
        if (postage_argon2id_kernel_get(i, &k) == POSTAGE_OK && k.selftest_passed &&
            strlen(usable) + strlen(k.name) + 2 < sizeof usable)
            strcat(strcat(usable, *usable ? " " : ""), k.name);
    }
    /* postage_strerror() words these for SHA-1 kernels. */
    cli_error("Argon2 kernel '%s'%s: %s; usable here: %s (postage-mint --argon2id "
              "--list-kernels)", name, given != NULL ? "" : " (from $POSTAGE_ARGON2_KERNEL)",
              rc == POSTAGE_ERR_KERNEL ? "not in this build"
              : rc == POSTAGE_ERR_UNSUPPORTED ? "this CPU cannot run it"
                                              : "it failed its self-test",
              usable);
    return -1;
}
