/*
 * state_codec.h - one account's whole state as a compact, versioned
 * msgpack blob, the form kept in Redis.
 *
 * The blob is an array [format_version, {fields}] that leaves out empty
 * parts.  Every format version ever written stays readable: decoding
 * dispatches on the version, and tests keep a stored blob of each one
 * (tests/fixtures/state-v*.bin): format 1 lacked the
 * first-use days, which decoding fills with the best known value.  Decoding treats the bytes as untrusted
 * (a corrupted key must not crash the daemon): sizes, counts and depth
 * are bounded before anything is allocated.
 */
#ifndef SCOREKEEPER_STATE_CODEC_H
#define SCOREKEEPER_STATE_CODEC_H

#include <stddef.h>

#include <msgpack.h>

#include "account.h"
#include "rules.h"

/** The format version sk_state_encode() writes. */
#define SK_STATE_FORMAT_VERSION 2
/** Largest blob accepted by sk_state_decode(). */
#define SK_STATE_MAX_BYTES (1 << 20)

/**
 * @brief Append the blob of @p acct to @p out.
 * @returns SK_OK or SK_ERR (out of memory).
 */
int sk_state_encode(const sk_account_t *acct, msgpack_sbuffer *out);

/**
 * @brief Decode a blob.
 * @param rules  sizes the duplicate-id memory (dedup_max_ids).
 * @returns a new account the caller frees with sk_account_destroy(), or
 *          NULL with @p errstr saying what is wrong.
 */
sk_account_t *sk_state_decode(const void *buf, size_t len,
                              const sk_rules_t *rules, char *errstr,
                              size_t errlen);

#endif
