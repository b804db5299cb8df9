/*
 * cli_bytes.c - JSON strings for untrusted bytes, shared by `scorekeeper
 * alerts` and `scorekeeper dlq`.
 *
 * Whatever is on a topic may be any bytes: a terminal must never receive
 * its control characters, and a field that is not UTF-8 must stay
 * visible rather than be dropped.  So text goes out as a JSON string
 * (jansson escapes it and refuses what is not UTF-8) and anything else
 * as hex digits, which every reader can turn back into the bytes.
 */
#include <stdlib.h>

#include "cli_bytes.h"

json_t *sk_cli_bytes_hex(const void *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = p;
    char *s = malloc(n * 2 + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[b[i] >> 4];
        s[2 * i + 1] = digits[b[i] & 15];
    }
    json_t *j = json_stringn(s, n * 2);
    free(s);
    return j;
}

json_t *sk_cli_bytes_json(const void *p, size_t n, bool *text)
{
    const unsigned char *b = p;
    *text = true;
    for (size_t i = 0; i < n; i++)
        if ((b[i] < 0x20 && b[i] != '\t' && b[i] != '\n' && b[i] != '\r') ||
            b[i] == 0x7f)
            *text = false;
    if (*text) {
        json_t *s = json_stringn(p, n); /* NULL: not UTF-8 */
        if (s)
            return s;
        *text = false;
    }
    return sk_cli_bytes_hex(p, n);
}
