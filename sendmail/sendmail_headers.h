/*
 * sendmail_headers.h - postage-sendmail's header splitter and header
 * editor: where the header block of a message read from its start ends
 * (and whether that can be known from the bytes read so far), and the
 * header block of one copy with its X-Hashcash stamps inserted and, for a
 * split message, its Bcc fields removed.  Pure functions over caller
 * buffers: no I/O, no global state; every input is treated as hostile and
 * nothing outside [buf, buf + len) is ever read.
 */
#ifndef POSTAGE_MINT_SENDMAIL_HEADERS_H
#define POSTAGE_MINT_SENDMAIL_HEADERS_H

#include <stddef.h>

enum smh_split_result {
    SMH_BLOCK = 0,     /* *block_len is where the header block ends       */
    SMH_TOO_BIG = 1    /* the block does not end within the bytes given   */
};

/**
 * smh_split - where the header block of a message ends.
 * @buf, @len:  the first @len bytes of the message.
 * @complete:   non-zero when @buf holds the whole message; zero when more
 *              bytes may follow (a read that filled its buffer).
 * @block_len:  receives the length of the header block (its empty line
 *              included, as rfc5322_header_end() counts it) on SMH_BLOCK;
 *              0 on SMH_TOO_BIG.
 *
 * With @complete the answer is rfc5322_header_end(buf, len).  Without it,
 * SMH_BLOCK is returned only when no byte after @len could move the end:
 * the block ended at an empty line, or at a line that is not a field and
 * whose line end was read.  A field cut short, a last field that might go
 * on with continuation lines, or a first body line cut before its line end
 * give SMH_TOO_BIG.  So whenever SMH_BLOCK is returned for a prefix, the
 * whole message gives the same @block_len.
 */
enum smh_split_result smh_split(const char *buf, size_t len, int complete, size_t *block_len);

/* A growing output buffer; zero it before first use, free(buf) after. */
struct smh_buf {
    char *buf;
    size_t len, cap;
};

/* Where smh_build() put the stamps, for callers and tests that check it. */
struct smh_edit {
    size_t insert_at;    /* offset in the input block of the insertion   */
    int added_eol;       /* a line end of ours follows the stamps: only   *
                          * when the block has no field at all and does   *
                          * not start with its empty line                 */
};

/**
 * smh_build - the header block of one copy.
 * @block, @blen: the header block, as smh_split() found it (the empty
 *                line, when there is one, included).
 * @drop_bcc:     leave out Bcc and Resent-Bcc fields (a split message).
 * @stamps, @n:   the stamps to add, each a NUL-terminated string without
 *                "X-Hashcash: "; each becomes one "X-Hashcash: STAMP" line
 *                in the block's own line ends (CRLF when its first line
 *                ends in CRLF, else LF).
 * @out:          receives the new block (its len is set; not terminated).
 * @edit:         if not NULL, receives where the stamps went.
 *
 * Nothing but the stamp lines is added and nothing but the Bcc fields is
 * taken away: every other byte of the block comes out unchanged and in
 * order.  The stamps go after the last field that ends in a line end;
 * when the last field has none (a message of headers only without a final
 * newline) they go before it, so no byte of the message is changed.  A
 * block without any field gets the stamps at its start, and, unless it
 * starts with its empty line, a line end of ours after them, so that the
 * message's first line stays out of the header.
 *
 * Returns 0, or -1 when memory runs out (then @out holds part of the
 * block; free it all the same).
 */
int smh_build(const char *block, size_t blen, int drop_bcc, const char *const *stamps, size_t n,
              struct smh_buf *out, struct smh_edit *edit);

#endif
