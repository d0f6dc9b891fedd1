/* SPDX-License-Identifier: Apache-2.0 */
/* Lexer and parser for Go text/template syntax into the tree that tk_template_exec.c walks. */
#include "tk_template_int.h"
#include "tk_gostr.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Bounds that keep hostile templates from exhausting the stack while parsing. */
#define MAX_NESTING 100
#define MAX_VARS 1024

enum tok_type {
    K_EOF = 0,
    K_RDELIM,
    K_IDENT,
    K_FIELD, /* ".name" */
    K_DOT,
    K_VAR, /* "$" or "$name" */
    K_STRING,
    K_RAW,
    K_CHAR,
    K_NUMBER,
    K_BOOL,
    K_NIL,
    K_PIPE,
    K_LPAREN,
    K_RPAREN,
    K_DECLARE,
    K_ASSIGN,
    K_COMMA,
    /* keywords */
    K_IF,
    K_ELSE,
    K_END,
    K_RANGE,
    K_WITH,
    K_DEFINE,
    K_TEMPLATE,
    K_BLOCK,
    K_BREAK,
    K_CONTINUE,
};

struct tok {
    enum tok_type type;
    size_t pos, len; /* span in the source */
    bool space_before;
    bool trim; /* K_RDELIM: " -}}" */
};

struct parser {
    const char *src;
    size_t len, pos;
    tk_tmpl_t *t;
    char *err;
    size_t errlen;
    bool failed;
    /* incremental line/col cache */
    size_t cpos;
    unsigned cline, ccol;
    const char *vars[MAX_VARS];
    unsigned nvars;
    unsigned depth;
    unsigned range_depth;
    bool trim_text; /* the previous action ended with " -}}" */
};

enum list_end {
    END_EOF,
    END_END,
    END_ELSE,
};

static void position(struct parser *p, size_t pos, unsigned *line, unsigned *col)
{
    if (pos < p->cpos) {
        p->cpos = 0;
        p->cline = 1;
        p->ccol = 1;
    }
    for (; p->cpos < pos && p->cpos < p->len; p->cpos++) {
        if (p->src[p->cpos] == '\n') {
            p->cline++;
            p->ccol = 1;
        } else {
            p->ccol++;
        }
    }
    *line = p->cline;
    *col = p->ccol;
}

static void fail(struct parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    unsigned line, col;
    position(p, pos, &line, &col);
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->err && p->errlen)
        snprintf(p->err, p->errlen, "%u:%u: %s", line, col, msg);
}

static void *node_alloc(struct parser *p, size_t n)
{
    void *m = tk_arena_zalloc(p->t->arena, n);
    TK_ASSERT(m != NULL);
    return m;
}

static struct tt_node *new_node(struct parser *p, enum tt_kind kind, size_t pos)
{
    struct tt_node *n = node_alloc(p, sizeof(*n));
    n->kind = kind;
    position(p, pos, &n->line, &n->col);
    return n;
}

static const char *dup_span(struct parser *p, size_t pos, size_t len)
{
    char *s = tk_arena_strndup(p->t->arena, p->src + pos, len);
    TK_ASSERT(s != NULL);
    return s;
}

/* Quoted text of a token for messages, cut short. */
static void tok_text(struct parser *p, const struct tok *k, char *out, size_t outlen)
{
    if (k->type == K_EOF) {
        snprintf(out, outlen, "EOF");
        return;
    }
    if (k->type == K_RDELIM) {
        snprintf(out, outlen, "\"}}\"");
        return;
    }
    int n = (int)TK_MIN(k->len, (size_t)40);
    snprintf(out, outlen, "\"%.*s\"", n, p->src + k->pos);
}

/* ---- lexer ----------------------------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alnum_(unsigned char c)
{
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c >= 0x80;
}

static bool at(struct parser *p, size_t pos, const char *s)
{
    size_t n = strlen(s);
    return pos + n <= p->len && memcmp(p->src + pos, s, n) == 0;
}

static const struct {
    const char *word;
    enum tok_type type;
} keywords[] = {
    {"if", K_IF},       {"else", K_ELSE},         {"end", K_END},           {"range", K_RANGE},
    {"with", K_WITH},   {"define", K_DEFINE},     {"template", K_TEMPLATE}, {"block", K_BLOCK},
    {"break", K_BREAK}, {"continue", K_CONTINUE}, {"true", K_BOOL},         {"false", K_BOOL},
    {"nil", K_NIL},
};

/* Go's lexer: a field or variable name must be followed by one of these. */
static bool at_terminator(struct parser *p, size_t pos)
{
    if (pos >= p->len)
        return true;
    char c = p->src[pos];
    if (is_space(c) || c == '.' || c == ',' || c == '|' || c == ':' || c == ')' || c == '(')
        return true;
    return at(p, pos, "}}");
}

