/* SPDX-License-Identifier: Apache-2.0 */
/* Executes a compiled template the way Go's text/template walks its tree. */
#include "tk_template_int.h"

#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_MAX_OUTPUT (16u << 20)
#define DEFAULT_MAX_STEPS 10000000u
#define DEFAULT_MAX_DEPTH 100u

struct var {
    const char *name;
    json_t *val; /* owned; NULL = no value */
};

enum ctl { CTL_NONE = 0, CTL_BREAK, CTL_CONTINUE };

struct exec {
    const tk_tmpl_t *t;
    struct tt_buf out;
    struct var *vars;
    size_t nvars, capvars;
    uint64_t steps, max_steps;
    unsigned depth, max_depth;
    char *err;
    enum ctl ctl;
};

/* ---- errors ------------------------------------------------------------------------------ */

static void xerr(struct exec *x, const struct tt_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void xerr(struct exec *x, const struct tt_node *at, const char *fmt, ...)
{
    if (x->err)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct tt_buf b = {0};
    if (at)
        tt_buf_printf(&b, "%u:%u: executing at <%s>: %s", at->line, at->col,
                      at->text ? at->text : "", msg);
    else
        tt_buf_printf(&b, "%s", msg);
    x->err = b.p ? b.p : tk_xstrdup(msg);
}

static bool step(struct exec *x, const struct tt_node *at)
{
    if (x->err)
        return false;
    if (++x->steps > x->max_steps) {
        xerr(x, at, "template execution exceeded %llu steps", (unsigned long long)x->max_steps);
        return false;
    }
    if (x->out.over) {
        xerr(x, at, "template output exceeds %zu bytes", x->out.max);
        return false;
    }
    return true;
}

/* ---- variables --------------------------------------------------------------------------- */

static void var_push(struct exec *x, const char *name, json_t *val)
{
    if (x->nvars == x->capvars) {
        x->capvars = x->capvars ? x->capvars * 2 : 16;
        x->vars = tk_xrealloc(x->vars, x->capvars * sizeof(*x->vars));
    }
    x->vars[x->nvars].name = name;
    x->vars[x->nvars].val = val;
    x->nvars++;
}

static void var_pop(struct exec *x, size_t mark)
{
    while (x->nvars > mark) {
        x->nvars--;
        json_decref(x->vars[x->nvars].val);
    }
}

static struct var *var_find(struct exec *x, const char *name)
{
    for (size_t i = x->nvars; i > 0; i--) {
        if (strcmp(x->vars[i - 1].name, name) == 0)
            return &x->vars[i - 1];
    }
    return NULL;
}

/* Sets the i-th variable from the top (1 = top), as Go's setTopVar. Steals @val. */
static void var_set_top(struct exec *x, size_t i, json_t *val)
{
    struct var *v = &x->vars[x->nvars - i];
    json_decref(v->val);
    v->val = val;
}

/* ---- values ------------------------------------------------------------------------------ */

static json_t *ref(json_t *v)
{
    return v ? json_incref(v) : NULL;
}

/* A nil interface{} out of a pipeline becomes "no value", as reflect.ValueOf(nil) is invalid. */
static json_t *unwrap(json_t *v)
{
    if (v && json_is_null(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static json_t *number_value(const struct tt_node *n)
{
    /* Go's idealConstant: text with '.', 'e' or 'p' (not hex ints) is float64, else int. */
    bool looks_float = n->is_float && strpbrk(n->text, ".eEpP") &&
                       !(strstr(n->text, "0x") || strstr(n->text, "0X")) && n->text[0] != '\'';
    if (strpbrk(n->text, "pP") && (strstr(n->text, "0x") || strstr(n->text, "0X")))
        looks_float = true;
    if (looks_float || !n->is_int)
        return json_real(n->fval);
    return json_integer(n->ival);
}

static json_t *eval_pipe(struct exec *x, json_t *dot, const struct tt_pipe *pipe);
static json_t *eval_arg(struct exec *x, json_t *dot, const struct tt_node *n, enum tt_param p);

/* Go's evalField over a map (our only kind of struct-like value). */
static json_t *eval_field(struct exec *x, const struct tt_node *at, const char *name,
                          json_t *receiver, bool has_args, bool root)
{
    if (!receiver)
        return NULL;
    if (json_is_null(receiver)) {
        xerr(x, at, "nil pointer evaluating interface {}.%s", name);
        return NULL;
    }
    if (json_is_object(receiver)) {
        if (has_args) {
            xerr(x, at, "%s is not a method but has arguments", name);
            return NULL;
        }
        return ref(json_object_get(receiver, name));
    }
    xerr(x, at, "can't evaluate field %s in type %s", name,
         root ? tt_type_name(receiver) : "interface {}");
    return NULL;
}

/* Walks @ids from @receiver (borrowed); the last step sees the arguments. New reference. */
static json_t *eval_field_chain(struct exec *x, const struct tt_node *at, json_t *receiver,
                                const char **ids, size_t nids, bool has_args, bool root)
{
    json_t *cur = ref(receiver);
    for (size_t i = 0; i < nids; i++) {
        json_t *next = eval_field(x, at, ids[i], cur, i + 1 == nids && has_args, root && i == 0);
        json_decref(cur);
        if (x->err) {
            json_decref(next);
            return NULL;
        }
        cur = next;
    }
    return cur;
}

static bool not_a_function(struct exec *x, const struct tt_node *first, bool has_final)
{
    if (first->next || has_final) {
        xerr(x, first, "can't give argument to non-function %s", first->text);
        return false;
    }
    return true;
}

/* Converts a value headed for a typed parameter as Go's validateType does. */
static json_t *validate(struct exec *x, const struct tt_node *at, json_t *v, enum tt_param p)
{
    if (x->err)
        return v;
    switch (p) {
    case TP_ANY:
        return v;
    case TP_STRING:
        if (v && json_is_string(v))
            return v;
        break;
    case TP_INT:
        if (v && json_is_integer(v))
            return v;
        break;
    case TP_BOOL:
        if (v && json_is_boolean(v))
            return v;
        break;
    case TP_MAP:
        if (!v || json_is_object(v))
            return v;
        break;
    }
    static const char *names[] = {"interface {}", "string", "int", "bool",
                                  "map[string]interface {}"};
    const char *want = (size_t)p < TK_ARRAY_LEN(names) ? names[p] : "?";
    if (!v || json_is_null(v))
        xerr(x, at, "invalid value; expected %s", want);
    else
        xerr(x, at, "wrong type for value; expected %s; got %s", want, tt_type_name(v));
    json_decref(v);
    return NULL;
}

static json_t *call_function(struct exec *x, json_t *dot, const struct tt_node *ident,
                             const struct tt_node *args, json_t *final, bool has_final)
{
    const struct tt_func *fn = ident->fn;
    size_t nargs = 0;
    for (const struct tt_node *a = args; a; a = a->next)
        nargs++;
    size_t numin = nargs + (has_final ? 1 : 0);
    if (fn->variadic) {
        if (numin < (size_t)fn->nparams) {
            xerr(x, ident, "wrong number of args for %s: want at least %d got %zu", fn->name,
                 fn->nparams, numin);
            return NULL;
        }
    } else if (numin != (size_t)fn->nparams) {
        xerr(x, ident, "wrong number of args for %s: want %d got %zu", fn->name, fn->nparams,
             numin);
        return NULL;
    }
    /* and / or evaluate lazily and return the deciding operand itself. */
    if (fn->special == TT_SPECIAL_AND || fn->special == TT_SPECIAL_OR) {
        bool want = fn->special == TT_SPECIAL_OR;
        json_t *v = NULL;
        for (const struct tt_node *a = args; a; a = a->next) {
            json_decref(v);
            v = eval_arg(x, dot, a, TP_ANY);
            if (x->err) {
                json_decref(v);
                return NULL;
            }
            if (tt_truth(v) == want)
                return v;
        }
        if (has_final) {
            json_decref(v);
            v = ref(final);
        }
        return v;
    }
    json_t *stackv[8];
    json_t **argv = numin <= 8 ? stackv : tk_xcalloc(numin, sizeof(*argv));
    size_t i = 0;
    for (const struct tt_node *a = args; a; a = a->next, i++) {
        int pi = (int)i < fn->nparams ? (int)i : fn->nparams - 1;
        enum tt_param p = fn->variadic && (int)i >= fn->nparams ? fn->params[fn->nparams]
                                                                : fn->params[pi < 0 ? 0 : pi];
        argv[i] = x->err ? NULL : eval_arg(x, dot, a, p);
    }
    if (has_final) {
        enum tt_param p =
            fn->variadic && (int)i >= fn->nparams ? fn->params[fn->nparams] : fn->params[i];
        argv[i] = validate(x, ident, ref(final), p);
        i++;
    }
    json_t *result = NULL;
    if (!x->err) {
        struct tt_call c = {.argv = argv, .argc = numin, .max_depth = x->max_depth};
        result = fn->fn(&c);
        if (c.err) {
            json_decref(result);
            result = NULL;
            xerr(x, ident, "error calling %s: %s", fn->name, c.err);
            free(c.err);
        }
    }
    for (size_t k = 0; k < numin; k++)
        json_decref(argv[k]);
    if (argv != stackv)
        free(argv);
    return result;
}

/* One command of a pipeline; @final is the previous stage's value. New reference. */
static json_t *eval_command(struct exec *x, json_t *dot, const struct tt_cmd *cmd, json_t *final,
                            bool has_final)
{
    const struct tt_node *first = cmd->args;
    if (!step(x, first))
        return NULL;
    bool has_args = first->next != NULL || has_final;
    switch (first->kind) {
    case TT_FIELD:
        return eval_field_chain(x, first, dot, first->ids, first->nids, has_args, true);
    case TT_CHAIN: {
        if (first->base->kind == TT_NIL) {
            xerr(x, first, "indirection through explicit nil in %s", first->text);
            return NULL;
        }
        json_t *base = eval_arg(x, dot, first->base, TP_ANY);
        if (x->err) {
            json_decref(base);
            return NULL;
        }
        json_t *r = eval_field_chain(x, first, base, first->ids, first->nids, has_args, false);
        json_decref(base);
        return r;
    }
    case TT_VAR: {
        struct var *v = var_find(x, first->name);
        if (!v) {
            xerr(x, first, "undefined variable: %s", first->name);
            return NULL;
        }
        if (first->nids == 0)
            return not_a_function(x, first, has_final) ? ref(v->val) : NULL;
        return eval_field_chain(x, first, v->val, first->ids, first->nids, has_args, false);
    }
    case TT_IDENT:
        return call_function(x, dot, first, first->next, final, has_final);
    case TT_PIPE:
        if (!not_a_function(x, first, has_final))
            return NULL;
        return eval_pipe(x, dot, first->pipe);
    case TT_DOT:
        return not_a_function(x, first, has_final) ? ref(dot) : NULL;
    case TT_NIL:
        xerr(x, first, "nil is not a command");
        return NULL;
    case TT_BOOL:
        return not_a_function(x, first, has_final) ? json_boolean(first->bval) : NULL;
    case TT_NUMBER:
        return not_a_function(x, first, has_final) ? number_value(first) : NULL;
    case TT_STRING:
        return not_a_function(x, first, has_final) ? json_stringn_nocheck(first->str, first->slen)
                                                   : NULL;
    default:
        xerr(x, first, "can't evaluate command %s", first->text ? first->text : "");
        return NULL;
    }
}

/* An argument to a function, with Go's rules for literals headed to typed parameters. */
static json_t *eval_arg(struct exec *x, json_t *dot, const struct tt_node *n, enum tt_param p)
{
    if (!step(x, n))
        return NULL;
    switch (n->kind) {
    case TT_DOT:
        return validate(x, n, ref(dot), p);
    case TT_NIL:
        if (p == TP_ANY || p == TP_MAP)
            return NULL;
        xerr(x, n, "cannot assign nil to %s",
             p == TP_STRING ? "string"
             : p == TP_INT  ? "int"
                            : "bool");
        return NULL;
    case TT_FIELD:
        return validate(x, n, eval_field_chain(x, n, dot, n->ids, n->nids, false, true), p);
    case TT_VAR:
    case TT_CHAIN: {
        struct tt_cmd c = {.args = (struct tt_node *)n};
        /* Evaluated as a lone command: no arguments, no pipeline value. */
        struct tt_node copy = *n;
        copy.next = NULL;
        c.args = &copy;
        return validate(x, n, eval_command(x, dot, &c, NULL, false), p);
    }
    case TT_PIPE:
        return validate(x, n, eval_pipe(x, dot, n->pipe), p);
    case TT_IDENT:
        return validate(x, n, call_function(x, dot, n, NULL, NULL, false), p);
    default:
        break;
    }
    switch (p) {
    case TP_BOOL:
        if (n->kind == TT_BOOL)
            return json_boolean(n->bval);
        xerr(x, n, "expected bool; found %s", n->text);
        return NULL;
    case TP_STRING:
        if (n->kind == TT_STRING)
            return json_stringn_nocheck(n->str, n->slen);
        xerr(x, n, "expected string; found %s", n->text);
        return NULL;
    case TP_INT:
        if (n->kind == TT_NUMBER && n->is_int)
            return json_integer(n->ival);
        xerr(x, n, "expected integer; found %s", n->text);
        return NULL;
    case TP_MAP:
        xerr(x, n, "can't handle %s for arg of type map[string]interface {}", n->text);
        return NULL;
    case TP_ANY:
        break;
    }
    switch (n->kind) {
    case TT_BOOL:
        return json_boolean(n->bval);
    case TT_NUMBER:
        return number_value(n);
    case TT_STRING:
        return json_stringn_nocheck(n->str, n->slen);
    default:
        xerr(x, n, "can't handle %s for arg", n->text ? n->text : "");
        return NULL;
    }
}

static json_t *eval_pipe(struct exec *x, json_t *dot, const struct tt_pipe *pipe)
{
    json_t *value = NULL;
    bool has = false;
    for (const struct tt_cmd *c = pipe->cmds; c; c = c->next) {
        json_t *v = eval_command(x, dot, c, value, has);
        json_decref(value);
        if (x->err) {
            json_decref(v);
            return NULL;
        }
        value = unwrap(v);
        has = true;
    }
    for (unsigned i = 0; i < pipe->ndecl; i++) {
        if (pipe->is_assign) {
            struct var *v = var_find(x, pipe->decl[i]);
            if (!v) {
                xerr(x, pipe->cmds ? pipe->cmds->args : NULL, "undefined variable: %s",
                     pipe->decl[i]);
                break;
            }
            json_decref(v->val);
            v->val = ref(value);
        } else {
            var_push(x, pipe->decl[i], ref(value));
        }
    }
    return value;
}

/* ---- statements -------------------------------------------------------------------------- */

static void walk(struct exec *x, json_t *dot, const struct tt_node *list);

static void print_value(struct exec *x, const json_t *v)
{
    if (!v) {
        tt_buf_adds(&x->out, "<no value>");
        return;
    }
    tt_fmt_value(&x->out, v);
}

static void walk_if_with(struct exec *x, json_t *dot, const struct tt_node *n)
{
    size_t mark = x->nvars;
    json_t *v = eval_pipe(x, dot, n->pipe);
    if (!x->err) {
        if (tt_truth(v)) {
            walk(x, n->kind == TT_WITH ? v : dot, n->list);
        } else if (n->elist) {
            walk(x, dot, n->elist);
        }
    }
    json_decref(v);
    var_pop(x, mark);
}

/* Runs one range iteration; returns false to stop the loop. */
static bool range_once(struct exec *x, const struct tt_node *n, json_t *key, json_t *elem)
{
    size_t mark = x->nvars;
    const struct tt_pipe *pipe = n->pipe;
    if (pipe->ndecl > 0) {
        if (pipe->is_assign) {
            struct var *v0 = var_find(x, pipe->decl[0]);
            struct var *v1 = pipe->ndecl > 1 ? var_find(x, pipe->decl[1]) : NULL;
            if (pipe->ndecl > 1) {
                json_decref(v0->val);
                v0->val = ref(key);
                json_decref(v1->val);
                v1->val = ref(elem);
            } else {
                json_decref(v0->val);
                v0->val = ref(elem);
            }
        } else {
            var_set_top(x, 1, ref(elem));
            if (pipe->ndecl > 1)
                var_set_top(x, 2, ref(key));
        }
    }
    walk(x, elem, n->list);
    var_pop(x, mark);
    if (x->err)
        return false;
    if (x->ctl == CTL_BREAK) {
        x->ctl = CTL_NONE;
        return false;
    }
    x->ctl = CTL_NONE;
    return step(x, n);
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void walk_range(struct exec *x, json_t *dot, const struct tt_node *n)
{
    size_t mark = x->nvars;
    json_t *val = eval_pipe(x, dot, n->pipe);
    bool ran = false;
    if (x->err)
        goto done;
    if (val && json_is_array(val)) {
        for (size_t i = 0; i < json_array_size(val); i++) {
            ran = true;
            json_t *k = json_integer((json_int_t)i);
            bool go = range_once(x, n, k, json_array_get(val, i));
            json_decref(k);
            if (!go)
                break;
        }
    } else if (val && json_is_object(val)) {
        size_t cnt = json_object_size(val);
        const char **keys = tk_xcalloc(cnt ? cnt : 1, sizeof(*keys));
        size_t i = 0;
        const char *key;
        json_t *v;
        json_object_foreach(val, key, v)
        {
            keys[i++] = key;
        }
        qsort(keys, i, sizeof(*keys), cmp_keys);
        for (size_t j = 0; j < i; j++) {
            ran = true;
            json_t *k = json_string_nocheck(keys[j]);
            bool go = range_once(x, n, k, json_object_get(val, keys[j]));
            json_decref(k);
            if (!go)
                break;
        }
        free(keys);
    } else if (val && json_is_integer(val)) {
        /* Go 1.22: range over an int counts from 0. */
        json_int_t lim = json_integer_value(val);
        for (json_int_t i = 0; i < lim; i++) {
            ran = true;
            json_t *k = json_integer(i);
            bool go = range_once(x, n, k, k);
            json_decref(k);
            if (!go)
                break;
        }
    } else if (val) {
        struct tt_buf b = {0};
        tt_fmt_value(&b, val);
        xerr(x, n, "range can't iterate over %s", b.p ? b.p : "");
        tt_buf_free(&b);
        goto done;
    }
    if (!ran && !x->err && n->elist)
        walk(x, dot, n->elist);
done:
    json_decref(val);
    var_pop(x, mark);
}

static const struct tt_define *find_define(const tk_tmpl_t *t, const char *name)
{
    for (const struct tt_define *d = t->defines; d; d = d->next) {
        if (strcmp(d->name, name) == 0)
            return d;
    }
    return NULL;
}

static void walk_template(struct exec *x, json_t *dot, const struct tt_node *n)
{
    const struct tt_define *d = find_define(x->t, n->name);
    if (!d) {
        xerr(x, n, "no such template \"%s\"", n->name);
        return;
    }
    if (x->depth >= x->max_depth) {
        xerr(x, n, "exceeded maximum template depth (%u)", x->max_depth);
        return;
    }
    json_t *newdot = n->pipe ? eval_pipe(x, dot, n->pipe) : NULL;
    if (x->err) {
        json_decref(newdot);
        return;
    }
    /* A template call sees a fresh variable scope with only $ set to its dot. */
    struct var *saved = x->vars;
    size_t saved_n = x->nvars, saved_cap = x->capvars;
    x->vars = NULL;
    x->nvars = x->capvars = 0;
    var_push(x, "$", ref(newdot));
    x->depth++;
    walk(x, newdot, d->list);
    x->depth--;
    var_pop(x, 0);
    free(x->vars);
    x->vars = saved;
    x->nvars = saved_n;
    x->capvars = saved_cap;
    json_decref(newdot);
}

static void walk(struct exec *x, json_t *dot, const struct tt_node *list)
{
    for (const struct tt_node *n = list; n; n = n->next) {
        if (!step(x, n) || x->ctl != CTL_NONE)
            return;
        switch (n->kind) {
        case TT_TEXT:
            tt_buf_add(&x->out, n->str, n->slen);
            break;
        case TT_ACTION: {
            json_t *v = eval_pipe(x, dot, n->pipe);
            if (!x->err && n->pipe->ndecl == 0)
                print_value(x, v);
            json_decref(v);
            break;
        }
        case TT_IF:
        case TT_WITH:
            walk_if_with(x, dot, n);
            break;
        case TT_RANGE:
            walk_range(x, dot, n);
            break;
        case TT_TEMPLATE:
            walk_template(x, dot, n);
            break;
        case TT_BREAK:
            x->ctl = CTL_BREAK;
            return;
        case TT_CONTINUE:
            x->ctl = CTL_CONTINUE;
            return;
        default:
            xerr(x, n, "unknown node");
            return;
        }
        if (x->err)
            return;
    }
}

int tk_tmpl_exec(const tk_tmpl_t *t, json_t *data, const tk_tmpl_limits_t *lim, char **out,
                 size_t *outlen, char *err, size_t errlen)
{
    struct exec x = {.t = t};
    x.out.max = lim && lim->max_output ? lim->max_output : DEFAULT_MAX_OUTPUT;
    x.max_steps = lim && lim->max_steps ? lim->max_steps : DEFAULT_MAX_STEPS;
    x.max_depth = lim && lim->max_depth ? lim->max_depth : DEFAULT_MAX_DEPTH;
    if (err && errlen)
        err[0] = 0;
    json_t *root = unwrap(ref(data));
    var_push(&x, "$", ref(root));
    walk(&x, root, t->root);
    if (!x.err && x.out.over)
        xerr(&x, NULL, "template output exceeds %zu bytes", x.out.max);
    var_pop(&x, 0);
    free(x.vars);
    json_decref(root);
    /* NUL-terminate outside the output cap (a full buffer must still end in a NUL). */
    if (!x.out.p || x.out.len + 1 > x.out.cap) {
        x.out.cap = x.out.len + 1;
        x.out.p = tk_xrealloc(x.out.p, x.out.cap);
    }
    x.out.p[x.out.len] = 0;
    if (out) {
        *out = x.out.p;
        if (outlen)
            *outlen = x.out.len;
    } else {
        tt_buf_free(&x.out);
    }
    if (x.err) {
        if (err && errlen)
            snprintf(err, errlen, "%s", x.err);
        free(x.err);
        return TK_ERROR;
    }
    return TK_OK;
}
