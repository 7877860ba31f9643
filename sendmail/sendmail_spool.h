/*
 * sendmail_spool.h - postage-sendmail's spool: messages waiting to be
 * stamped and sent (background mode, on_mint_failure = queue) or stamped
 * copies whose sendmail failed after others had gone.  An entry is one
 * file, written under tmp/, fsynced and renamed into new/, so a crash
 * leaves either a whole entry or none; a worker locks an entry (flock)
 * while it sends it and removes it only once sendmail has taken it.
 * Entries that sendmail refuses for good move to failed/ and stay there
 * for the postmaster: nothing is ever silently dropped.
 *
 * File format: "postage-spool 1\n", "stamped 0|1\n", "argc N\n", the N
 * sendmail arguments each ended by a NUL, "\n", then the message bytes.
 */
#ifndef POSTAGE_MINT_SENDMAIL_SPOOL_H
#define POSTAGE_MINT_SENDMAIL_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SPOOL_ARGS_MAX 4096
#define SPOOL_ARG_BYTES_MAX (1u << 20)

/* Make DIR, DIR/tmp, DIR/new, DIR/failed (mode 0700).  0 or -1 (errno). */
int spool_prepare(const char *dir);

/* A message source for spool_add: @len bytes from @fd at @offset, or, if
 * @prefix is not NULL, @prefix_len bytes of it first (edited headers). */
struct spool_source {
    const char *prefix;
    size_t prefix_len;
    int fd;
    off_t offset;
};

/* Add an entry: the sendmail arguments (without argv[0]) and the message.
 * Writes the new entry's path into @path.  0, or -1 with err set. */
int spool_add(const char *dir, int stamped, int argc, const char *const *argv,
              const struct spool_source *src, char *path, size_t pathlen,
              char *err, size_t errlen);

struct spool_entry {
    char path[4096];
    int fd;               /* open, locked; positioned at the message        */
    off_t message_offset;
    int stamped;
    int argc;
    char **argv;          /* argv[0] is "sendmail"; NULL-terminated        */
    char *arg_bytes;
};

/* Open and lock an entry.  Returns 0; 1 if another worker holds it; -1
 * if it is damaged (err says how) or cannot be read. */
int spool_open(const char *path, struct spool_entry *e, char *err, size_t errlen);
void spool_close(struct spool_entry *e);

/* The entries of DIR/new, oldest first (malloc'd paths; free with
 * spool_list_free).  Returns the count, or -1. */
int spool_list(const char *dir, char ***paths);
void spool_list_free(char **paths, int n);

/* Move an entry to DIR/failed. */
int spool_fail(const char *dir, const char *path);

#endif