static size_t scan_number(struct parser *p, size_t pos)
{
    size_t i = pos;
    if (i < p->len && (p->src[i] == '+' || p->src[i] == '-'))
        i++;
    const char *digits = "0123456789_";
    if (at(p, i, "0x") || at(p, i, "0X")) {
        i += 2;
        digits = "0123456789abcdefABCDEF_";
    } else if (at(p, i, "0o") || at(p, i, "0O")) {
        i += 2;
        digits = "01234567_";
    } else if (at(p, i, "0b") || at(p, i, "0B")) {
        i += 2;
        digits = "01_";
    }
    while (i < p->len && strchr(digits, p->src[i]) && p->src[i])
        i++;
    if (i < p->len && p->src[i] == '.') {
        i++;
        while (i < p->len && strchr(digits, p->src[i]) && p->src[i])
            i++;
    }
    if (i < p->len &&
        (p->src[i] == 'e' || p->src[i] == 'E' || p->src[i] == 'p' || p->src[i] == 'P') &&
        strlen(digits) != 24) {
        i++;
        if (i < p->len && (p->src[i] == '+' || p->src[i] == '-'))
            i++;
        while (i < p->len && p->src[i] >= '0' && p->src[i] <= '9')
            i++;
    }
    /* Anything alphanumeric glued on makes it a bad number, as in Go. */
    while (i < p->len && is_alnum_((unsigned char)p->src[i]))
        i++;
    return i;
}

/* Lexes one token inside an action. Returns false (with the error set) on bad input. */
static bool lex(struct parser *p, struct tok *k)
{
    memset(k, 0, sizeof(*k));
    size_t start = p->pos;
    while (p->pos < p->len && is_space(p->src[p->pos])) {
        p->pos++;
    }
    k->space_before = p->pos > start;
    k->pos = p->pos;
    if (p->pos >= p->len) {
        fail(p, p->pos, "unclosed action");
        return false;
    }
    if (k->space_before && at(p, p->pos, "-}}")) {
        k->type = K_RDELIM;
        k->trim = true;
        p->pos += 3;
        k->len = 3;
        return true;
    }
    if (at(p, p->pos, "}}")) {
        k->type = K_RDELIM;
        p->pos += 2;
        k->len = 2;
        return true;
    }
    char c = p->src[p->pos];
    size_t i = p->pos;
    switch (c) {
    case '|':
        k->type = K_PIPE;
        i++;
        break;
    case '(':
        k->type = K_LPAREN;
        i++;
        break;
    case ')':
        k->type = K_RPAREN;
        i++;
        break;
    case ',':
        k->type = K_COMMA;
        i++;
        break;
    case '=':
        k->type = K_ASSIGN;
        i++;
        break;
    case ':':
        if (!at(p, i, ":=")) {
            fail(p, i, "expected :=");
            return false;
        }
        k->type = K_DECLARE;
        i += 2;
        break;
    case '"':
        k->type = K_STRING;
        for (i++;; i++) {
            if (i >= p->len || p->src[i] == '\n') {
                fail(p, p->pos, "unterminated quoted string");
                return false;
            }
            if (p->src[i] == '\\') {
                i++;
                if (i >= p->len || p->src[i] == '\n') {
                    fail(p, p->pos, "unterminated quoted string");
                    return false;
                }
                continue;
            }
            if (p->src[i] == '"')
                break;
        }
        i++;
        break;
    case '`':
        k->type = K_RAW;
        for (i++; i < p->len && p->src[i] != '`'; i++) {
        }
        if (i >= p->len) {
            fail(p, p->pos, "unterminated raw quoted string");
            return false;
        }
        i++;
        break;
    case '\'':
        k->type = K_CHAR;
        for (i++;; i++) {
            if (i >= p->len || p->src[i] == '\n') {
                fail(p, p->pos, "unterminated character constant");
                return false;
            }
            if (p->src[i] == '\\') {
                i++;
                continue;
            }
            if (p->src[i] == '\'')
                break;
        }
        i++;
        break;
    case '$':
        k->type = K_VAR;
        for (i++; i < p->len && is_alnum_((unsigned char)p->src[i]); i++) {
        }
        if (!at_terminator(p, i)) {
            fail(p, i, "bad character %#x", (unsigned char)p->src[i]);
            return false;
        }
        break;
    case '.':
        if (i + 1 < p->len && p->src[i + 1] >= '0' && p->src[i + 1] <= '9') {
            k->type = K_NUMBER;
            i = scan_number(p, i);
            break;
        }
        if (i + 1 < p->len && is_alnum_((unsigned char)p->src[i + 1])) {
            k->type = K_FIELD;
            for (i++; i < p->len && is_alnum_((unsigned char)p->src[i]); i++) {
            }
            if (!at_terminator(p, i)) {
                fail(p, i, "bad character %#x", (unsigned char)p->src[i]);
                return false;
            }
            break;
        }
        k->type = K_DOT;
        i++;
        break;
    default:
        if ((c >= '0' && c <= '9') || c == '+' || c == '-') {
            k->type = K_NUMBER;
            i = scan_number(p, i);
            break;
        }
        if (is_alnum_((unsigned char)c)) {
            for (; i < p->len && is_alnum_((unsigned char)p->src[i]); i++) {
            }
            if (!at_terminator(p, i)) {
                fail(p, i, "bad character %#x", (unsigned char)p->src[i]);
                return false;
            }
            k->type = K_IDENT;
            for (size_t w = 0; w < TK_ARRAY_LEN(keywords); w++) {
                if (strlen(keywords[w].word) == i - p->pos &&
                    memcmp(keywords[w].word, p->src + p->pos, i - p->pos) == 0) {
                    k->type = keywords[w].type;
                    break;
                }
            }
            break;
        }
        fail(p, i, "unrecognized character in action: %#x", (unsigned char)c);
        return false;
    }
    k->len = i - p->pos;
    p->pos = i;
    return true;
}

