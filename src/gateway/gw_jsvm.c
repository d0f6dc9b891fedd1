/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-API script sets and per-JS-thread duktape heaps (gw_jsvm.h).
 *
 * Every heap allocation goes through a counting allocator that keeps the blocks on a list: the
 * cap is enforced there, and a heap we must abandon (timeout) is freed block by block without
 * asking duktape. A timeout does not throw a catchable JS error (a script could catch it and
 * loop again): the interrupt hook raises a fatal error whose handler longjmps back to
 * gw_jsvm_call, which drops the heap.
 */
#include "gw_jsvm.h"

#include "gw_endpoints.h"
#include "gw_jsvm_pool.h"
#include "tk_base64.h"
#include "tk_log.h"

#include <duktape.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern const char gw_jsvm_prelude[];
extern const size_t gw_jsvm_prelude_len;

/* One allocation: the header keeps every live block of a heap on a list. */
typedef struct blk {
    struct blk *prev, *next;
    size_t size;
    size_t pad; /* keeps the payload 16-byte aligned */
} blk_t;

#define SMALL_STEP 16
#define SMALL_MAX 512
#define SMALL_CLASSES (SMALL_MAX / SMALL_STEP)
#define SMALL_KEEP 256 /* cached blocks per class */

typedef struct heap {
    duk_context *ctx;
    blk_t *blocks;
    blk_t *cache[SMALL_CLASSES]; /* free small blocks by class (linked through next) */
    uint32_t ncache[SMALL_CLASSES];
    size_t used, cap;
    uint64_t deadline_ns; /* 0 = no deadline */
    uint64_t allocs;
    bool timed_out, nomem, escaping;
    jmp_buf escape; /* set while a call runs */
} heap_t;

typedef struct script {
    char *label; /* file path or "virtual <name>" */
    char *src;
    size_t len;
} script_t;

struct gw_jsvm {
    gw_jsvm_t *next; /* registry list */
    const gw_api_t *api;
    int refs; /* owners (middlewares): at 0 the VM leaves the registry */
    int jobs; /* calls in flight on JS threads: the VM is freed when both reach 0 */
    const gw_conf_t *conf;
    char *api_id;
    bool api_insecure;
    uint64_t timeout_ns;
    char *spec_json;
    script_t *scripts;
    size_t nscripts;
    heap_t **heaps; /* by thread slot (thread_slot()) */
    size_t nheaps;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static gw_jsvm_t *registry;
static _Thread_local const gw_jsvm_call_ctx_t *current_call;

/* Each thread that runs scripts (the JS pool's, or a worker without a pool) gets a slot of its
 * own in every VM's heap table, so no two threads ever share a heap. */
static atomic_int slots_used;
static _Thread_local int my_slot = -1;

static size_t thread_slot(void)
{
    if (my_slot < 0)
        my_slot = atomic_fetch_add(&slots_used, 1);
    return (size_t)my_slot;
}

char *gw_jsvm_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (!s)
        abort();
    return s;
}

const gw_jsvm_call_ctx_t *gw_jsvm_current(void)
{
    gw_jsvm_pool_flush(); /* natives ask before anything that may block */
    return current_call;
}

const char *gw_jsvm_spec_json(const gw_jsvm_t *vm)
{
    return vm->spec_json;
}

bool gw_jsvm_driver_is_js(const gw_api_t *api)
{
    const char *d = json_string_value(
        json_object_get(json_object_get(api->def, "custom_middleware"), "driver"));
    /* "otto" (classic) and the newer goja-based driver run the same TykJS API. */
    return !d || !*d || strcmp(d, "otto") == 0 || strcmp(d, "javascript") == 0 ||
           strcmp(d, "goja") == 0;
}

/* ---- allocator --------------------------------------------------------------------------- */

/* Native built-ins (a huge Array.join, a regex) run without the executor's interrupt checks,
 * but they allocate: every so many allocations the deadline is checked here too. */
static _Thread_local int natives_running;

void gw_jsvm_native_enter(void)
{
    natives_running++;
}

void gw_jsvm_native_leave(void)
{
    natives_running--;
}

static void h_check_deadline(heap_t *h)
{
    if (++h->allocs % 256 == 0 && !natives_running && h->escaping && h->deadline_ns &&
        tk_now_ns() >= h->deadline_ns) {
        h->timed_out = true;
        duk_fatal(h->ctx, "jsvm timeout"); /* longjmps to the running call */
    }
}

