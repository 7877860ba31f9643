/*
 * verdict.h - what a postaged module decides about a recipient or a
 * message, independent of the front-end (Postfix policy protocol or milter)
 * that will carry it to the MTA.
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

#endif