static bool peek(struct parser *p, struct tok *k)
{
    size_t save = p->pos;
    bool ok = lex(p, k);
    p->pos = save;
    return ok;
}

/* ---- literals --------------------------------------------------------------------------- */

/* Decodes one UTF-8 rune; returns its length (1 for invalid bytes, rune U+FFFD). */
static size_t utf8_rune(const unsigned char *s, size_t n, uint32_t *r)
{
    if (n == 0) {
        *r = 0xFFFD;
        return 0;
    }
    unsigned char c = s[0];
    if (c < 0x80) {
        *r = c;
        return 1;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (len == 0 || len > n) {
        *r = 0xFFFD;
        return 1;
    }
    uint32_t v = c & (0xFF >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *r = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *r = v;
    return len;
}

static bool parse_number(struct parser *p, struct tt_node *n, const struct tok *k)
{
    const char *s = p->src + k->pos;
    size_t len = k->len;
    if (k->type == K_CHAR) {
        char buf[16];
        size_t bn = 0;
        if (len < 3 || len - 2 > 12 || !tk_go_unquote(s + 1, len - 2, '\'', buf, &bn) || bn == 0)
            goto bad;
        uint32_t r;
        size_t used = (unsigned char)buf[0] < 0x80 ? 1 : utf8_rune((unsigned char *)buf, bn, &r);
        if (used != bn)
            goto bad;
        if (bn == 1)
            r = (unsigned char)buf[0];
        n->is_int = true;
        n->is_float = true;
        n->ival = r;
        n->fval = r;
        return true;
    }
    /* Go accepts '_' between digits; strip them for the C parsers. */
    char buf[128];
    size_t bn = 0;
    if (len >= sizeof(buf))
        goto bad;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '_')
            buf[bn++] = s[i];
    }
    buf[bn] = 0;
    if (bn == 0 || (bn == 1 && (buf[0] == '+' || buf[0] == '-')))
        goto bad;
    bool hex = strstr(buf, "0x") || strstr(buf, "0X");
    char *end;
    /* Integers: Go's ParseInt(text, 0, 64), where a leading 0 means octal. */
    const char *digits = buf + ((buf[0] == '+' || buf[0] == '-') ? 1 : 0);
    int base = 10;
    const char *body = digits;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        base = 16;
        body = digits + 2;
    } else if (digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O')) {
        base = 8;
        body = digits + 2;
    } else if (digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B')) {
        base = 2;
        body = digits + 2;
    } else if (digits[0] == '0' && digits[1] != 0 && !strpbrk(digits, ".eE")) {
        base = 8;
        body = digits + 1;
    }
    if (*body && !strpbrk(body, base == 16 ? ".pP" : ".eEpP")) {
        errno = 0;
        unsigned long long u = strtoull(body, &end, base);
        if (*end == 0 && errno == 0) {
            bool neg = buf[0] == '-';
            if ((!neg && u <= (unsigned long long)INT64_MAX) ||
                (neg && u <= (unsigned long long)INT64_MAX + 1ull)) {
                n->is_int = true;
                n->ival = neg ? (int64_t)(0 - u) : (int64_t)u;
                n->is_float = true;
                n->fval = (double)n->ival;
                return true;
            }
            /* Out of int64 range: Go keeps it as a float constant. */
            n->is_float = true;
            n->fval = neg ? -(double)u : (double)u;
            return true;
        }
        if (base != 10 && base != 16)
            goto bad;
    }
    if (base == 8 || base == 2)
        goto bad;
    errno = 0;
    double f = strtod(buf, &end);
    if (*end != 0 || (hex && !strpbrk(buf, "pP")))
        goto bad;
    if (!isfinite(f))
        goto bad;
    n->is_float = true;
    n->fval = f;
    /* Go: an integral float constant is also usable where an int is expected. */
    if (f >= -9.2e18 && f <= 9.2e18 && (double)(int64_t)f == f) {
        n->is_int = true;
        n->ival = (int64_t)f;
    }
    return true;
