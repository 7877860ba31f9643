/*
 * config_load.c - the configuration and default store shared by postaged
 * and its admin commands (config_load.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/engine/config_load.h"
#include "policy/engine/settings.h"

void
pd_config_default_state_dir(char *out, size_t size)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (geteuid() == 0)
        snprintf(out, size, "/var/lib/postage");
    else if (xdg != NULL && xdg[0] == '/')
        snprintf(out, size, "%s/postage", xdg);
    else if (home != NULL && home[0] == '/')
        snprintf(out, size, "%s/.local/state/postage", home);
    else
        snprintf(out, size, "/tmp/postage-%ld", (long) geteuid());
}

const char *
pd_config_default_file(void)
{
    struct stat st;
    if (stat(POSTAGE_DEFAULT_CONFIG, &st) != 0 && errno == ENOENT)
        return NULL;
    return POSTAGE_DEFAULT_CONFIG;
}

int
pd_config_load(struct pd_settings *s, const char *file, char *err, size_t errlen)
{
    char dir[PD_SETTING_MAX];
    pd_config_default_state_dir(dir, sizeof dir);
    pd_settings_defaults(s, dir);
    if (file != NULL && pd_settings_load(s, file, err, errlen) != 0) {
        pd_settings_free(s);
        return -1;
    }
    return 0;
}
