/*
 * config_load.h - how postaged and its admin commands find their
 * configuration and, through it, the state store.  One implementation
 * for all of them, so that `postage-reputation -c FILE` opens exactly the
 * store that `postaged -c FILE` writes, with the same default when the
 * file does not name one.
 */
#ifndef POSTAGE_POLICY_CONFIG_LOAD_H
#define POSTAGE_POLICY_CONFIG_LOAD_H

#include <stddef.h>

/* POSTAGE_SYSCONFDIR comes from Makefile.am (configure's --sysconfdir). */
#ifndef POSTAGE_SYSCONFDIR
#define POSTAGE_SYSCONFDIR "/etc"
#endif
#define POSTAGE_DEFAULT_CONFIG POSTAGE_SYSCONFDIR "/postage/postaged.conf"

struct pd_settings;

/* The directory `store` defaults to: /var/lib/postage for root, else
 * $XDG_STATE_HOME/postage, ~/.local/state/postage, or /tmp/postage-UID
 * (only absolute variables count).  Truncated to @size. */
void pd_config_default_state_dir(char *out, size_t size);

/* The configuration file to read when none is named (-c):
 * $(sysconfdir)/postage/postaged.conf (POSTAGE_DEFAULT_CONFIG) if anything
 * is there, else NULL, which means the built-in defaults.  A file that is
 * there but cannot be read is returned all the same, so that loading it
 * fails with the reason instead of quietly running on the defaults. */
const char *pd_config_default_file(void);

/* The built-in defaults (with that store), then FILE over them if it is
 * not NULL.  On error returns -1, writes "FILE:LINE: message" into @err
 * and leaves nothing to free; on success pd_settings_free(@s) later. */
int pd_config_load(struct pd_settings *s, const char *file, char *err, size_t errlen);

#endif