bad:
    fail(p, k->pos, "illegal number syntax: \"%.*s\"", (int)TK_MIN(len, (size_t)40), s);
    return false;
}

/* ---- variables in scope ------------------------------------------------------------------ */

static bool var_known(struct parser *p, const char *name, size_t len)
{
    if (len == 1 && name[0] == '$')
        return true;
    for (unsigned i = p->nvars; i > 0; i--) {
        if (strlen(p->vars[i - 1]) == len && memcmp(p->vars[i - 1], name, len) == 0)
            return true;
    }
    return false;
}

static bool var_push(struct parser *p, const char *name, size_t pos)
{
    if (p->nvars >= MAX_VARS) {
        fail(p, pos, "too many variables");
        return false;
    }
    p->vars[p->nvars++] = name;
    return true;
}

/* ---- grammar ---------------------------------------------------------------------------- */

static struct tt_pipe *parse_pipeline(struct parser *p, const char *context, enum tok_type end,
                                      bool allow_decl, bool is_range, struct tok *endtok);

/* Splits ".a.b" / "$x.a" field text into identifiers appended to @n. */
static void add_ids(struct parser *p, struct tt_node *n, const char *s, size_t len)
{
    size_t count = n->nids;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.')
            count++;
    }
    const char **ids = node_alloc(p, sizeof(*ids) * (count ? count : 1));
    for (size_t i = 0; i < n->nids; i++)
        ids[i] = n->ids[i];
    size_t k = n->nids;
    for (size_t i = 0; i < len;) {
        if (s[i] != '.') {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < len && s[j] != '.')
            j++;
        ids[k++] = dup_span(p, (size_t)(s + i + 1 - p->src), j - i - 1);
        i = j;
    }
    n->ids = ids;
    n->nids = k;
}

static struct tt_node *parse_term(struct parser *p, struct tok *k)
{
    struct tt_node *n = NULL;
    switch (k->type) {
    case K_IDENT: {
        const struct tt_func *fn = tt_func_lookup(p->src + k->pos, k->len);
        if (!fn) {
            fail(p, k->pos, "function \"%.*s\" not defined", (int)TK_MIN(k->len, (size_t)60),
                 p->src + k->pos);
            return NULL;
        }
        n = new_node(p, TT_IDENT, k->pos);
        n->fn = fn;
        n->name = dup_span(p, k->pos, k->len);
        break;
    }
    case K_DOT:
        n = new_node(p, TT_DOT, k->pos);
        break;
    case K_NIL:
        n = new_node(p, TT_NIL, k->pos);
        break;
    case K_VAR:
        if (!var_known(p, p->src + k->pos, k->len)) {
            fail(p, k->pos, "undefined variable \"%.*s\"", (int)TK_MIN(k->len, (size_t)60),
                 p->src + k->pos);
            return NULL;
        }
        n = new_node(p, TT_VAR, k->pos);
        n->name = dup_span(p, k->pos, k->len);
        break;
    case K_FIELD:
        n = new_node(p, TT_FIELD, k->pos);
        add_ids(p, n, p->src + k->pos, k->len);
        break;
    case K_BOOL:
        n = new_node(p, TT_BOOL, k->pos);
        n->bval = k->len == 4;
        break;
    case K_CHAR:
    case K_NUMBER:
        n = new_node(p, TT_NUMBER, k->pos);
        if (!parse_number(p, n, k))
            return NULL;
        break;
    case K_STRING: {
        n = new_node(p, TT_STRING, k->pos);
        char *buf = node_alloc(p, k->len + 1);
        size_t bn = 0;
        if (!tk_go_unquote(p->src + k->pos + 1, k->len - 2, '"', buf, &bn)) {
            fail(p, k->pos, "invalid syntax in quoted string");
            return NULL;
        }
        buf[bn] = 0;
        n->str = buf;
        n->slen = bn;
        break;
    }
    case K_RAW: {
        n = new_node(p, TT_STRING, k->pos);
        /* Go drops carriage returns from raw strings. */
        char *buf = node_alloc(p, k->len + 1);
        size_t bn = 0;
        for (size_t i = 1; i + 1 < k->len; i++) {
            if (p->src[k->pos + i] != '\r')
                buf[bn++] = p->src[k->pos + i];
        }
        buf[bn] = 0;
        n->str = buf;
        n->slen = bn;
        break;
    }
    case K_LPAREN: {
        if (++p->depth > MAX_NESTING) {
            fail(p, k->pos, "nesting too deep");
            return NULL;
        }
        n = new_node(p, TT_PIPE, k->pos);
        struct tok endtok;
        n->pipe = parse_pipeline(p, "parenthesized pipeline", K_RPAREN, true, false, &endtok);
        p->depth--;
        if (!n->pipe)
            return NULL;
        break;
    }
    default:
        return NULL; /* not a term */
    }
    n->text = dup_span(p, k->pos, p->pos - k->pos);
    return n;
}

