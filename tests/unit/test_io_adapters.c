/*
 * test_io_adapters.c - the parts of the I/O adapters that need no
 * server: the Kafka property passthrough and its refusals, Redis address
 * parsing, and the outbox codec.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "kafka_props.h"
#include "outbox.h"
#include "redis_store.h"
#include "scorekeeper/common.h"

static char err[SK_ERRSTR_LEN];

Test(kafka_props, set_replace_get)
{
    sk_kafka_props_t p = {0};

    cr_assert_eq(sk_kafka_props_set(&p, "linger.ms", "5", err, sizeof err),
                 SK_OK);
    cr_assert_eq(sk_kafka_props_parse(&p, "linger.ms=20", err, sizeof err),
                 SK_OK);
    cr_assert_eq(p.n, 1);
    cr_assert_str_eq(sk_kafka_props_get(&p, "linger.ms"), "20");
    cr_assert_null(sk_kafka_props_get(&p, "acks"));
    /* "=" in the value is kept */
    cr_assert_eq(sk_kafka_props_parse(&p, "sasl.oauthbearer.extensions=a=b",
                                      err, sizeof err),
                 SK_OK);
    cr_assert_str_eq(sk_kafka_props_get(&p, "sasl.oauthbearer.extensions"),
                     "a=b");
    sk_kafka_props_free(&p);
    cr_assert_eq(p.n, 0);
}

Test(kafka_props, refuses_code_loading)
{
    sk_kafka_props_t p = {0};
    const char *keys[] = {"plugin.library.paths", "sasl.kerberos.kinit.cmd",
                          "ssl.engine.location"};

    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        cr_assert_eq(sk_kafka_props_set(&p, keys[i], "x", err, sizeof err),
                     SK_ERR, "%s accepted", keys[i]);
        cr_assert(strstr(err, keys[i]), "%s", err);
    }
    cr_assert_eq(p.n, 0);
}

Test(kafka_props, secrets_refused_on_command_line_only)
{
    sk_kafka_props_t p = {0};

    cr_assert(sk_kafka_prop_is_secret("sasl.password"));
    cr_assert(sk_kafka_prop_is_secret("ssl.key.password"));
    cr_assert(sk_kafka_prop_is_secret("sasl.oauthbearer.client.secret"));
    cr_assert(sk_kafka_prop_is_secret("ssl.key.pem"));
    cr_assert_not(sk_kafka_prop_is_secret("sasl.username"));
    cr_assert_eq(
        sk_kafka_props_parse(&p, "sasl.password=hunter2", err, sizeof err),
        SK_ERR);
    cr_assert_null(strstr(err, "hunter2"), "secret echoed: %s", err);
    cr_assert_eq(
        sk_kafka_props_set(&p, "sasl.password", "hunter2", err, sizeof err),
        SK_OK);
    sk_kafka_props_free(&p);
}

Test(kafka_props, malformed)
{
    sk_kafka_props_t p = {0};

    cr_assert_eq(sk_kafka_props_parse(&p, "novalue", err, sizeof err), SK_ERR);
    cr_assert_eq(sk_kafka_props_parse(&p, "=x", err, sizeof err), SK_ERR);
    cr_assert_eq(sk_kafka_props_set(&p, "bad key", "x", err, sizeof err),
                 SK_ERR);
    cr_assert_eq(p.n, 0);
}

Test(kafka_props, warnings)
{
    cr_assert_not_null(
        sk_kafka_prop_warning("enable.ssl.certificate.verification", "false"));
    cr_assert_null(
        sk_kafka_prop_warning("enable.ssl.certificate.verification", "true"));
    cr_assert_not_null(
        sk_kafka_prop_warning("ssl.endpoint.identification.algorithm", "none"));
    cr_assert_null(sk_kafka_prop_warning("linger.ms", "0"));
}

Test(kafka_props, conf_build_names_the_property)
{
    sk_kafka_props_t p = {0};
    rd_kafka_conf_t *conf;

    sk_kafka_props_set(&p, "no.such.property", "1", err, sizeof err);
    conf = sk_kafka_conf_build("127.0.0.1:9092", &p, err, sizeof err);
    cr_assert_null(conf);
    cr_assert(strstr(err, "no.such.property"), "%s", err);
    sk_kafka_props_free(&p);

    sk_kafka_props_set(&p, "linger.ms", "7", err, sizeof err);
    conf = sk_kafka_conf_build("127.0.0.1:9092", &p, err, sizeof err);
    cr_assert_not_null(conf, "%s", err);
    rd_kafka_conf_destroy(conf);
    sk_kafka_props_free(&p);
}