/* Small blocks are rounded up to 16-byte classes and recycled through per-class free lists:
 * duktape frees and reallocates small objects on every call (reference counting), and the
 * round trip through malloc was a large part of a call's cost. */
static size_t class_of(size_t size)
{
    return size ? (size - 1) / SMALL_STEP : 0;
}

static size_t class_cap(size_t size)
{
    return (class_of(size) + 1) * SMALL_STEP;
}

static void h_link(heap_t *h, blk_t *b)
{
    b->prev = NULL;
    b->next = h->blocks;
    if (h->blocks)
        h->blocks->prev = b;
    h->blocks = b;
}

static void *h_alloc(void *udata, duk_size_t size)
{
    heap_t *h = udata;
    h_check_deadline(h);
    if (h->used + size > h->cap) {
        h->nomem = true;
        return NULL;
    }
    blk_t *b = NULL;
    if (size <= SMALL_MAX) {
        size_t c = class_of(size);
        b = h->cache[c];
        if (b) {
            h->cache[c] = b->next;
            h->ncache[c]--;
        } else {
            b = malloc(sizeof(*b) + class_cap(size));
        }
    } else {
        b = malloc(sizeof(*b) + size);
    }
    if (!b)
        return NULL;
    b->size = size;
    h_link(h, b);
    h->used += size;
    return b + 1;
}

static void h_unlink(heap_t *h, blk_t *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        h->blocks = b->next;
    if (b->next)
        b->next->prev = b->prev;
}

static void h_free(void *udata, void *ptr)
{
    if (!ptr)
        return;
    heap_t *h = udata;
    blk_t *b = (blk_t *)ptr - 1;
    h_unlink(h, b);
    h->used -= b->size;
    if (b->size <= SMALL_MAX) {
        size_t c = class_of(b->size);
        if (h->ncache[c] < SMALL_KEEP) {
            b->next = h->cache[c];
            h->cache[c] = b;
            h->ncache[c]++;
            return;
        }
    }
    free(b);
}

static void *h_realloc(void *udata, void *ptr, duk_size_t size)
{
    heap_t *h = udata;
    if (!ptr)
        return h_alloc(udata, size);
    if (size == 0) {
        h_free(udata, ptr);
        return NULL;
    }
    h_check_deadline(h);
    blk_t *b = (blk_t *)ptr - 1;
    if (size > b->size && h->used + (size - b->size) > h->cap) {
        h->nomem = true;
        return NULL;
    }
    if (b->size <= SMALL_MAX && size <= SMALL_MAX && class_of(b->size) == class_of(size)) {
        h->used = h->used - b->size + size; /* fits the block's class */
        b->size = size;
        return ptr;
    }
    if (b->size <= SMALL_MAX || size <= SMALL_MAX) {
        /* crossing classes: a fresh block keeps every small block at its class size */
        void *n = h_alloc(udata, size);
        if (!n)
            return NULL;
        memcpy(n, ptr, b->size < size ? b->size : size);
        h_free(udata, ptr);
        return n;
    }
    h_unlink(h, b);
    blk_t *nb = realloc(b, sizeof(*nb) + size);
    bool failed = nb == NULL;
    if (failed)
        nb = b; /* the old block is still valid: relink it */
    else {
        h->used = h->used - nb->size + size;
        nb->size = size;
    }
    h_link(h, nb);
    return failed ? NULL : (void *)(nb + 1);
}

static void h_fatal(void *udata, const char *msg)
{
    heap_t *h = udata;
    if (h->escaping)
        longjmp(h->escape, 1);
    /* Outside a call nothing can recover: duktape must not continue. */
    tk_log_error("jsvm: fatal error outside a call: %s", msg ? msg : "");
    abort();
}

int gw_jsvm_exec_timeout(void *heap_udata)
{
    heap_t *h = heap_udata;
    gw_jsvm_pool_flush_if_due(); /* a long script does not hold back finished requests */
    if (!h || !h->deadline_ns || tk_now_ns() < h->deadline_ns)
        return 0;
    h->timed_out = true;
    if (h->escaping)
        duk_fatal(h->ctx, "jsvm timeout"); /* does not return */
    return 1;
}