/* A term followed by .field selectors glued to it (no space). */
static struct tt_node *parse_operand(struct parser *p, struct tok *k)
{
    size_t start = k->pos;
    struct tt_node *n = parse_term(p, k);
    if (!n)
        return NULL;
    struct tok f;
    if (!peek(p, &f))
        return NULL;
    if (f.type != K_FIELD || f.space_before)
        return n;
    switch (n->kind) {
    case TT_BOOL:
    case TT_STRING:
    case TT_NUMBER:
    case TT_NIL:
    case TT_DOT:
        fail(p, f.pos, "unexpected . after term \"%s\"", n->text);
        return NULL;
    default:
        break;
    }
    struct tt_node *chain = n;
    if (n->kind != TT_FIELD && n->kind != TT_VAR) {
        chain = new_node(p, TT_CHAIN, start);
        chain->base = n;
    } else if (n->kind == TT_VAR && n->nids == 0) {
        chain = n;
    }
    while (peek(p, &f) && f.type == K_FIELD && !f.space_before) {
        lex(p, &f);
        add_ids(p, chain, p->src + f.pos, f.len);
    }
    if (p->failed)
        return NULL;
    chain->text = dup_span(p, start, p->pos - start);
    return chain;
}

static struct tt_cmd *parse_command(struct parser *p, enum tok_type end, struct tok *last)
{
    struct tt_cmd *c = node_alloc(p, sizeof(*c));
    struct tt_node **tail = &c->args;
    for (;;) {
        struct tok k;
        if (!lex(p, &k))
            return NULL;
        if (k.type == end || k.type == K_PIPE || k.type == K_RDELIM || k.type == K_RPAREN) {
            if (k.type != end && k.type != K_PIPE) {
                char t[64];
                tok_text(p, &k, t, sizeof(t));
                fail(p, k.pos, "unexpected %s in operand", t);
                return NULL;
            }
            if (!c->args) {
                fail(p, k.pos, "missing value for command");
                return NULL;
            }
            *last = k;
            return c;
        }
        if (c->args == NULL)
            position(p, k.pos, &c->line, &c->col);
        struct tt_node *n = parse_operand(p, &k);
        if (!n) {
            if (!p->failed) {
                char t[64];
                tok_text(p, &k, t, sizeof(t));
                fail(p, k.pos, "unexpected %s in operand", t);
            }
            return NULL;
        }
        *tail = n;
        tail = &n->next;
        /* Go requires space between operands. */
        struct tok nx;
        if (!peek(p, &nx))
            return NULL;
        if (!nx.space_before && nx.type != K_RDELIM && nx.type != K_RPAREN && nx.type != K_PIPE &&
            nx.type != end) {
            char t[64];
            tok_text(p, &nx, t, sizeof(t));
            fail(p, nx.pos, "unexpected %s in operand", t);
            return NULL;
        }
    }
}

/*
 * pipeline: [decl (":=" | "=")] command ("|" command)*, up to the @end token.
 * @context names the construct for "missing value for ..." messages.
 */
