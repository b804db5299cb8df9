/*
 * json_writer.h - JSON text written straight into a growing buffer, for
 * the hot paths (alerts, the readable scores kept in Redis) where
 * building a jansson tree per object costs more than the work itself.
 *
 * Strings are escaped as jansson escapes them (", \, control characters;
 * '/' is left alone) and invalid UTF-8 becomes U+FFFD, so the output is
 * always valid JSON.  Reals are printed with 12 significant digits and
 * keep a ".0" when integral, as jansson prints them.  Allocation failure
 * is sticky: check sk_json_writer_t.oom once at the end.
 */
#ifndef SCOREKEEPER_JSON_WRITER_H
#define SCOREKEEPER_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sk_json_writer {
    char *data; /**< NUL-terminated text; owned */
    size_t len; /**< bytes of text */
    size_t cap; /**< bytes allocated */
    bool oom;   /**< an allocation failed: the text is incomplete */
} sk_json_writer_t;

/** Empty @p w, keeping its memory. */
void sk_json_reset(sk_json_writer_t *w);

/** Free what @p w owns and empty it. */
void sk_json_free(sk_json_writer_t *w);

/** Append @p len bytes as they are. */
void sk_json_raw(sk_json_writer_t *w, const char *s, size_t len);

/** Append "{" or "}". */
void sk_json_open(sk_json_writer_t *w);
void sk_json_close(sk_json_writer_t *w);

/** Append the key of an object member ("key":), with the comma before it
 *  unless it is the first member. */
void sk_json_key(sk_json_writer_t *w, const char *key);

/** Append a quoted, escaped string. */
void sk_json_string(sk_json_writer_t *w, const char *s);

/** Append an integer. */
void sk_json_int(sk_json_writer_t *w, int64_t v);

/** Append a real: %.12g, with ".0" when integral; 0.0 if not finite. */
void sk_json_real(sk_json_writer_t *w, double v);

/** Append null. */
void sk_json_null(sk_json_writer_t *w);

#endif