/* Frees every block of an abandoned heap (duktape's state is not consulted). */
static void heap_drop(heap_t *h)
{
    if (!h)
        return;
    if (!h->timed_out && !h->escaping && h->ctx) {
        duk_destroy_heap(h->ctx);
    }
    blk_t *b = h->blocks;
    while (b) {
        blk_t *n = b->next;
        free(b);
        b = n;
    }
    for (size_t c = 0; c < SMALL_CLASSES; c++) {
        for (b = h->cache[c]; b;) {
            blk_t *n = b->next;
            free(b);
            b = n;
        }
    }
    free(h);
}

/* ---- heaps -------------------------------------------------------------------------------- */

static void err_text(duk_context *ctx, char **err)
{
    if (!err)
        return;
    const char *s = NULL;
    if (duk_is_error(ctx, -1) && duk_get_prop_string(ctx, -1, "stack")) {
        s = duk_safe_to_string(ctx, -1);
        *err = tk_xstrdup(s ? s : "error");
        duk_pop(ctx);
        return;
    }
    duk_pop(ctx);
    s = duk_safe_to_string(ctx, -1);
    *err = tk_xstrdup(s ? s : "error");
}

/* Evaluates one source in @h; TK_ERROR with *@err on failure. Runs under h->escape. */
static int heap_eval(heap_t *h, const char *label, const char *src, size_t len, char **err)
{
    duk_context *ctx = h->ctx;
    duk_push_string(ctx, label);
    if (duk_pcompile_lstring_filename(ctx, 0, src, len) != 0) {
        err_text(ctx, err);
        duk_pop(ctx);
        return TK_ERROR;
    }
    if (duk_pcall(ctx, 0) != DUK_EXEC_SUCCESS) {
        err_text(ctx, err);
        duk_pop(ctx);
        return TK_ERROR;
    }
    duk_pop(ctx);
    return TK_OK;
}

static heap_t *heap_new(void)
{
    heap_t *h = tk_xcalloc(1, sizeof(*h));
    h->cap = GW_JSVM_MEM_CAP;
    h->ctx = duk_create_heap(h_alloc, h_realloc, h_free, h, h_fatal);
    if (!h->ctx) {
        heap_drop(h);
        return NULL;
    }
    return h;
}

/*
 * A heap with the prelude, tyk_js_path and every script loaded. The deadline covers the whole
 * load (a script looping at top level cannot hang a worker or a reload). NULL with *@err.
 */
static heap_t *heap_build(const gw_jsvm_t *vm, const char *user_js, size_t user_len, char **err)
{
    heap_t *volatile h = heap_new();
    if (!h) {
        *err = tk_xstrdup("cannot create a JS heap");
        return NULL;
    }
    h->deadline_ns = tk_now_ns() + vm->timeout_ns;
    h->escaping = true;
    if (setjmp(h->escape)) {
        *err = tk_xstrdup(h->timed_out ? "script did not finish within jsvm_timeout"
                                       : "script failed fatally");
        heap_drop(h);
        return NULL;
    }
    gw_jsvm_natives_register(h->ctx);
    int rc = heap_eval(h, "turnpike.js", gw_jsvm_prelude, gw_jsvm_prelude_len, err);
    if (rc == TK_OK && user_js)
        rc = heap_eval(h, "tyk_js_path", user_js, user_len, err);
    for (size_t i = 0; rc == TK_OK && i < vm->nscripts; i++) {
        char *e = NULL;
        rc = heap_eval(h, vm->scripts[i].label, vm->scripts[i].src, vm->scripts[i].len, &e);
        if (rc != TK_OK) {
            *err = gw_jsvm_printf("%s: %s", vm->scripts[i].label, e ? e : "error");
            free(e);
        }
    }
    h->escaping = false;
    h->deadline_ns = 0;
    if (rc != TK_OK || h->nomem) {
        if (rc == TK_OK)
            *err = tk_xstrdup("scripts exceed the JS heap cap");
        heap_drop(h);
        return NULL;
    }
    return h;
}