static struct tt_pipe *parse_pipeline(struct parser *p, const char *context, enum tok_type end,
                                      bool allow_decl, bool is_range, struct tok *endtok)
{
    struct tt_pipe *pipe = node_alloc(p, sizeof(*pipe));
    position(p, p->pos, &pipe->line, &pipe->col);
    /* Declarations: $x := / $x = / $i, $e := (range only). */
    if (allow_decl) {
        size_t save = p->pos;
        struct tok v1, op;
        if (peek(p, &v1) && v1.type == K_VAR) {
            lex(p, &v1);
            if (lex(p, &op)) {
                struct tok v2 = {0};
                bool two = false;
                if (op.type == K_COMMA && is_range) {
                    if (lex(p, &v2) && v2.type == K_VAR && lex(p, &op))
                        two = true;
                    else
                        op.type = K_EOF;
                }
                if (op.type == K_DECLARE || op.type == K_ASSIGN) {
                    pipe->is_assign = op.type == K_ASSIGN;
                    const struct tok *vs[2] = {&v1, &v2};
                    for (int i = 0; i < (two ? 2 : 1); i++) {
                        const char *name = dup_span(p, vs[i]->pos, vs[i]->len);
                        if (pipe->is_assign) {
                            if (!var_known(p, name, vs[i]->len)) {
                                fail(p, vs[i]->pos, "undefined variable \"%s\"", name);
                                return NULL;
                            }
                        } else if (!var_push(p, name, vs[i]->pos)) {
                            return NULL;
                        }
                        pipe->decl[pipe->ndecl++] = name;
                    }
                } else {
                    p->failed = false;
                    p->pos = save;
                }
            } else {
                p->failed = false;
                p->pos = save;
            }
        }
    }
    struct tt_cmd **tail = &pipe->cmds;
    for (;;) {
        struct tok k;
        if (!peek(p, &k))
            return NULL;
        if (k.type == end && pipe->cmds == NULL) {
            lex(p, &k);
            fail(p, k.pos, "missing value for %s", context);
            return NULL;
        }
        struct tok last;
        struct tt_cmd *c = parse_command(p, end, &last);
        if (!c)
            return NULL;
        *tail = c;
        tail = &c->next;
        pipe->ncmds++;
        if (pipe->ncmds > 1) {
            switch (c->args->kind) {
            case TT_BOOL:
            case TT_DOT:
            case TT_NIL:
            case TT_NUMBER:
            case TT_STRING:
                fail(p, k.pos, "non executable command in pipeline stage %u", pipe->ncmds);
                return NULL;
            default:
                break;
            }
        }
        if (last.type == end) {
            *endtok = last;
            return pipe;
        }
    }
}

static bool expect_rdelim(struct parser *p, const char *context)
{
    struct tok k;
    if (!lex(p, &k))
        return false;
    if (k.type != K_RDELIM) {
        char t[64];
        tok_text(p, &k, t, sizeof(t));
        fail(p, k.pos, "unexpected %s in %s", t, context);
        return false;
    }
    p->trim_text = k.trim;
    return true;
}

static struct tt_node *parse_list(struct parser *p, enum list_end *how, size_t *else_pos);

static struct tt_node *parse_control(struct parser *p, enum tt_kind kind, size_t pos,
                                     const char *context);

/* Parses the body (and {{else}} part) of if/range/with after its pipeline. */
static bool parse_bodies(struct parser *p, struct tt_node *n, const char *context)
{
    enum list_end how;
    size_t else_pos = 0;
    if (n->kind == TT_RANGE)
        p->range_depth++;
    n->list = parse_list(p, &how, &else_pos);
    if (n->kind == TT_RANGE)
        p->range_depth--;
    if (p->failed)
        return false;
    if (how == END_EOF) {
        fail(p, p->len, "unexpected EOF");
        return false;
    }
    if (how == END_ELSE) {
        /* "{{else if ...}}" / "{{else with ...}}" chain into a nested control. */
        struct tok k;
        if (!peek(p, &k))
            return false;
        if ((n->kind == TT_IF && k.type == K_IF) || (n->kind == TT_WITH && k.type == K_WITH)) {
            lex(p, &k);
            struct tt_node *nested = parse_control(p, n->kind, k.pos, context);
            if (!nested)
                return false;
            n->elist = nested;
            return true;
        }
        if (!expect_rdelim(p, "else"))
            return false;
        n->elist = parse_list(p, &how, &else_pos);
        if (p->failed)
            return false;
        if (how == END_EOF) {
            fail(p, p->len, "unexpected EOF");
            return false;
        }
        if (how == END_ELSE) {
            fail(p, else_pos, "expected end; found {{else}}");
            return false;
        }
    }
    return true;
}

static struct tt_node *parse_control(struct parser *p, enum tt_kind kind, size_t pos,
                                     const char *context)
{
    if (++p->depth > MAX_NESTING) {
        fail(p, pos, "nesting too deep");
        return NULL;
    }
    unsigned mark = p->nvars;
    struct tt_node *n = new_node(p, kind, pos);
    struct tok endtok;
    n->pipe = parse_pipeline(p, context, K_RDELIM, true, kind == TT_RANGE, &endtok);
    if (!n->pipe)
        return NULL;
    p->trim_text = endtok.trim;
    if (!parse_bodies(p, n, context))
        return NULL;
    p->nvars = mark;
    p->depth--;
    return n;
}

