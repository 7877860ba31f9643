/*
 * speed_report.h - postage-mint --speed: what minting costs on this
 * machine, per kernel, and how long each number of bits takes.
 */
#ifndef POSTAGE_SPEED_REPORT_H
#define POSTAGE_SPEED_REPORT_H

/* Measure every compiled kernel and print the table (or JSON with json=1)
 * on stdout.  threads: 0 for one per online CPU.  Returns an exit status. */
int speed_report(unsigned threads, int json);

/* The same for Argon2id: attempts per second on each backend, one thread
 * and all, for @params (NULL: 64 KiB, 1, 16 and 64 MiB, one pass, one
 * lane), the SHA-1 bits an attempt is worth at the reference exchange rate,
 * and the time to mint 0..10 bits on the faster backend.  Returns an exit
 * status. */
struct postage_argon2id_params;
int speed_report_argon2id(const struct postage_argon2id_params *params, unsigned threads,
                          int json);

#endif
