/*
 * milter_conn.h - one MTA connection of the milter protocol (version 6), as
 * libmilter served it: option negotiation, the order of commands, macros,
 * and the translation of a filter's answers into replies.
 *
 * A filter (milter.c; the stamping milter, stamp_milter.c) gives
 * callbacks for the stages it needs and a per-connection private pointer;
 * it answers each with a pd_mstat and may set a reply text or ask for
 * header and recipient changes and quarantine at end of message, as with
 * libmilter's smfi_* calls.  Stages whose callback never
 * answers anything but continue are negotiated "no reply" (SMFIP_NR_*)
 * when the MTA offers it, so the MTA does not wait for them; should such
 * a callback still refuse, the refusal is given at the next stage that is
 * answered (end of headers).
 */
#ifndef POSTAGE_POLICY_MILTER_CONN_H
#define POSTAGE_POLICY_MILTER_CONN_H

#include <stddef.h>
#include <stdint.h>

enum pd_mstat {
    PD_MS_CONTINUE = 0,
    PD_MS_REJECT,
    PD_MS_TEMPFAIL,
    PD_MS_DISCARD,
    PD_MS_ACCEPT,
};

struct pd_milter_conn;

/* The filter: each callback gets the connection and the private pointer
 * made by `open`.  A NULL callback is a stage the filter does not need.
 * `answered` names the stages that must be answered (PD_MWP_NR_* bits):
 * those whose callback can answer other than continue, and those whose
 * work must be done before the MTA goes on; the others are negotiated
 * without a reply. */
struct pd_milter_filter {
    uint32_t actions;       /* PD_MWA_*: refused if the MTA does not offer them */
    uint32_t answered;      /* PD_MWP_NR_* of the stages answered               */
    void *(*open)(void);    /* per connection; NULL = out of memory             */
    /* hostname as the MTA gives it; address "" when not IPv4 or IPv6 */
    enum pd_mstat (*connect)(struct pd_milter_conn *, void *, const char *hostname,
                             const char *address);
    enum pd_mstat (*helo)(struct pd_milter_conn *, void *, const char *helo);
    enum pd_mstat (*envfrom)(struct pd_milter_conn *, void *, const char **argv, int argc);
    enum pd_mstat (*envrcpt)(struct pd_milter_conn *, void *, const char **argv, int argc);
    enum pd_mstat (*header)(struct pd_milter_conn *, void *, const char *name,
                            const char *value);
    enum pd_mstat (*eoh)(struct pd_milter_conn *, void *);
    enum pd_mstat (*body)(struct pd_milter_conn *, void *, const unsigned char *, size_t);
    enum pd_mstat (*eom)(struct pd_milter_conn *, void *);
    void (*abort)(struct pd_milter_conn *, void *);   /* the message is over  */
    void (*close)(struct pd_milter_conn *, void *);   /* the client is over   */
    void (*free)(void *);                             /* the connection ends  */
};

/* Serve one accepted MTA connection until it quits, fails or *stop is
 * set (checked between packets; the server shuts the socket down to wake
 * a waiting read).  `peer` names the MTA in log lines.  The socket's
 * SO_RCVTIMEO/SO_SNDTIMEO bound each wait. */
void pd_milter_conn_serve(int fd, int tcp, const char *peer, const struct pd_milter_filter *f,
                          const int *stop);

/* For callbacks: a macro's value (name with or without braces: "i",
 * "{auth_authen}"), latest stage first, or NULL. */
const char *pd_mconn_macro(const struct pd_milter_conn *c, const char *name);

/* The reply text of the answer being made (used with PD_MS_REJECT and
 * PD_MS_TEMPFAIL, when its class matches: 5xx for reject, 4xx for
 * tempfail, as libmilter does): code "554", xcode "5.7.1" (may be NULL),
 * then `n` lines (n 0: none; more than one: a multi-line reply).  Lines
 * must not hold CR or LF.  Returns 0, or -1 when the code is not 4xx or
 * 5xx or the text would pass 64 KiB. */
int pd_mconn_set_reply(struct pd_milter_conn *c, const char *code, const char *xcode,
                       const char *const *lines, size_t n);

/* End of message only (else -1), and only with the action negotiated
 * (else -1): delete (value NULL or "") or change the index-th (from 1)
 * header `name`; insert a header at `index` (0: on top); quarantine. */
int pd_mconn_chgheader(struct pd_milter_conn *c, const char *name, uint32_t index,
                       const char *value);
int pd_mconn_insheader(struct pd_milter_conn *c, uint32_t index, const char *name,
                       const char *value);
int pd_mconn_quarantine(struct pd_milter_conn *c, const char *reason);

/* End of message only, with the action negotiated (else -1): append a
 * header at the end of the header block (SMFIR_ADDHEADER, PD_MWA_ADDHDRS);
 * remove an envelope recipient (SMFIR_DELRCPT, PD_MWA_DELRCPT), `rcpt`
 * as the MTA gave it at RCPT ("<a@b>": Postfix removes the brackets and
 * drops every recipient record whose original address it is). */
int pd_mconn_addheader(struct pd_milter_conn *c, const char *name, const char *value);
int pd_mconn_delrcpt(struct pd_milter_conn *c, const char *rcpt);

/* For callbacks from connect on: the client's port as the MTA gave it
 * at connect (0 when it gave none, or port 0: Postfix's non-SMTP
 * submissions, "localhost" [127.0.0.1] port 0). */
unsigned pd_mconn_client_port(const struct pd_milter_conn *c);

#endif
