/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Forced in front of Debian's duktape.c (-include) so the engine is built with an execution
 * time check: Debian's duk_config.h #undefs DUK_USE_EXEC_TIMEOUT_CHECK, so we let it run first
 * (its include guard then makes duktape.c's own #include a no-op) and add the two options after.
 * The callback (gw_jsvm.c) compares a monotonic clock with the running call's deadline.
 */
#ifndef GW_DUK_CONFIG_H
#define GW_DUK_CONFIG_H

/* duktape.c defines this before its own #include; the config header's platform section
 * (date and time providers) depends on it. */
#define DUK_COMPILING_DUKTAPE
#include <duk_config.h>

int gw_jsvm_exec_timeout(void *heap_udata);

#ifndef DUK_USE_INTERRUPT_COUNTER
#define DUK_USE_INTERRUPT_COUNTER
#endif
#undef DUK_USE_EXEC_TIMEOUT_CHECK
#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) gw_jsvm_exec_timeout(udata)

#endif