static char *read_whole(const char *path, size_t *len, char **why)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *why = gw_jsvm_printf("%s", strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = tk_xmalloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            cap *= 2;
            buf = tk_xrealloc(buf, cap);
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---- loading ------------------------------------------------------------------------------ */

static void add_script(gw_jsvm_t *vm, char *label, char *src, size_t len)
{
    vm->scripts = tk_xrealloc(vm->scripts, (vm->nscripts + 1) * sizeof(*vm->scripts));
    vm->scripts[vm->nscripts++] = (script_t){label, src, len};
}

static bool add_file(gw_jsvm_t *vm, const gw_api_t *api, const char *what, const char *path,
                     tk_conf_errors_t *errs)
{
    if (!path || !*path)
        return true;
    char *why = NULL;
    size_t len = 0;
    char *src = read_whole(path, &len, &why);
    if (!src) {
        tk_conf_errors_add(errs, "%s: API %s: %s: cannot read %s: %s", api->file, api->api_id, what,
                           path, why);
        free(why);
        return false;
    }
    add_script(vm, tk_xstrdup(path), src, len);
    return true;
}

static bool add_mw_list(gw_jsvm_t *vm, const gw_api_t *api, json_t *cm, const char *kind,
                        tk_conf_errors_t *errs)
{
    bool ok = true;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(cm, kind), i, m)
    {
        if (json_is_true(json_object_get(m, "disabled")))
            continue;
        char what[64];
        snprintf(what, sizeof(what), "custom_middleware.%s[%zu]", kind, i);
        ok &= add_file(vm, api, what, json_string_value(json_object_get(m, "path")), errs);
    }
    return ok;
}

static bool add_virtuals(gw_jsvm_t *vm, const gw_api_t *api, const gw_conf_t *conf,
                         tk_conf_errors_t *errs)
{
    bool ok = true;
    const gw_versions_t *vs = api->versions;
    for (size_t v = 0; vs && v < vs->n; v++) {
        for (size_t i = 0; i < vs->v[v].n_eps[GW_EP_VIRTUAL]; i++) {
            json_t *e = vs->v[v].eps[GW_EP_VIRTUAL][i].entry;
            const char *type = json_string_value(json_object_get(e, "function_source_type"));
            const char *uri = json_string_value(json_object_get(e, "function_source_uri"));
            char what[160];
            snprintf(what, sizeof(what), "version %s: virtual[%zu]", vs->v[v].name, i);
            if (type && strcmp(type, "file") == 0) {
                ok &= add_file(vm, api, what, uri, errs);
            } else if (type && strcmp(type, "blob") == 0) {
                if (conf->disable_virtual_path_blobs) {
                    tk_log_error("%s: API %s: %s: blobs not allowed on this node "
                                 "(disable_virtual_path_blobs)",
                                 api->file, api->api_id, what);
                    continue;
                }
                size_t n = 0;
                unsigned char *js = uri ? tk_b64_decode(uri, strlen(uri), false, true, &n) : NULL;
                if (!js) {
                    tk_conf_errors_add(errs, "%s: API %s: %s: function_source_uri is not base64",
                                       api->file, api->api_id, what);
                    ok = false;
                    continue;
                }
                add_script(vm, gw_jsvm_printf("%s (blob)", what), (char *)js, n);
            } else {
                tk_conf_errors_add(errs,
                                   "%s: API %s: %s: function_source_type must be file or blob",
                                   api->file, api->api_id, what);
                ok = false;
            }
        }
    }
    return ok;
}