Test(kafka_props, fixed_properties_win_and_cannot_be_changed)
{
    sk_kafka_props_t p = {0}, fixed = {0};
    rd_kafka_conf_t *conf;
    char value[64];
    size_t len = sizeof value;

    sk_kafka_props_set(&fixed, "acks", "all", err, sizeof err);
    sk_kafka_props_set(&fixed, "enable.idempotence", "true", err, sizeof err);

    /* the same value, spelled differently, is accepted */
    sk_kafka_props_set(&p, "request.required.acks", "-1", err, sizeof err);
    sk_kafka_props_set(&p, "enable.idempotence", "TRUE", err, sizeof err);
    conf = sk_kafka_conf_build_fixed(NULL, &p, &fixed, err, sizeof err);
    cr_assert_not_null(conf, "%s", err);
    cr_assert_eq(rd_kafka_conf_get(conf, "enable.idempotence", value, &len),
                 RD_KAFKA_CONF_OK);
    cr_assert_str_eq(value, "true");
    rd_kafka_conf_destroy(conf);
    sk_kafka_props_free(&p);

    /* a different value is refused, through the alias too */
    sk_kafka_props_set(&p, "request.required.acks", "1", err, sizeof err);
    cr_assert_null(
        sk_kafka_conf_build_fixed(NULL, &p, &fixed, err, sizeof err));
    cr_assert(strstr(err, "acks"), "%s", err);
    sk_kafka_props_free(&p);
    sk_kafka_props_set(&p, "enable.idempotence", "false", err, sizeof err);
    cr_assert_null(
        sk_kafka_conf_build_fixed(NULL, &p, &fixed, err, sizeof err));
    sk_kafka_props_free(&p);
    sk_kafka_props_free(&fixed);
}

Test(redis_opts, parse_addr)
{
    sk_redis_opts_t o;

    sk_redis_opts_default(&o);
    cr_assert_str_eq(o.host, "127.0.0.1");
    cr_assert_eq(o.port, 6379);
    cr_assert_str_eq(o.prefix, "sk");
    cr_assert_eq(sk_redis_opts_parse_addr(&o, "redis.internal:6380"), SK_OK);
    cr_assert_str_eq(o.host, "redis.internal");
    cr_assert_eq(o.port, 6380);
    cr_assert_eq(sk_redis_opts_parse_addr(&o, "[::1]:7000"), SK_OK);
    cr_assert_str_eq(o.host, "::1");
    cr_assert_eq(o.port, 7000);
    cr_assert_eq(sk_redis_opts_parse_addr(&o, "nohost"), SK_ERR);
    cr_assert_eq(sk_redis_opts_parse_addr(&o, ":6379"), SK_ERR);
    cr_assert_eq(sk_redis_opts_parse_addr(&o, "h:0"), SK_ERR);
    cr_assert_eq(sk_redis_opts_parse_addr(&o, "h:65536"), SK_ERR);
    cr_assert_eq(sk_redis_opts_parse_addr(&o, "h:12x"), SK_ERR);
    /* unchanged by the failures */
    cr_assert_str_eq(o.host, "::1");
}

Test(redis_connect, unreachable_fails_with_reason)
{
    sk_redis_opts_t o;

    sk_redis_opts_default(&o);
    o.port = 1; /* nothing listens on port 1 */
    o.timeout_ms = 500;
    cr_assert_null(sk_redis_connect(&o, err, sizeof err));
    cr_assert(strstr(err, "127.0.0.1:1"), "%s", err);
}

Test(outbox, append_iterate_restore)
{
    sk_outbox_t o = {0}, back = {0};
    char big[70000];
    const char *payload;
    size_t pos = 0, len;

    memset(big, 'x', sizeof big);
    cr_assert_eq(sk_outbox_append(&o, "{\"id\":\"a\"}", 10), SK_OK);
    cr_assert_eq(sk_outbox_append(&o, big, 300), SK_OK);        /* bin 16 */
    cr_assert_eq(sk_outbox_append(&o, big, sizeof big), SK_OK); /* bin 32 */
    cr_assert_eq(o.n, 3);

    cr_assert_eq(sk_outbox_set(&back, o.buf, o.len), SK_OK);
    cr_assert_eq(back.n, 3);
    cr_assert_eq(sk_outbox_next(&back, &pos, &payload, &len), 1);
    cr_assert_eq(len, 10);
    cr_assert_eq(memcmp(payload, "{\"id\":\"a\"}", 10), 0);
    cr_assert_eq(sk_outbox_next(&back, &pos, &payload, &len), 1);
    cr_assert_eq(len, 300);
    cr_assert_eq(sk_outbox_next(&back, &pos, &payload, &len), 1);
    cr_assert_eq(len, sizeof big);
    cr_assert_eq(sk_outbox_next(&back, &pos, &payload, &len), 0);

    sk_outbox_clear(&o);
    cr_assert_eq(o.n, 0);
    sk_outbox_free(&o);
    sk_outbox_free(&back);
}

Test(outbox, refuses_what_it_did_not_write)
{
    sk_outbox_t o = {0};
    const unsigned char not_bin[] = {0x92, 0x01, 0x02};
    const unsigned char short_bin[] = {0xc4, 0x05, 'a', 'b'};

    cr_assert_eq(sk_outbox_set(&o, not_bin, sizeof not_bin), SK_ERR);
    cr_assert_eq(sk_outbox_set(&o, short_bin, sizeof short_bin), SK_ERR);
    cr_assert_eq(o.n, 0);
    cr_assert_eq(sk_outbox_set(&o, "", 0), SK_OK);
    cr_assert_eq(o.n, 0);
    sk_outbox_free(&o);
}
