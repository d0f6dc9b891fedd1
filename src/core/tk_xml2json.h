/* SPDX-License-Identifier: Apache-2.0 */
/* XML to a JSON value the way Tyk reads XML bodies for templates (clbanning/mxj NewMapXml). */
#ifndef TK_XML2JSON_H
#define TK_XML2JSON_H

#include "tk_common.h"

#include <jansson.h>

/**
 * Parses @len bytes of XML into {"<root>": value} with mxj's conventions: element local names
 * are keys; attributes become "-<name>" members; an element with only text is its string
 * (trimmed of spaces, tabs, CR, LF); an element with attributes or children keeps its text under
 * "#text"; repeated sibling elements become an array in document order; an empty element is "".
 * Every value is a string (mxj without casting). Comments, processing instructions and the
 * DOCTYPE are skipped. Entities other than the XML built-ins are never expanded and nothing is
 * fetched from the network (XXE-safe). Returns a new reference, or NULL with a message in @err.
 */
json_t *tk_xml2json(const char *xml, size_t len, char *err, size_t errlen);

#endif
