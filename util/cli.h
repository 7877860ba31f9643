/*
 * cli.h - small helpers shared by the command-line programs (not part of
 * libpostage: the library never prints).
 */
#ifndef POSTAGE_CLI_H
#define POSTAGE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses shared by postage-mint and postage-verify. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2, CLI_EXIT_TIMEOUT = 3 };

/* Set the program name used as the prefix of every message. */
void cli_set_program(const char *argv0);
const char *cli_program(void);

/* "PROGRAM: message\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse a decimal unsigned integer in [0, max]; returns 0 on success. */
int cli_parse_unsigned(const char *text, unsigned max, unsigned *out);

/* Parse YYMMDD, YYMMDDhhmm or YYMMDDhhmmss (UTC) as seconds; the century
 * follows hashcash's 50-year window around the real current year.
 * Returns 0 on success. */
int cli_parse_time(const char *text, int64_t *out);

/* Write `s` (n bytes) as a JSON string literal, quotes included. */
void cli_json_string(FILE *out, const char *s, size_t n);

#endif
