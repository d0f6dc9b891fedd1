/* SPDX-License-Identifier: Apache-2.0 */
/* Splitting a rejected batch until the rejected records stand alone. */
#include "pump_bisect.h"

/* Recursion depth is log2(batch size) (batch_size is at most 100,000: 17 levels). */
static int write_range(const pump_bisect_cb_t *cb, void *ctx, size_t off, size_t n)
{
    char err[512] = "";
    int rc = cb->write(ctx, off, n, err, sizeof(err));
    if (rc == 0)
        return 0;
    if (rc != -2)
        return -1;
    if (n == 1)
        return cb->reject(ctx, off, err) == 0 ? 0 : -1;
    size_t half = n / 2;
    if (write_range(cb, ctx, off, half) != 0)
        return -1;
    return write_range(cb, ctx, off + half, n - half);
}

int pump_bisect_write(const pump_bisect_cb_t *cb, void *ctx, size_t n)
{
    if (n == 0)
        return 0;
    return write_range(cb, ctx, 0, n);
}
