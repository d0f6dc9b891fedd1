/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: JSON Schema. A first byte 's' makes the rest a schema to compile (then it
 * validates a few fixed documents and itself); anything else is a document validated against
 * fixed schemas covering every keyword, including a recursive $ref.
 */
#include "tk_jsonschema.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const fixed_schemas[] = {
    /* Tyk's own test schema */
    "{\"type\":\"object\",\"properties\":{\"firstName\":{\"type\":\"string\"},"
    "\"lastName\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\",\"minimum\":0},"
    "\"objs\":{\"enum\":[\"a\",\"b\",\"c\"],\"type\":\"string\"}},"
    "\"required\":[\"firstName\",\"lastName\"]}",
    /* recursive tree with patterns, formats and combinators */
    "{\"definitions\":{\"node\":{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":8,\"pattern\":\"^[a-z]+$\"},"
    "\"mail\":{\"format\":\"email\"},\"at\":{\"format\":\"date-time\"},"
    "\"ip\":{\"anyOf\":[{\"format\":\"ipv4\"},{\"format\":\"ipv6\"}]},"
    "\"home\":{\"format\":\"uri\"},\"host\":{\"format\":\"hostname\"},"
    "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/"
    "node\"},\"uniqueItems\":true}},"
    "\"patternProperties\":{\"^x-\":{\"type\":[\"string\",\"null\"]}},"
    "\"additionalProperties\":false,\"dependencies\":{\"mail\":[\"name\"]}}},"
    "\"$ref\":\"#/definitions/node\"}",
    /* arrays and numbers */
    "{\"type\":\"array\",\"items\":[{\"type\":\"number\",\"multipleOf\":0.5,\"maximum\":100,"
    "\"exclusiveMaximum\":true},{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":3}]},"
    "{\"not\":{\"type\":\"null\"}},{\"allOf\":[{\"minProperties\":1},{\"maxProperties\":3}]}],"
    "\"additionalItems\":{\"const\":{\"k\":[1,2]}},\"minItems\":1,\"maxItems\":20}",
};

static tk_jsonschema_t *schemas[sizeof(fixed_schemas) / sizeof(fixed_schemas[0])];
static size_t sink;

static void init(void)
{
    for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
        json_t *j = json_loads(fixed_schemas[i], 0, NULL);
        char err[256];
        schemas[i] = j ? tk_jsonschema_compile(j, err, sizeof(err)) : NULL;
        json_decref(j);
        if (!schemas[i])
            abort();
    }
}

static void check(const tk_jsonschema_t *s, const json_t *doc)
{
    tk_jsonschema_result_t res = {0};
    bool ok = tk_jsonschema_validate(s, doc, &res);
    char *joined = tk_jsonschema_result_join(&res, "; ");
    /* a valid result has no errors; an invalid one has at least one */
    if (ok != (res.n == 0 && res.dropped == 0) || (!ok && joined[0] == '\0'))
        abort();
    sink += strlen(joined);
    free(joined);
    tk_jsonschema_result_clear(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        init();
        ready = true;
    }
    if (size == 0)
        return 0;
    bool schema_mode = data[0] == 's';
    const char *text = (const char *)data + (schema_mode ? 1 : 0);
    size_t len = size - (schema_mode ? 1 : 0);
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!v)
        return 0;
    if (schema_mode) {
        char err[256];
        tk_jsonschema_t *s = tk_jsonschema_compile(v, err, sizeof(err));
        if (s) {
            static const char *const docs[] = {"null", "[1,\"a\",{}]", "{\"a\":{\"b\":[true]}}",
                                               "\"x@y.z\"", "12.5"};
            for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
                json_t *d = json_loads(docs[i], JSON_DECODE_ANY, NULL);
                check(s, d);
                json_decref(d);
            }
            check(s, v);
            tk_jsonschema_free(s);
        } else if (err[0] == '\0') {
            abort(); /* a refused schema always says why */
        }
    } else {
        for (size_t i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++)
            check(schemas[i], v);
    }
    json_decref(v);
    return 0;
}
