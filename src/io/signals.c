/*
 * signals.c - signal handlers that only set flags.
 *
 * sig_atomic_t flags are the whole interface: everything a signal causes
 * (finishing the batch, committing, reloading rules) happens in the main
 * loop, where it is safe to call librdkafka, hiredis and malloc.  No
 * SA_RESTART, so a blocking sleep returns early and the loop notices.
 */
#include <signal.h>
#include <string.h>

#include "signals.h"

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t reload_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_reload(int sig)
{
    (void)sig;
    reload_flag = 1;
}

int sk_signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = on_reload;
    if (sigaction(SIGHUP, &sa, NULL) != 0)
        return -1;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return -1;
    return 0;
}

bool sk_signals_stop_requested(void)
{
    return stop_flag != 0;
}

void sk_signals_request_stop(void)
{
    stop_flag = 1;
}

bool sk_signals_take_reload(void)
{
    if (!reload_flag)
        return false;
    reload_flag = 0;
    return true;
}
