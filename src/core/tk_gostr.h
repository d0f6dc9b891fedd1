/* SPDX-License-Identifier: Apache-2.0 */
/* Go string literals as Tyk's inputs contain them (templates, HTTP signature fields). */
#ifndef TK_GOSTR_H
#define TK_GOSTR_H

#include "tk_common.h"

/**
 * Go's strconv.Unquote for the body of a "..." or '...' literal (@s without the quotes;
 * @quote is the quote character): \a \b \f \n \r \t \v \\ \' \" \xHH \uHHHH \UHHHHHHHH \ooo.
 * Writes into @out (room for @n bytes is always enough). Returns false on a bad escape.
 */
bool tk_go_unquote(const char *s, size_t n, char quote, char *out, size_t *outn);

#endif
