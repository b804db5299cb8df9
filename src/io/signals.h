/*
 * signals.h - the daemon's signals as flags.
 *
 * The handlers only set flags (async-signal-safe); the main loop reads
 * them between batches.  SIGTERM and SIGINT ask for a clean stop, SIGHUP
 * for a rules reload; SIGPIPE is ignored (a dropped socket is an error
 * return, not a death).
 */
#ifndef SK_SIGNALS_H
#define SK_SIGNALS_H

#include <stdbool.h>

/** Install the handlers.  @returns 0 or -1 (sigaction failed). */
int sk_signals_install(void);

/** @returns whether SIGTERM or SIGINT arrived. */
bool sk_signals_stop_requested(void);

/** Ask for a stop from inside the program (a fatal error). */
void sk_signals_request_stop(void);

/** @returns whether SIGHUP arrived since the last call, and clears it. */
bool sk_signals_take_reload(void);

#endif