static struct tt_node *parse_template_call(struct parser *p, size_t pos, bool block)
{
    struct tok k;
    if (!lex(p, &k))
        return NULL;
    if (k.type != K_STRING && k.type != K_RAW) {
        char t[64];
        tok_text(p, &k, t, sizeof(t));
        fail(p, k.pos, "unexpected %s in %s clause", t, block ? "block" : "template");
        return NULL;
    }
    struct tt_node *name = parse_term(p, &k);
    if (!name)
        return NULL;
    struct tt_node *n = new_node(p, TT_TEMPLATE, pos);
    n->name = name->str;
    struct tok nx;
    if (!peek(p, &nx))
        return NULL;
    if (nx.type == K_RDELIM) {
        lex(p, &nx);
        p->trim_text = nx.trim;
    } else {
        struct tok endtok;
        n->pipe = parse_pipeline(p, block ? "block clause" : "template clause", K_RDELIM, false,
                                 false, &endtok);
        if (!n->pipe)
            return NULL;
        p->trim_text = endtok.trim;
    }
    return n;
}

static bool add_define(struct parser *p, const char *name, struct tt_node *list, size_t pos)
{
    for (struct tt_define *d = p->t->defines; d; d = d->next) {
        if (strcmp(d->name, name) == 0) {
            fail(p, pos, "template: multiple definition of template \"%s\"", name);
            return false;
        }
    }
    struct tt_define *d = node_alloc(p, sizeof(*d));
    d->name = name;
    d->list = list;
    d->next = p->t->defines;
    p->t->defines = d;
    return true;
}

/* {{define "name"}} ... {{end}} and {{block "name" pipeline}} ... {{end}} bodies. */
static bool parse_define_body(struct parser *p, const char *name, size_t pos)
{
    if (++p->depth > MAX_NESTING) {
        fail(p, pos, "nesting too deep");
        return false;
    }
    /* A defined template has its own variable scope: only $ exists. */
    unsigned saved_n = p->nvars;
    unsigned saved_range = p->range_depth;
    const char *saved[MAX_VARS];
    memcpy(saved, p->vars, sizeof(saved[0]) * saved_n);
    p->nvars = 0;
    p->range_depth = 0;
    enum list_end how;
    size_t else_pos;
    struct tt_node *list = parse_list(p, &how, &else_pos);
    memcpy(p->vars, saved, sizeof(saved[0]) * saved_n);
    p->nvars = saved_n;
    p->range_depth = saved_range;
    p->depth--;
    if (p->failed)
        return false;
    if (how != END_END) {
        fail(p, how == END_EOF ? p->len : else_pos, "unexpected %s in define clause",
             how == END_EOF ? "EOF" : "{{else}}");
        return false;
    }
    return add_define(p, name, list, pos);
}

/* Handles one action after "{{": returns a node to append, or NULL (nothing / error). */
static struct tt_node *parse_action(struct parser *p, size_t pos, enum list_end *how,
                                    size_t *else_pos, bool *stop)
{
    struct tok k;
    if (!peek(p, &k))
        return NULL;
    switch (k.type) {
    case K_IF:
        lex(p, &k);
        return parse_control(p, TT_IF, pos, "if");
    case K_RANGE:
        lex(p, &k);
        return parse_control(p, TT_RANGE, pos, "range");
    case K_WITH:
        lex(p, &k);
        return parse_control(p, TT_WITH, pos, "with");
    case K_ELSE:
        lex(p, &k);
        *how = END_ELSE;
        *else_pos = pos;
        *stop = true;
        {
            /* {{else}} closes here unless "else if"/"else with" follows (caller peeks). */
            struct tok nx;
            if (!peek(p, &nx))
                return NULL;
            if (nx.type != K_RDELIM && nx.type != K_IF && nx.type != K_WITH) {
                char t[64];
                tok_text(p, &nx, t, sizeof(t));
                fail(p, nx.pos, "unexpected %s in else", t);
            }
        }
        return NULL;
    case K_END:
        lex(p, &k);
        if (!expect_rdelim(p, "end"))
            return NULL;
        *how = END_END;
        *else_pos = pos;
        *stop = true;
        return NULL;
    case K_BREAK:
    case K_CONTINUE: {
        lex(p, &k);
        bool brk = k.type == K_BREAK;
        if (p->range_depth == 0) {
            fail(p, k.pos, "{{%s}} outside {{range}}", brk ? "break" : "continue");
            return NULL;
        }
        if (!expect_rdelim(p, brk ? "break" : "continue"))
            return NULL;
        return new_node(p, brk ? TT_BREAK : TT_CONTINUE, pos);
    }
    case K_TEMPLATE:
        lex(p, &k);
        return parse_template_call(p, pos, false);
    case K_DEFINE:
    case K_BLOCK: {
        lex(p, &k);
        bool block = k.type == K_BLOCK;
        if (block) {
            struct tt_node *call = parse_template_call(p, pos, true);
            if (!call)
                return NULL;
            if (!parse_define_body(p, call->name, pos))
                return NULL;
            return call;
        }
        struct tok nm;
        if (!lex(p, &nm))
            return NULL;
        if (nm.type != K_STRING && nm.type != K_RAW) {
            char t[64];
            tok_text(p, &nm, t, sizeof(t));
            fail(p, nm.pos, "unexpected %s in define clause", t);
            return NULL;
        }
        struct tt_node *name = parse_term(p, &nm);
        if (!name || !expect_rdelim(p, "define clause"))
            return NULL;
        parse_define_body(p, name->str, pos);
        return NULL;
    }
    default: {
        struct tt_node *n = new_node(p, TT_ACTION, pos);
        struct tok endtok;
        n->pipe = parse_pipeline(p, "command", K_RDELIM, true, false, &endtok);
        if (!n->pipe)
            return NULL;
        p->trim_text = endtok.trim;
        return n;
    }
    }
}

