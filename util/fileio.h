/*
 * fileio.h - the two file-system chores the programs share: writing a
 * whole buffer, and making a directory with its parents (in libcli.a, not
 * libpostage).
 */
#ifndef POSTAGE_FILEIO_H
#define POSTAGE_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Write all @len bytes of @buf to @fd, resuming after EINTR and short
 * writes.  Returns 0, or -1 with errno set. */
int cli_write_all(int fd, const void *buf, size_t len);

/* mkdir -p: make @dir and any missing parents with @mode.  Directories
 * that already exist are fine.  Returns 0, or -1 with errno set
 * (ENAMETOOLONG past 4095 bytes). */
int cli_mkdir_parents(const char *dir, mode_t mode);

#endif
