/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON Schema (draft 4) validation over jansson, for Tyk's validate_json. A schema is compiled
 * once (at API load) into an immutable validator that any number of threads may use at once.
 * Failures are reported the way Tyk's validator (gojsonschema) words them: "field: description",
 * e.g. "firstName: firstName is required", "age: Invalid type. Expected: integer, given: string",
 * "(root): Invalid type. Expected: object, given: array".
 */
#ifndef TK_JSONSCHEMA_H
#define TK_JSONSCHEMA_H

#include "tk_common.h"

#include <jansson.h>

typedef struct tk_jsonschema tk_jsonschema_t;

/* At most this many errors are kept per validation (the rest are counted in `dropped`). */
#define TK_JSONSCHEMA_MAX_ERRORS 64

/* Schemas nested deeper than this are refused at compile time. */
#define TK_JSONSCHEMA_MAX_SCHEMA_DEPTH 128

/* Validation that descends deeper than this (document levels plus $ref/allOf hops) stops with
 * an "Internal Error" instead of exhausting the stack. */
#define TK_JSONSCHEMA_MAX_DEPTH 256

/* Validation work is bounded: BASE + PER_VALUE x (values in the document) units (a schema visit
 * is one, an error message eight), past
 * which the document is refused with an "Internal Error" (guards against exponential anyOf/oneOf
 * over recursive schemas). */
#define TK_JSONSCHEMA_BASE_STEPS 200000u
#define TK_JSONSCHEMA_STEPS_PER_VALUE 32u

/**
 * Compiles the draft-4 schema @schema (a JSON object; "id" and "$schema" are ignored). $ref may
 * point anywhere inside @schema ("#", "#/definitions/x", with ~0 ~1 and %XX escapes), including
 * recursively. On an invalid schema returns NULL and writes "<pointer>: <problem>" to @err, e.g.
 * "#/properties/age/minimum: must be a number". The result does not reference @schema.
 */
tk_jsonschema_t *tk_jsonschema_compile(const json_t *schema, char *err, size_t errlen);

/** Frees a compiled schema (NULL is fine). */
void tk_jsonschema_free(tk_jsonschema_t *s);

/** The outcome of one validation. Zero-initialise, then tk_jsonschema_result_clear() after use. */
typedef struct tk_jsonschema_result {
    char **errors; /* "field: description", in gojsonschema's order; malloc'd */
    size_t n;
    size_t dropped; /* errors beyond TK_JSONSCHEMA_MAX_ERRORS */
} tk_jsonschema_result_t;

/**
 * Validates @doc against @s. Returns true when valid. When @res is not NULL it receives the
 * errors (it must be empty or cleared). Never modifies @doc.
 */
bool tk_jsonschema_validate(const tk_jsonschema_t *s, const json_t *doc,
                            tk_jsonschema_result_t *res);

/** Joins the errors with @sep (Tyk uses "; "). Returns a malloc'd string ("" when none). */
char *tk_jsonschema_result_join(const tk_jsonschema_result_t *res, const char *sep);

/** Frees the errors and empties @res. */
void tk_jsonschema_result_clear(tk_jsonschema_result_t *res);

#endif
