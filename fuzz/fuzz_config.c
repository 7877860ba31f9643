/*
 * fuzz_config.c - libFuzzer target: postaged's configuration loader
 * (policy/engine/config_load.c over policy/engine/settings.c), given a hostile
 * postaged.conf.
 *
 * Input: the file's bytes.  They are written to an anonymous memory file
 * (memfd, read through /proc/self/fd), so nothing touches the disk, and
 * loaded exactly as `postaged -c FILE` and postage-reputation load it;
 * a configuration that loads then has its price parameters checked
 * (pd_settings_rep_params) as the engine does.  Checked beyond "no crash":
 * a failed load leaves an error message starting with the file name, and
 * a successful one leaves every string setting NUL-terminated within its
 * field.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "policy/engine/config_load.h"
#include "policy/checks/reputation.h"
#include "policy/engine/settings.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static int fd = -1;
static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fd = memfd_create("postaged.conf", 0);
    if (fd < 0)
        abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    /* The default store directory depends on these: keep it fixed. */
    setenv("XDG_STATE_HOME", "/nonexistent/state", 1);
    return 0;
}

#define TERMINATED(field) CHECK(memchr((field), '\0', sizeof(field)) != NULL)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();

    struct pd_settings s;
    char err[512];
    err[0] = '\0';
    if (pd_config_load(&s, path, err, sizeof err) != 0) {
        CHECK(strncmp(err, path, strlen(path)) == 0);
        CHECK(memchr(err, '\0', sizeof err) != NULL);
        return 0;
    }
    TERMINATED(s.policy_listen);
    TERMINATED(s.milter_listen);
    TERMINATED(s.store);
    TERMINATED(s.user);
    TERMINATED(s.hostname);
    TERMINATED(s.greylist_text);
    TERMINATED(s.dns_server);
    TERMINATED(s.spf_skip_addresses);
    for (size_t i = 0; i < s.access.count; i++)
        CHECK(s.access.items[i] != NULL && s.access.items[i][0] != '\0');

    struct pd_rep_params rp;
    (void)pd_settings_rep_params(&s, &rp, err, sizeof err);
    pd_settings_free(&s);
    return 0;
}