static struct tt_node *parse_list(struct parser *p, enum list_end *how, size_t *else_pos)
{
    struct tt_node *head = NULL, **tail = &head;
    *how = END_EOF;
    while (!p->failed) {
        /* Text up to the next "{{". */
        const char *open = NULL;
        if (p->pos < p->len)
            open = memmem(p->src + p->pos, p->len - p->pos, "{{", 2);
        size_t text_end = open ? (size_t)(open - p->src) : p->len;
        size_t ts = p->pos, te = text_end;
        bool left_trim = open && text_end + 3 <= p->len && p->src[text_end + 2] == '-' &&
                         text_end + 3 < p->len && is_space(p->src[text_end + 3]);
        if (p->trim_text) {
            while (ts < te && is_space(p->src[ts]))
                ts++;
            p->trim_text = false;
        }
        if (left_trim) {
            while (te > ts && is_space(p->src[te - 1]))
                te--;
        }
        if (te > ts) {
            struct tt_node *t = new_node(p, TT_TEXT, ts);
            t->str = p->src + ts;
            t->slen = te - ts;
            *tail = t;
            tail = &t->next;
        }
        if (!open) {
            p->pos = p->len;
            return head;
        }
        size_t pos = text_end;
        p->pos = text_end + 2 + (left_trim ? 2 : 0);
        /* Comments: slash-star right after the delimiter up to star-slash and the delimiter. */
        if (at(p, p->pos, "/*")) {
            const char *close = memmem(p->src + p->pos + 2, p->len - p->pos - 2, "*/", 2);
            if (!close) {
                fail(p, pos, "unclosed comment");
                return NULL;
            }
            p->pos = (size_t)(close - p->src) + 2;
            if (at(p, p->pos, " -}}") || at(p, p->pos, "\t-}}") || at(p, p->pos, "\n-}}") ||
                at(p, p->pos, "\r-}}")) {
                p->trim_text = true;
                p->pos += 4;
            } else if (at(p, p->pos, "}}")) {
                p->pos += 2;
            } else {
                fail(p, pos, "comment ends before closing delimiter");
                return NULL;
            }
            continue;
        }
        bool stop = false;
        struct tt_node *n = parse_action(p, pos, how, else_pos, &stop);
        if (p->failed)
            return NULL;
        if (stop)
            return head;
        if (n) {
            *tail = n;
            tail = &n->next;
        }
    }
    return NULL;
}

tk_tmpl_t *tk_tmpl_compile(const char *src, size_t len, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    tk_tmpl_t *t = tk_xcalloc(1, sizeof(*t));
    t->arena = tk_arena_new(8192, 0);
    struct parser *p = tk_xcalloc(1, sizeof(*p));
    p->src = src ? src : "";
    p->len = src ? len : 0;
    p->t = t;
    p->err = err;
    p->errlen = errlen;
    p->cline = 1;
    p->ccol = 1;
    /* The source must outlive nothing: text nodes point into a private copy. */
    char *copy = tk_arena_strndup(t->arena, p->src, p->len);
    TK_ASSERT(copy != NULL);
    p->src = copy;
    enum list_end how;
    size_t else_pos = 0;
    t->root = parse_list(p, &how, &else_pos);
    if (!p->failed && how != END_EOF)
        fail(p, else_pos, "unexpected {{%s}}", how == END_END ? "end" : "else");
    bool failed = p->failed;
    free(p);
    if (failed) {
        tk_tmpl_free(t);
        return NULL;
    }
    return t;
}

void tk_tmpl_free(tk_tmpl_t *t)
{
    if (!t)
        return;
    tk_arena_free(t->arena);
    free(t);
}
