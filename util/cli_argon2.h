/*
 * cli_argon2.h - the command-line choice of postage's own Argon2 kernel
 * (--argon2-kernel, $POSTAGE_ARGON2_KERNEL), shared by postage-mint and
 * postage-verify so that both accept and refuse the same names with the
 * same words.
 */
#ifndef POSTAGE_CLI_ARGON2_H
#define POSTAGE_CLI_ARGON2_H

/*
 * cli_argon2_kernel_choose - the Argon2 kernel a program should use.
 * @backend: the Argon2id backend chosen (POSTAGE_A2ID_*); a library
 *           (libargon2, libsodium) has no kernels, so the environment is
 *           then ignored and the option refused;
 * @given:   the --argon2-kernel argument, or NULL;
 * @env:     $POSTAGE_ARGON2_KERNEL, or NULL;
 * @out:     set to the kernel name to pass on (one of @given, @env), or NULL
 *           for the dispatch's default.
 * Returns 0, or -1 after cli_error() has said why: the option with a
 * library backend, or a name not in this build, not runnable on this CPU,
 * or failing its self-test (the message lists the usable names).
 */
int cli_argon2_kernel_choose(int backend, const char *given, const char *env, const char **out);

#endif
