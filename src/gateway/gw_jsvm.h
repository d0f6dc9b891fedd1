/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JavaScript VM behind Tyk's JSVM plugins (custom_middleware with driver otto, virtual
 * endpoints), on duktape. One gw_jsvm_t per loaded API holds the API's scripts (read and
 * checked once, at load: a syntax error rejects the API). Scripts run on a small pool of JS
 * threads (turnpike_jsvm_threads, srv->jsvm_pool), never on a worker: each thread lazily creates
 * its own duktape heap for the API the first time it needs one, so a call never takes a lock.
 *
 * Limits: every call gets a deadline (jsvm_timeout) checked by duktape's interrupt hook, and
 * every heap a memory cap enforced by its allocator. A call that times out or runs out of
 * memory fails, and the heap is thrown away (rebuilt on the next call). A JS thread is busy
 * for at most jsvm_timeout while a script runs; the workers keep serving meanwhile.
 */
#ifndef GW_JSVM_H
#define GW_JSVM_H

#include "gw_http.h"

#include <jansson.h>

struct duk_hthread;
typedef struct gw_jsvm gw_jsvm_t;

/* Heap cap for one worker's VM of one API. */
#define GW_JSVM_MEM_CAP (64u * 1024 * 1024)

enum gw_jsvm_rc {
    GW_JSVM_OK = 0,
    GW_JSVM_ERROR,   /* the script threw, or returned something unusable */
    GW_JSVM_TIMEOUT, /* ran past jsvm_timeout */
    GW_JSVM_NOMEM,   /* hit the heap cap */
};

/** True when the API uses a JS driver for custom_middleware ("", "otto", "javascript", "goja"). */
bool gw_jsvm_driver_is_js(const gw_api_t *api);

/**
 * The API's VM (shared by its JS middlewares; reference counted). Loads and checks every
 * script the definition names (custom_middleware pre/post/post_key_auth/auth_check paths and
 * virtual endpoint sources) on first use; a missing file or a script that fails to evaluate
 * adds "<file>: API <id>: ..." to @errs and returns NULL.
 */
gw_jsvm_t *gw_jsvm_acquire(const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs);
void gw_jsvm_release(gw_jsvm_t *vm);
/** A call queued for a JS thread keeps @vm alive past its API's unloading; drop when done. */
gw_jsvm_t *gw_jsvm_job_hold(gw_jsvm_t *vm);
void gw_jsvm_job_drop(gw_jsvm_t *vm);

/**
 * Calls @obj.@fn(args...) (or the global function @fn when @obj is NULL) in this thread's heap,
 * each argument given as JSON text. The result must be a string: *@out gets a malloc'd copy.
 * On failure *@err gets a malloc'd description (for the log).
 */
enum gw_jsvm_rc gw_jsvm_call(gw_jsvm_t *vm, gw_server_t *srv, const char *obj, const char *fn,
                             const char *const *args, size_t nargs, char **out, char **err);

/* The general form: @push pushes @nargs arguments; @read looks at the result (stack top) and
 * returns TK_OK, or TK_ERROR with a malloc'd *err. Both run under the deadline and may be cut
 * short by it (keep only arena memory across duktape calls there). */
typedef void (*gw_jsvm_push_fn)(struct duk_hthread *ctx, void *arg);
typedef int (*gw_jsvm_read_fn)(struct duk_hthread *ctx, void *arg, char **err);
enum gw_jsvm_rc gw_jsvm_invoke(gw_jsvm_t *vm, gw_server_t *srv, const char *obj, const char *fn,
                               size_t nargs, gw_jsvm_push_fn push, gw_jsvm_read_fn read, void *arg,
                               char **err);

/** {"APIID","OrgID","config_data"} as Tyk passes it to scripts (borrowed; lives with @vm). */
const char *gw_jsvm_spec_json(const gw_jsvm_t *vm);

/* ---- natives (gw_jsvm_api.c) -------------------------------------------------------------- */
/** Registers log, rawlog, b64*, TykMakeHttpRequest, TykGetKeyData, TykSetKeyData,
 *  TykBatchRequest on the global object of @ctx. */
void gw_jsvm_natives_register(struct duk_hthread *ctx);

/** TykBatchRequest(json): runs the batch's requests (relative_url is a full URL) and returns
 *  Tyk's reply array as a JSON string, or undefined when the batch does not decode
 *  (gw_jsvm_batch.c). */
int gw_jsvm_batch_request(struct duk_hthread *ctx);

/* What natives may use while a call runs on this thread. */
typedef struct gw_jsvm_call_ctx {
    const gw_conf_t *conf;
    const char *api_id;   /* copies held by the VM: the API may be unloaded meanwhile */
    bool api_insecure;    /* the API's ssl_insecure_skip_verify */
    gw_server_t *srv;     /* for cache evictions (thread-safe mailbox posts) */
    uint64_t deadline_ns; /* monotonic */
} gw_jsvm_call_ctx_t;

/** malloc'd printf (aborts when out of memory, as tk_xmalloc does). */
char *gw_jsvm_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Around a native that holds malloc'd resources while calling duktape: a deadline found by
 *  the allocator must not longjmp through it (the interrupt check takes over afterwards). */
void gw_jsvm_native_enter(void);
void gw_jsvm_native_leave(void);

/** The call running on this thread (NULL outside gw_jsvm_call). */
const gw_jsvm_call_ctx_t *gw_jsvm_current(void);

#endif
