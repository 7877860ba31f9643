/*
 * speed_report.h - postage-mint --speed: what minting costs on this
 * machine, per kernel, and how long each number of bits takes.
 */
#ifndef POSTAGE_SPEED_REPORT_H
#define POSTAGE_SPEED_REPORT_H

/* Measure every compiled kernel and print the table (or JSON with json=1)
 * on stdout.  threads: 0 for one per online CPU.  Returns an exit status. */
int speed_report(unsigned threads, int json);

#endif
