/*
 * milter_wire.h - the Sendmail milter protocol's packets, as postaged's own
 * milter front-end reads and writes them (no libmilter).
 *
 * A packet is a 4-byte big-endian length, then that many bytes: a command
 * (or reply) byte and its data.  The values below are those of libmilter's
 * mfdef.h, protocol version 6, which Postfix 3.x speaks.  Everything read
 * is hostile: a length over PD_MW_DATA_MAX (libmilter's default limit,
 * also the largest body chunk Postfix sends) is refused before anything is
 * allocated, and every field parsed stays inside its packet.
 */
#ifndef POSTAGE_POLICY_MILTER_WIRE_H
#define POSTAGE_POLICY_MILTER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define PD_MW_VERSION 6
#define PD_MW_DATA_MAX 65535u   /* data bytes after the command byte */

/* commands, MTA to milter */
#define PD_MWC_ABORT 'A'
#define PD_MWC_BODY 'B'
#define PD_MWC_CONNECT 'C'
#define PD_MWC_MACRO 'D'
#define PD_MWC_BODYEOB 'E'
#define PD_MWC_HELO 'H'
#define PD_MWC_QUIT_NC 'K'
#define PD_MWC_HEADER 'L'
#define PD_MWC_MAIL 'M'
#define PD_MWC_EOH 'N'
#define PD_MWC_OPTNEG 'O'
#define PD_MWC_QUIT 'Q'
#define PD_MWC_RCPT 'R'
#define PD_MWC_DATA 'T'
#define PD_MWC_UNKNOWN 'U'

/* replies, milter to MTA */
#define PD_MWR_ADDRCPT '+'
#define PD_MWR_DELRCPT '-'
#define PD_MWR_ACCEPT 'a'
#define PD_MWR_CONTINUE 'c'
#define PD_MWR_DISCARD 'd'
#define PD_MWR_ADDHEADER 'h'
#define PD_MWR_INSHEADER 'i'
#define PD_MWR_CHGHEADER 'm'
#define PD_MWR_QUARANTINE 'q'
#define PD_MWR_REJECT 'r'
#define PD_MWR_TEMPFAIL 't'
#define PD_MWR_REPLYCODE 'y'

/* actions (SMFIF_*) */
#define PD_MWA_ADDHDRS 0x001u
#define PD_MWA_DELRCPT 0x008u
#define PD_MWA_CHGHDRS 0x010u
#define PD_MWA_QUARANTINE 0x020u

/* protocol flags (SMFIP_*) */
#define PD_MWP_NOCONNECT 0x00000001u
#define PD_MWP_NOHELO 0x00000002u
#define PD_MWP_NOMAIL 0x00000004u
#define PD_MWP_NORCPT 0x00000008u
#define PD_MWP_NOBODY 0x00000010u
#define PD_MWP_NOHDRS 0x00000020u
#define PD_MWP_NOEOH 0x00000040u
#define PD_MWP_NR_HDR 0x00000080u
#define PD_MWP_NOUNKNOWN 0x00000100u
#define PD_MWP_NODATA 0x00000200u
#define PD_MWP_NR_CONN 0x00001000u
#define PD_MWP_NR_HELO 0x00002000u
#define PD_MWP_NR_MAIL 0x00004000u
#define PD_MWP_NR_RCPT 0x00008000u
#define PD_MWP_NR_DATA 0x00010000u
#define PD_MWP_NR_UNKN 0x00020000u
#define PD_MWP_NR_EOH 0x00040000u
#define PD_MWP_NR_BODY 0x00080000u

/* Reads packets from one socket through a buffer, so that a burst of small
 * packets (macros, then a command) costs one read. */
struct pd_mw_reader {
    int fd;
    int quickack;            /* TCP: ask for quick ACKs (see init)   */
    int ack_owed;            /* bytes read since the last reply sent */
    size_t start, end;       /* unread bytes are buf[start, end)     */
    unsigned char buf[2 * (PD_MW_DATA_MAX + 5)];
};

enum pd_mw_status {
    PD_MW_OK = 0,
    PD_MW_EOF,        /* the peer closed between packets          */
    PD_MW_TRUNCATED,  /* the peer closed inside a packet          */
    PD_MW_TOOBIG,     /* the length is 0 or over PD_MW_DATA_MAX+1 */
    PD_MW_TIMEOUT,    /* nothing came within the socket's timeout */
    PD_MW_IOERR,      /* read failed (errno says why)             */
};

/* Start reading `fd`.  With quickack (a TCP socket on Linux), a read that
 * must wait for more while what was read since the last reply got none (a
 * macro packet, a stage negotiated without a reply) first re-arms
 * TCP_QUICKACK, which sends the ACK the kernel is holding: else the 40 ms
 * delayed ACK would hold the MTA's next packet behind Nagle's algorithm.
 * A reply carries the ACK itself (pd_mw_flush of the writer tied to this
 * reader), so then no system call is spent on it. */
void pd_mw_reader_init(struct pd_mw_reader *r, int fd, int quickack);

/* Read the next packet: *cmd its command byte, *data and *len its data (valid
 * until the next call).  On PD_MW_TOOBIG, *len holds the length announced.
 * The socket's SO_RCVTIMEO bounds each wait. */
enum pd_mw_status pd_mw_read(struct pd_mw_reader *r, char *cmd, const unsigned char **data,
                             size_t *len);

/* What a status means, for a log line. */
const char *pd_mw_status_text(enum pd_mw_status st);

/* Packets to send, gathered so that the modifications at end of message
 * and the final reply leave in one write. */
struct pd_mw_writer {
    int fd;
    int failed;              /* an append did not fit, or a write failed */
    struct pd_mw_reader *rd; /* the same socket's reader, or NULL        */
    size_t len;
    unsigned char buf[PD_MW_DATA_MAX + 5 + 4096];
};

/* Start writing `fd`; `rd` (NULL: none) is the reader of the same socket,
 * told by each flush that what it read is acknowledged. */
void pd_mw_writer_init(struct pd_mw_writer *w, int fd, struct pd_mw_reader *rd);

/* Append one packet: `cmd`, then the `n` parts (a part with len
 * (size_t) -1 is a NUL-terminated string sent with its NUL).  A packet
 * that does not fit the buffer (after flushing what is there) is refused:
 * returns -1 and nothing is appended. */
struct pd_mw_part {
    const void *p;
    size_t len;
};
#define PD_MW_STR ((size_t) -1)
int pd_mw_append(struct pd_mw_writer *w, char cmd, const struct pd_mw_part *parts, size_t n);

/* Write what was appended, all of it (bounded by SO_SNDTIMEO).  Returns 0,
 * or -1 (errno set) when the socket failed. */
int pd_mw_flush(struct pd_mw_writer *w);

/* The NUL-terminated strings of a packet's data, in order: at most `max`
 * pointers into `data` (which must end with a NUL to be taken; a last
 * string without one is refused).  Returns how many, or -1 when the data
 * does not end with a NUL or holds more than `max`. */
int pd_mw_strings(const unsigned char *data, size_t len, const char **out, int max);

uint32_t pd_mw_get32(const unsigned char *p);
void pd_mw_put32(unsigned char *p, uint32_t v);

#endif
