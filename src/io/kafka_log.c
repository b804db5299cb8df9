/*
 * kafka_log.c - librdkafka log callback writing logfmt.
 *
 * librdkafka logs syslog levels from its own threads; they are mapped to
 * our four levels, and the handle's name (client.id, type and a number)
 * says which client spoke.  One warning is expected and demoted: a
 * property set through the shared `kafka:` map that applies to the other
 * client type ("... is a consumer property and will be ignored by this
 * producer instance"), and so is the embedded cluster's handle saying it
 * has no bootstrap servers (it is not meant to connect anywhere).
 */
#include <string.h>

#include "kafka_log.h"
#include "log.h"

static sk_log_level_t level_of(int syslog_level)
{
    if (syslog_level <= 3)
        return SK_LOG_ERROR;
    if (syslog_level == 4)
        return SK_LOG_WARN;
    if (syslog_level <= 6)
        return SK_LOG_INFO;
    return SK_LOG_DEBUG;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    sk_log_level_t lv = level_of(level);

    if (strcmp(fac, "CONFWARN") == 0 &&
        (strstr(buf, "will be ignored by") ||
         /* the embedded cluster's own handle never connects anywhere */
         strstr(buf, "No `bootstrap.servers` configured")))
        lv = SK_LOG_DEBUG;
    if (!sk_log_enabled(lv))
        return;
    sk_log(lv, "kafka", buf, "client=%s fac=%s", SK_LOG_Q(rd_kafka_name(rk)),
           SK_LOG_Q(fac));
}

void sk_kafka_log_to_logfmt(rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_log_cb(conf, log_cb);
}
