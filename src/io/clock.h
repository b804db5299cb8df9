/*
 * clock.h - the one place the daemon asks what time it is.
 *
 * "Now" is the wall clock, unless the environment variable
 * SCOREKEEPER_CLOCK_FILE names a file holding an ISO-8601 time: then the
 * file is read again on every call, so a test can move time forward by
 * rewriting it (31 days in a second).  Durations and timeouts use the
 * monotonic clock, which no file can move.
 */
#ifndef SK_CLOCK_H
#define SK_CLOCK_H

#include <stdint.h>

/** Name of the environment variable that points the clock at a file. */
#define SK_CLOCK_FILE_ENV "SCOREKEEPER_CLOCK_FILE"

/**
 * @brief The current time, ms since the Unix epoch, UTC.
 * @remark With SCOREKEEPER_CLOCK_FILE set, the time written in the file;
 *         a file that cannot be read or parsed keeps the last good time
 *         (the wall clock before any) and logs a warning once.
 */
int64_t sk_clock_now_ms(void);

/** @returns whether "now" comes from a file rather than the wall clock. */
int sk_clock_is_fake(void);

/** The wall clock, ms since the epoch. */
int64_t sk_clock_wall_ms(void);

/** A monotonic clock in ms, for timeouts and rates. */
int64_t sk_clock_mono_ms(void);

/** Sleep @p ms milliseconds (interrupted early by a signal). */
void sk_clock_sleep_ms(int64_t ms);

#endif
