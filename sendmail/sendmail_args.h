/*
 * sendmail_args.h - the sendmail command line as mail programs write it,
 * read the way Postfix's and Sendmail's sendmail read it, so that
 * postage-sendmail can pass it on unchanged and know only what it needs:
 * the mode, -t, -i, the envelope sender, and the recipients.
 */
#ifndef POSTAGE_MINT_SENDMAIL_ARGS_H
#define POSTAGE_MINT_SENDMAIL_ARGS_H

#include <stddef.h>

/* What the command asks of sendmail. */
enum sm_mode {
    SM_MODE_DELIVER = 0,   /* -bm (the default): read a message, send it  */
    SM_MODE_OTHER          /* -bp, -bs, -bi, -q, -I, ...: nothing to stamp;
                            * run the real sendmail with the same arguments */
};

struct sm_args {
    enum sm_mode mode;
    int extract;           /* -t: recipients from the headers too          */
    int dot_ends;          /* a line "." ends the input (no -i / -oi)      */
    const char *sender;    /* -f / -r ADDR, or NULL                        */
    /* Indexes into argv: the option words (argv[1 .. n_options]; an
     * option's separate argument included) and the recipients after them
     * (and after "--", which is not counted). */
    int first_recipient;   /* argv index of the first recipient, or argc   */
    int options_end;       /* argv index after the last option word        */
    int t_words[16];       /* argv indexes of words that are exactly "-t"  */
    int n_t_words;
    int t_clustered;       /* -t inside a cluster such as "-ti": cannot be
                            * removed alone, so recipients are not split   */
};

/* Parse argv.  Never fails: an unknown option is passed on as a flag (the
 * real sendmail will judge it).  Returns 0, or -1 with *err naming an
 * option that lacks its argument. */
int sm_args_parse(int argc, const char *const *argv, struct sm_args *out, const char **err);

#endif
