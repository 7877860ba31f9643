/*
 * milter_sessions.h - which SMTP sessions postaged's milter is in right
 * now, so that the policy server can tell how Postfix is wired.
 *
 * Postfix sends a session's CONNECT, HELO and MAIL FROM to its milters
 * before it asks the policy service about the first RCPT TO.  So when the
 * policy server sees a recipient, the milter of the same process already
 * holds a transaction from that client if, and only if, Postfix has the
 * milter in its path.  With the milter there, the policy server leaves
 * greylisting and the headers to it (it sees the stamps and can remove
 * forged headers); without it (postgrey's wiring: check_policy_service
 * alone) the policy server greylists itself.
 *
 * A session is known by its client address and HELO name, as both
 * front-ends receive them.  The table is the process's own (both
 * front-ends run in one postaged), guarded by a mutex; it holds one entry
 * per open milter transaction, at most PD_MILTER_SESSIONS_MAX.
 */
#ifndef POSTAGE_POLICY_MILTER_SESSIONS_H
#define POSTAGE_POLICY_MILTER_SESSIONS_H

#define PD_MILTER_SESSIONS_MAX 4096

#include <stdint.h>

/* The milter starts a transaction (MAIL FROM) for this client.  Returns
 * 0 and *key, to leave with (the HELO name may change before the
 * transaction ends), or -1 when the table is full (the session then goes
 * unseen, and the policy server greylists it: greylisting is never
 * skipped by mistake). */
int pd_milter_session_enter(const char *client_address, const char *helo, uint64_t *key);

/* The transaction entered with `key` ended (end of message, abort, or
 * the connection closed). */
void pd_milter_session_leave(uint64_t key);

/* Does the milter hold a transaction for this client and HELO name? */
int pd_milter_session_active(const char *client_address, const char *helo);

#endif
