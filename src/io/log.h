/*
 * log.h - logfmt lines on stderr for the daemon and the tools.
 *
 * One line per event: `ts=... level=info component=consumer msg="..."`
 * followed by the caller's own key=value fields.  Values that may hold
 * spaces or quotes go through SK_LOG_Q(), which quotes and escapes them.
 * Nothing here ever receives a secret: callers log names, never values,
 * of credentials.
 */
#ifndef SK_LOG_H
#define SK_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum sk_log_level {
    SK_LOG_DEBUG,
    SK_LOG_INFO,
    SK_LOG_WARN,
    SK_LOG_ERROR
} sk_log_level_t;

/** Lines below @p level are dropped.  The default is SK_LOG_INFO. */
void sk_log_set_level(sk_log_level_t level);

/** @returns whether a line at @p level would be written. */
int sk_log_enabled(sk_log_level_t level);

/** @returns the level named @p name ("debug", "info", "warn", "error"), or -1. */
int sk_log_level_parse(const char *name);

/** @returns the name of @p level. */
const char *sk_log_level_name(sk_log_level_t level);

/**
 * @brief Write one line.
 * @param component the subsystem ("consumer", "redis", ...).
 * @param msg       the human message; quoted by the logger.
 * @param fmt       printf format of the extra `key=value` fields.
 */
void sk_log(sk_log_level_t level, const char *component, const char *msg,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** sk_log() without extra fields. */
void sk_log_msg(sk_log_level_t level, const char *component, const char *msg);

/**
 * @brief @p s as a logfmt value: unchanged when it is a plain token,
 *        otherwise in double quotes with `"`, `\` and control bytes
 *        escaped.  Truncated to fit @p len.
 * @returns @p buf.
 */
const char *sk_log_quote(char *buf, size_t len, const char *s);

/**
 * A limit on how often one kind of line is written: at most `per_window`
 * lines per `window_ms`, then silence until the window ends.  Not
 * thread-safe: one limiter per call site, used by one thread (or under
 * the caller's lock).  Zero-initialise it.
 */
typedef struct sk_log_limit {
    int64_t window_start_ms; /**< monotonic start of the current window */
    int lines;               /**< lines written in it */
    uint64_t held;           /**< lines held back since the last report */
} sk_log_limit_t;

/**
 * @brief Whether a line may be written now under @p l.
 * @param held when a line is allowed after some were held back, receives
 *        their count (the caller adds it to its line: "held=N"), else 0.
 * @returns 1 to write the line, 0 to drop it (it is counted).
 */
int sk_log_limit_pass(sk_log_limit_t *l, int per_window, int64_t window_ms,
                      uint64_t *held);

/** A quoted value in a temporary that lives until the end of the statement's block. */
#define SK_LOG_Q(s) sk_log_quote((char[320]){0}, 320, (s))

#endif
