/*
 * stamp_copy.h - a blind recipient's own copy: the message with only that
 * recipient's stamp, handed to the MTA's sendmail(1) for that recipient
 * alone, as postage-sendmail splits a message with Bcc recipients.
 *
 * The copy comes back through the MTA's non_smtpd_milters with one
 * recipient and a good stamp for it, which the stamping milter passes
 * (stamp_decide.h: a recipient already paid is not paid again).
 */
#ifndef POSTAGE_POLICY_STAMP_COPY_H
#define POSTAGE_POLICY_STAMP_COPY_H

#include <stddef.h>
#include <stdint.h>

/* Run @argv (the NULL-terminated words of stamp_sendmail) followed by
 * "-i -f SENDER -- RCPT" and write to its standard input: @headers
 * (@hlen bytes, LF-terminated header lines as the MTA gave them), then
 * "X-Hashcash: STAMP", a blank line, and @body (@blen bytes, CRLF line
 * ends as milters get them, written with LF).  @sender "" is the null
 * sender.  The child is waited for until @deadline_ms (pd_dns_now_ms
 * based) and killed past it.  Returns 0 when the command read everything
 * and exited 0; else -1 with the reason in @err ("exit 75", "killed after
 * the timeout", "cannot run /usr/sbin/sendmail: ..."). */
int pd_stamp_copy_send(char *const *argv, size_t argc, const char *sender, const char *rcpt,
                       const char *stamp, const char *headers, size_t hlen,
                       const unsigned char *body, size_t blen, uint64_t deadline_ms, char *err,
                       size_t errlen);

#endif
