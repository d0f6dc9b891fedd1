/* SPDX-License-Identifier: Apache-2.0 */
/* Private to tk_template*.c: the parse tree, the output buffer, Go-style formatting, functions. */
#ifndef TK_TEMPLATE_INT_H
#define TK_TEMPLATE_INT_H

#include "tk_template.h"
#include "tk_arena.h"

#include <stdarg.h>

/* ---- parse tree ------------------------------------------------------------------------- */

enum tt_kind {
    TT_LIST = 1,
    TT_TEXT,
    TT_ACTION,
    TT_IF,
    TT_RANGE,
    TT_WITH,
    TT_TEMPLATE,
    TT_BREAK,
    TT_CONTINUE,
    /* operands */
    TT_FIELD,  /* .a.b          ids */
    TT_VAR,    /* $x.a.b        name + ids */
    TT_CHAIN,  /* (pipe).a.b    base + ids */
    TT_DOT,    /* . */
    TT_NIL,    /* nil */
    TT_BOOL,   /* true / false */
    TT_NUMBER, /* 1, 1.5, 'a', 0x10 */
    TT_STRING, /* "..." or `...` */
    TT_IDENT,  /* function name */
    TT_PIPE,   /* ( pipeline ) */
};

struct tt_func;
struct tt_pipe;

struct tt_node {
    enum tt_kind kind;
    unsigned line, col;
    struct tt_node *next; /* sibling in a list or command */
    const char *text;     /* source text of the operand, for messages */
    /* TT_TEXT / TT_STRING */
    const char *str;
    size_t slen;
    /* TT_FIELD / TT_VAR / TT_CHAIN */
    const char *name; /* variable name, "$" included */
    const char **ids;
    size_t nids;
    struct tt_node *base; /* TT_CHAIN */
    /* TT_NUMBER */
    bool is_int, is_float;
    int64_t ival;
    double fval;
    /* TT_BOOL */
    bool bval;
    /* TT_IDENT */
    const struct tt_func *fn;
    /* TT_ACTION / TT_IF / TT_RANGE / TT_WITH / TT_TEMPLATE / TT_PIPE */
    struct tt_pipe *pipe;
    struct tt_node *list;  /* first node of the body */
    struct tt_node *elist; /* first node of {{else}} */
};

struct tt_cmd {
    struct tt_cmd *next;
    struct tt_node *args;
    unsigned line, col;
};

struct tt_pipe {
    unsigned line, col;
    bool is_assign;
    unsigned ndecl;
    const char *decl[2];
    struct tt_cmd *cmds;
    unsigned ncmds;
};

struct tt_define {
    struct tt_define *next;
    const char *name;
    struct tt_node *list;
};

struct tk_tmpl {
    tk_arena_t *arena;
    struct tt_node *root;
    struct tt_define *defines;
};

/* ---- growable output buffer ----------------------------------------------------------- */

struct tt_buf {
    char *p;
    size_t len, cap;
    size_t max; /* 0 = unbounded */
    bool over;  /* a write went past max */
};

void tt_buf_add(struct tt_buf *b, const char *s, size_t n);
void tt_buf_adds(struct tt_buf *b, const char *s);
void tt_buf_addc(struct tt_buf *b, char c);
void tt_buf_printf(struct tt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tt_buf_free(struct tt_buf *b);

/* ---- Go formatting (tk_template_fmt.c) -------------------------------------------------- */

/* Go's type name of a value as decoded JSON would have it ("float64", "map[string]interface {}").
 */
const char *tt_type_name(const json_t *v);
/* fmt %v of float64 (shortest repr, exponent outside [1e-4, 1e21)). */
void tt_fmt_float(struct tt_buf *b, double f);
/* fmt.Sprint of one value (%v). NULL prints "<nil>". */
void tt_fmt_value(struct tt_buf *b, const json_t *v);
/* fmt.Sprint(args...): spaces between operands when neither is a string. */
void tt_fmt_sprint(struct tt_buf *b, json_t **argv, size_t argc);
/* fmt.Sprintf with Go verbs. */
void tt_fmt_printf(struct tt_buf *b, const char *fmt, size_t flen, json_t **argv, size_t argc);
/* strconv.Quote */
void tt_fmt_quote(struct tt_buf *b, const char *s, size_t n);
/* encoding/json Marshal (HTML-escaping, sorted keys) / MarshalIndent("", indent). */
void tt_json_marshal(struct tt_buf *b, const json_t *v, bool escape_html, const char *indent,
                     unsigned depth);
/* mxj Map.Xml() as Tyk's xmlMarshal calls it. */
void tt_xml_marshal(struct tt_buf *b, const json_t *v);

/* ---- functions (tk_template_funcs.c) ----------------------------------------------------- */

/* Parameter kinds, as Go's reflection would check them on call. */
enum tt_param {
    TP_ANY = 0, /* interface{} / reflect.Value: anything, nil allowed */
    TP_STRING,
    TP_INT,
    TP_BOOL,
    TP_MAP,
};

struct tt_call {
    json_t **argv; /* owned by the caller; may contain NULL (nil) */
    size_t argc;
    char *err; /* set (malloc'd) by a function to fail the call */
    unsigned max_depth;
};

typedef json_t *(*tt_fn)(struct tt_call *c);

struct tt_func {
    const char *name;
    tt_fn fn;
    int nparams;   /* fixed parameters */
    bool variadic; /* then any number of the last kind */
    enum tt_param params[4];
    uint8_t special; /* TT_SPECIAL_* handled by the executor */
};

enum {
    TT_SPECIAL_NONE = 0,
    TT_SPECIAL_AND,
    TT_SPECIAL_OR,
};

const struct tt_func *tt_func_lookup(const char *name, size_t len);
/* Go's truth of a value (text/template isTrue); NULL is false. */
bool tt_truth(const json_t *v);
/* Sets c->err from a printf format. Returns NULL for convenience. */
json_t *tt_fail(struct tt_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Go's equality / ordering of basic values used by eq, lt ... Returns -2 on incomparable. */
int tt_compare(const json_t *a, const json_t *b, bool ordered, char **err);

#endif