static char *make_spec_json(const gw_api_t *api)
{
    json_t *o = json_pack("{s:s,s:s}", "OrgID", api->org_id ? api->org_id : "", "APIID",
                          api->api_id ? api->api_id : "");
    if (!json_is_true(json_object_get(api->def, "config_data_disabled"))) {
        json_t *cd = json_object_get(api->def, "config_data");
        json_object_set(o, "config_data", cd ? cd : json_null());
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void vm_free(gw_jsvm_t *vm)
{
    for (size_t i = 0; i < vm->nheaps; i++)
        heap_drop(vm->heaps[i]);
    free(vm->heaps);
    for (size_t i = 0; i < vm->nscripts; i++) {
        free(vm->scripts[i].label);
        free(vm->scripts[i].src);
    }
    free(vm->scripts);
    free(vm->spec_json);
    free(vm->api_id);
    free(vm);
}

static char *user_js;
static size_t user_js_len;
static bool user_js_read;

gw_jsvm_t *gw_jsvm_acquire(const gw_api_t *api, const gw_conf_t *conf, tk_conf_errors_t *errs)
{
    pthread_mutex_lock(&registry_lock);
    for (gw_jsvm_t *v = registry; v; v = v->next) {
        if (v->api == api) {
            v->refs++;
            pthread_mutex_unlock(&registry_lock);
            return v;
        }
    }
    if (!user_js_read && conf->tyk_js_path && *conf->tyk_js_path) {
        char *why = NULL;
        user_js = read_whole(conf->tyk_js_path, &user_js_len, &why);
        if (!user_js)
            tk_log_error("jsvm: cannot read tyk_js_path %s: %s", conf->tyk_js_path, why);
        free(why);
    }
    user_js_read = true;
    gw_jsvm_t *vm = tk_xcalloc(1, sizeof(*vm));
    vm->api = api;
    vm->refs = 1;
    vm->conf = conf;
    vm->timeout_ns = (uint64_t)(conf->jsvm_timeout > 0 ? conf->jsvm_timeout : 5) * 1000000000ull;
    vm->spec_json = make_spec_json(api);
    vm->api_id = tk_xstrdup(api->api_id ? api->api_id : "");
    vm->api_insecure = api->ssl_insecure_skip_verify;
    json_t *cm = json_object_get(api->def, "custom_middleware");
    bool ok = true;
    if (gw_jsvm_driver_is_js(api)) {
        ok &= add_mw_list(vm, api, cm, "pre", errs);
        ok &= add_mw_list(vm, api, cm, "post_key_auth", errs);
        ok &= add_mw_list(vm, api, cm, "post", errs);
        json_t *ac = json_object_get(cm, "auth_check");
        if (!json_is_true(json_object_get(ac, "disabled")))
            ok &= add_file(vm, api, "custom_middleware.auth_check",
                           json_string_value(json_object_get(ac, "path")), errs);
    }
    ok &= add_virtuals(vm, api, conf, errs);
    if (ok) {
        /* Load everything once now: syntax errors are reported at load, not per request. */
        char *err = NULL;
        heap_t *h = heap_build(vm, user_js, user_js_len, &err);
        if (!h) {
            tk_conf_errors_add(errs, "%s: API %s: JSVM: %s", api->file, api->api_id,
                               err ? err : "cannot load scripts");
            ok = false;
        }
        free(err);
        heap_drop(h);
    }
    if (!ok) {
        pthread_mutex_unlock(&registry_lock);
        vm_free(vm);
        return NULL;
    }
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    size_t n = 64;
    /* a slot per JS thread (the pool, or workers when there is none) */
    if (conf->turnpike_workers > 0 && (size_t)conf->turnpike_workers > n)
        n = (size_t)conf->turnpike_workers;
    if (conf->turnpike_jsvm_threads > 0 && (size_t)conf->turnpike_jsvm_threads > n)
        n = (size_t)conf->turnpike_jsvm_threads;
    if (cpus > 0 && (size_t)cpus > n)
        n = (size_t)cpus;
    vm->heaps = tk_xcalloc(n, sizeof(*vm->heaps));
    vm->nheaps = n;
    vm->next = registry;
    registry = vm;
    pthread_mutex_unlock(&registry_lock);
    return vm;
}

gw_jsvm_t *gw_jsvm_job_hold(gw_jsvm_t *vm)
{
    pthread_mutex_lock(&registry_lock);
    vm->jobs++;
    pthread_mutex_unlock(&registry_lock);
    return vm;
}

void gw_jsvm_job_drop(gw_jsvm_t *vm)
{
    if (!vm)
        return;
    pthread_mutex_lock(&registry_lock);
    bool last = --vm->jobs == 0 && vm->refs == 0;
    pthread_mutex_unlock(&registry_lock);
    if (last)
        vm_free(vm);
}

void gw_jsvm_release(gw_jsvm_t *vm)
{
    if (!vm)
        return;
    pthread_mutex_lock(&registry_lock);
    if (--vm->refs == 0) {
        /* Unlinked now (its API is going away, and a new one may reuse the address); freed
         * when the last job in flight is done with it. */
        for (gw_jsvm_t **p = &registry; *p; p = &(*p)->next) {
            if (*p == vm) {
                *p = vm->next;
                break;
            }
        }
    }
    bool last = vm->refs == 0 && vm->jobs == 0;
    pthread_mutex_unlock(&registry_lock);
    if (last)
        vm_free(vm);
}

/* ---- calls -------------------------------------------------------------------------------- */

enum gw_jsvm_rc gw_jsvm_invoke(gw_jsvm_t *vm, gw_server_t *srv, const char *obj, const char *fn,
                               size_t nargs, gw_jsvm_push_fn push, gw_jsvm_read_fn read, void *arg,
                               char **err)
{
    *err = NULL;
    size_t id = thread_slot();
    if (id >= vm->nheaps) {
        *err = tk_xstrdup("no JS heap slot for this thread");
        return GW_JSVM_ERROR;
    }
    if (!vm->heaps[id]) {
        vm->heaps[id] = heap_build(vm, user_js, user_js_len, err);
        if (!vm->heaps[id])
            return GW_JSVM_ERROR;
    }
    heap_t *volatile h = vm->heaps[id];
    duk_context *ctx = h->ctx;
    gw_jsvm_call_ctx_t cc = {vm->conf, vm->api_id, vm->api_insecure, srv, 0};
    h->timed_out = false;
    h->nomem = false;
    h->deadline_ns = cc.deadline_ns = tk_now_ns() + vm->timeout_ns;
    current_call = &cc;
    natives_running = 0; /* a native that threw never left */
    h->escaping = true;
    if (setjmp(h->escape)) {
        /* Timeout (or a fatal error): the heap is abandoned. */
        current_call = NULL;
        enum gw_jsvm_rc rc = h->timed_out ? GW_JSVM_TIMEOUT : GW_JSVM_ERROR;
        free(*err);
        *err = tk_xstrdup(h->timed_out ? "JS middleware timed out" : "JS fatal error");
        vm->heaps[id] = NULL;
        heap_drop(h);
        return rc;
    }
    enum gw_jsvm_rc rc = GW_JSVM_OK;
    duk_idx_t top = duk_get_top(ctx);
    bool ok;
    if (obj) {
        ok = duk_get_global_string(ctx, obj) && duk_is_object(ctx, -1);
        if (ok)
            duk_push_string(ctx, fn);
    } else {
        ok = duk_get_global_string(ctx, fn) && duk_is_callable(ctx, -1);
    }
    if (!ok) {
        *err = gw_jsvm_printf("%s%s%s is not defined", obj ? obj : "", obj ? "." : "", fn);
        rc = GW_JSVM_ERROR;
    } else {
        push(ctx, arg);
        int r = obj ? duk_pcall_prop(ctx, top, (duk_idx_t)nargs) : duk_pcall(ctx, (duk_idx_t)nargs);
        if (r != DUK_EXEC_SUCCESS) {
            err_text(ctx, err);
            rc = h->nomem ? GW_JSVM_NOMEM : GW_JSVM_ERROR;
        } else if (read(ctx, arg, err) != TK_OK) {
            rc = GW_JSVM_ERROR;
        }
    }
    duk_set_top(ctx, top);
    h->escaping = false;
    h->deadline_ns = 0;
    current_call = NULL;
    if (h->nomem) {
        /* Whatever the script kept alive may still fill the heap: start afresh next time. */
        if (rc == GW_JSVM_OK)
            *err = tk_xstrdup("JS heap cap reached");
        rc = GW_JSVM_NOMEM;
        vm->heaps[id] = NULL;
        heap_drop(h);
    }
    return rc;
}

struct json_call {
    const char *const *args;
    size_t nargs;
    char *out;
};

static void push_json_args(duk_context *ctx, void *arg)
{
    struct json_call *c = arg;
    for (size_t i = 0; i < c->nargs; i++) {
        duk_push_string(ctx, c->args[i]);
        duk_json_decode(ctx, -1); /* our own JSON: cannot throw outside memory limits */
    }
}

static int read_string(duk_context *ctx, void *arg, char **err)
{
    struct json_call *c = arg;
    if (!duk_is_string(ctx, -1)) {
        *err = tk_xstrdup("the script did not return a JSON string");
        return TK_ERROR;
    }
    duk_size_t n = 0;
    const char *s = duk_get_lstring(ctx, -1, &n);
    c->out = malloc(n + 1); /* plain malloc: an allocator escape cannot happen after this */
    if (!c->out)
        abort();
    memcpy(c->out, s, n);
    c->out[n] = '\0';
    return TK_OK;
}

enum gw_jsvm_rc gw_jsvm_call(gw_jsvm_t *vm, gw_server_t *srv, const char *obj, const char *fn,
                             const char *const *args, size_t nargs, char **out, char **err)
{
    struct json_call c = {args, nargs, NULL};
    enum gw_jsvm_rc rc =
        gw_jsvm_invoke(vm, srv, obj, fn, nargs, push_json_args, read_string, &c, err);
    if (rc != GW_JSVM_OK) {
        free(c.out);
        c.out = NULL;
    }
    *out = c.out;
    return rc;
}
