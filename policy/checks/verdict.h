/*
 * verdict.h - what a postaged module decides about a recipient or a
 * message, independent of the front-end (Postfix policy protocol or milter)
 * that will carry it to the MTA, and the one reading of the reply code a
 * verdict's text may begin with, which both front-ends use.
 */
#ifndef POSTAGE_POLICY_VERDICT_H
#define POSTAGE_POLICY_VERDICT_H

#include <stddef.h>

/* Terminal decisions, as in Postfix access(5).  PD_DUNNO means "no
 * decision": the next module runs. */
enum pd_action {
    PD_DUNNO = 0,   /* no decision; go on                          */
    PD_OK,          /* accept; later modules are skipped           */
    PD_REJECT,      /* 5xx (default 554 5.7.1)                     */
    PD_DEFER,       /* 4xx (default 450 4.7.1)                     */
    PD_HOLD,        /* accept into the hold queue                  */
    PD_DISCARD      /* accept and drop                             */
};

#define PD_TEXT_MAX 512   /* reply text, without the action word */

struct pd_verdict {
    enum pd_action action;
    /* Optional reply text.  May begin with an SMTP code and an enhanced
     * status ("451 4.7.1 Greylisted, ..."); the front-end splits them. */
    char text[PD_TEXT_MAX];
};

/* Name of an action as Postfix spells it ("DUNNO", "REJECT", ...). */
const char *pd_action_name(enum pd_action action);

/* Parse an action word (case-insensitive): returns 0 and sets *out, or -1. */
int pd_action_parse(const char *word, size_t len, enum pd_action *out);

/* A verdict text's leading reply code, as pd_reply_split finds it. */
struct pd_reply_parts {
    unsigned code;         /* the 3-digit SMTP reply code (4xx or 5xx)    */
    size_t enhanced;       /* offset of the RFC 3463 enhanced status code  */
    size_t enhanced_len;   /* its length; 0 when there is none             */
    size_t text;           /* offset of the text after them                */
};

/*
 * Split the len bytes of text into a leading SMTP reply code of class 4
 * or 5 ("451", followed by a space or the end), an optional RFC 3463
 * enhanced status code of the same class ("4.7.1": D.D{1,3}.D{1,3},
 * followed by a space or the end; one of the other class is left in the
 * text), and the text after them, the spaces between the parts skipped.
 * Returns the length of the code part (parts->text), or 0 if the text
 * does not begin with a reply code (text may then be NULL; *parts is
 * then all zero).  parts may be NULL.  The class the code must have for
 * the action is the caller's to check.
 */
size_t pd_reply_split(const char *text, size_t len, struct pd_reply_parts *parts);

/*
 * Length of a leading SMTP reply code in a verdict's text ("451 4.7.1 ",
 * "554 "), including the enhanced status code and the space after each,
 * or 0 if the text does not begin with one: pd_reply_split's result.
 * *code receives the 3-digit code when the result is non-zero (code may
 * be NULL).
 */
size_t pd_reply_code_prefix(const char *text, size_t len, unsigned *code);

#endif
