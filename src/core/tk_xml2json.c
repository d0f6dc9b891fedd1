/* SPDX-License-Identifier: Apache-2.0 */
/* XML body to JSON with mxj's conventions, on libxml2's streaming reader with XXE disabled. */
#include "tk_xml2json.h"

#include <stdio.h>
#include <stdlib.h>

#include <libxml/xmlreader.h>

/* libxml2 itself refuses deeper documents without XML_PARSE_HUGE; keep a matching bound. */
#define MAX_DEPTH 256

struct frame {
    char *name;
    json_t *obj; /* attributes and children; NULL while there are none */
    char *text;  /* last non-empty trimmed run of character data */
    char *run;   /* character data since the last tag (Go's decoder yields it as one token) */
    size_t runlen;
};

struct errctx {
    char *err;
    size_t errlen;
    bool set;
};

static void on_error(void *arg, const char *msg, xmlParserSeverities severity,
                     xmlTextReaderLocatorPtr loc)
{
    struct errctx *e = arg;
    if (e->set ||
        (severity != XML_PARSER_SEVERITY_ERROR && severity != XML_PARSER_SEVERITY_VALIDITY_ERROR &&
         severity != XML_PARSER_SEVERITY_WARNING))
        return;
    if (severity == XML_PARSER_SEVERITY_WARNING)
        return;
    e->set = true;
    if (e->err && e->errlen) {
        int line = loc ? xmlTextReaderLocatorLineNumber(loc) : 0;
        snprintf(e->err, e->errlen, "XML syntax error on line %d: %s", line, msg ? msg : "");
        /* libxml2 messages end with a newline */
        size_t n = strlen(e->err);
        while (n > 0 && (e->err[n - 1] == '\n' || e->err[n - 1] == ' '))
            e->err[--n] = 0;
    }
}

/* mxj trims "\t\r\b\n " from both ends of character data. */
static bool trim_char(char c)
{
    return c == '\t' || c == '\r' || c == '\b' || c == '\n' || c == ' ';
}

/* Adds @v (stolen) under @key; a repeated key turns the member into an array. */
static void add_member(json_t *obj, const char *key, json_t *v)
{
    json_t *old = json_object_get(obj, key);
    if (!old) {
        json_object_set_new_nocheck(obj, key, v);
        return;
    }
    if (json_is_array(old)) {
        json_array_append_new(old, v);
        return;
    }
    json_t *arr = json_array();
    json_array_append(arr, old);
    json_array_append_new(arr, v);
    json_object_set_new_nocheck(obj, key, arr);
}

/* Ends the current run of character data: trimmed, and kept when not empty. */
static void flush_run(struct frame *f)
{
    if (!f->run)
        return;
    size_t a = 0, e = f->runlen;
    while (a < e && trim_char(f->run[a]))
        a++;
    while (e > a && trim_char(f->run[e - 1]))
        e--;
    if (e > a) {
        free(f->text);
        f->text = tk_xstrndup(f->run + a, e - a);
    }
    free(f->run);
    f->run = NULL;
    f->runlen = 0;
}

static json_t *frame_value(struct frame *f)
{
    flush_run(f);
    if (f->obj) {
        if (f->text)
            json_object_set_new_nocheck(f->obj, "#text", json_string_nocheck(f->text));
        json_t *v = f->obj;
        f->obj = NULL;
        return v;
    }
    return json_string_nocheck(f->text ? f->text : "");
}

static void frame_clear(struct frame *f)
{
    free(f->name);
    free(f->text);
    free(f->run);
    json_decref(f->obj);
    memset(f, 0, sizeof(*f));
}

json_t *tk_xml2json(const char *xml, size_t len, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    struct errctx ectx = {.err = err, .errlen = errlen};
    if (len > INT32_MAX) {
        snprintf(err, errlen, "XML document too large");
        return NULL;
    }
    /*
     * No XML_PARSE_NOENT (entities stay unexpanded), no DTDLOAD/DTDATTR, NONET: nothing outside
     * the document is ever read.
     */
    xmlTextReaderPtr r = xmlReaderForMemory(xml, (int)len, NULL, NULL,
                                            XML_PARSE_NONET | XML_PARSE_NOCDATA |
                                                XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!r) {
        snprintf(err, errlen, "XML reader could not be created");
        return NULL;
    }
    xmlTextReaderSetErrorHandler(r, on_error, &ectx);
    struct frame stack[MAX_DEPTH + 1];
    int depth = 0;
    json_t *result = NULL;
    int rc = 0;
    while (!result && (rc = xmlTextReaderRead(r)) == 1) {
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_ELEMENT) {
            if (depth >= MAX_DEPTH) {
                snprintf(err, errlen, "XML nesting deeper than %d", MAX_DEPTH);
                goto fail;
            }
            if (depth > 0)
                flush_run(&stack[depth - 1]);
            struct frame *f = &stack[depth++];
            memset(f, 0, sizeof(*f));
            const xmlChar *name = xmlTextReaderConstLocalName(r);
            f->name = tk_xstrdup(name ? (const char *)name : "");
            bool empty = xmlTextReaderIsEmptyElement(r) == 1;
            if (xmlTextReaderHasAttributes(r) == 1) {
                while (xmlTextReaderMoveToNextAttribute(r) == 1) {
                    const xmlChar *an = xmlTextReaderConstLocalName(r);
                    const xmlChar *av = xmlTextReaderConstValue(r);
                    char key[512];
                    snprintf(key, sizeof(key), "-%s", an ? (const char *)an : "");
                    if (!f->obj)
                        f->obj = json_object();
                    json_object_set_new_nocheck(f->obj, key,
                                                json_string_nocheck(av ? (const char *)av : ""));
                }
                xmlTextReaderMoveToElement(r);
            }
            if (!empty)
                continue;
            type = XML_READER_TYPE_END_ELEMENT; /* fall into the end handling below */
        }
        if (type == XML_READER_TYPE_END_ELEMENT) {
            if (depth == 0)
                continue;
            struct frame *f = &stack[--depth];
            json_t *v = frame_value(f);
            if (depth == 0) {
                result = json_object();
                json_object_set_new_nocheck(result, f->name, v);
            } else {
                struct frame *parent = &stack[depth - 1];
                if (!parent->obj)
                    parent->obj = json_object();
                add_member(parent->obj, f->name, v);
            }
            frame_clear(f);
            continue;
        }
        if ((type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA) && depth > 0) {
            const char *t = (const char *)xmlTextReaderConstValue(r);
            if (!t)
                continue;
            struct frame *f = &stack[depth - 1];
            size_t n = strlen(t);
            f->run = tk_xrealloc(f->run, f->runlen + n + 1);
            memcpy(f->run + f->runlen, t, n);
            f->runlen += n;
            f->run[f->runlen] = 0;
        }
        /* comments, PIs, DOCTYPE, whitespace and unexpanded entity references: skipped */
    }
    if (!result) {
        if (!ectx.set)
            snprintf(err, errlen, rc < 0 ? "XML syntax error" : "XML syntax error: unexpected EOF");
        goto fail;
    }
    xmlFreeTextReader(r);
    return result;
fail:
    while (depth > 0)
        frame_clear(&stack[--depth]);
    json_decref(result);
    xmlFreeTextReader(r);
    return NULL;
}
