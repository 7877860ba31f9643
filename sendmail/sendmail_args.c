/*
 * sendmail_args.c - reading the sendmail command line (sendmail_args.h).
 *
 * Option letters that take an argument, attached ("-fADDR") or as the
 * next word ("-f ADDR"), are those of Postfix's sendmail(1) and
 * Sendmail 8: B C F L N O R V X f h p r; bare "-o" takes the next word.
 * Every other letter is a flag and may be clustered ("-ti").  The first
 * word that is not an option, or the word after "--", starts the
 * recipients.
 */
#include "config.h"

#include <string.h>

#include "sendmail/sendmail_args.h"

static int
takes_argument(char c)
{
    return c != '\0' && strchr("BCFLNORVXfhpr", c) != NULL;
}

int
sm_args_parse(int argc, const char *const *argv, struct sm_args *out, const char **err)
{
    memset(out, 0, sizeof *out);
    out->dot_ends = 1;
    *err = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *w = argv[i];
        if (strcmp(w, "--") == 0) {
            out->options_end = i;
            out->first_recipient = i + 1;
            return 0;
        }
        if (w[0] != '-' || w[1] == '\0')
            break;
        if (w[1] == 'b') {
            /* -bm delivers; every other mode (-bp, -bs, -bv, -bd, -bi,
             * -bt, -bD, -bh, -bH, -bP...) is not a message to stamp. */
            if (w[2] != 'm')
                out->mode = SM_MODE_OTHER;
            continue;
        }
        if (w[1] == 'q' || w[1] == 'I') {
            out->mode = SM_MODE_OTHER;   /* queue runs, newaliases */
            continue;
        }
        if (w[1] == 'o') {
            if (w[2] == '\0') {          /* "-o x": the option in the next word */
                if (i + 1 >= argc) {
                    *err = "-o";
                    return -1;
                }
                if (strcmp(argv[i + 1], "i") == 0)
                    out->dot_ends = 0;
                i++;
            } else if (strcmp(w + 2, "i") == 0 || strncmp(w + 2, "i=", 2) == 0) {
                out->dot_ends = strcmp(w + 2, "i=false") == 0;
            }
            continue;
        }
        for (const char *c = w + 1; *c != '\0'; c++) {
            if (takes_argument(*c)) {
                const char *arg = c[1] != '\0' ? c + 1 : NULL;
                if (arg == NULL) {
                    if (i + 1 >= argc) {
                        static char missing[3] = "-?";
                        missing[1] = *c;
                        *err = missing;
                        return -1;
                    }
                    arg = argv[++i];
                }
                if (*c == 'f' || *c == 'r')
                    out->sender = arg;
                break;
            }
            if (*c == 't') {
                out->extract = 1;
                if (strcmp(w, "-t") == 0) {
                    if (out->n_t_words < (int) (sizeof out->t_words / sizeof out->t_words[0]))
                        out->t_words[out->n_t_words++] = i;
                    else
                        out->t_clustered = 1;
                } else {
                    out->t_clustered = 1;
                }
            } else if (*c == 'i') {
                out->dot_ends = 0;
            }
        }
    }
    out->options_end = i;
    out->first_recipient = i;
    return 0;
}
