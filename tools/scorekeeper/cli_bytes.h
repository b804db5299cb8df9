/*
 * cli_bytes.h - how the `scorekeeper` commands show bytes read from a
 * topic (alerts, dead letters): as JSON strings, in hex when they are
 * not text.
 */
#ifndef SK_CLI_BYTES_H
#define SK_CLI_BYTES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/**
 * @brief @p n bytes at @p p as a JSON string of lower-case hex digits,
 *        two a byte.
 * @returns a new reference (json_decref()), or NULL when out of memory.
 */
json_t *sk_cli_bytes_hex(const void *p, size_t n);

/**
 * @brief @p n bytes at @p p as a JSON string when they are printable
 *        UTF-8 (no control characters but tab, CR and LF), with *@p text
 *        set; else as sk_cli_bytes_hex(), with *@p text cleared.
 * @returns a new reference (json_decref()), or NULL when out of memory.
 */
json_t *sk_cli_bytes_json(const void *p, size_t n, bool *text);

#endif
