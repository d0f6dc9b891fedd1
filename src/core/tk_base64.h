/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 with Go's rules: standard or URL alphabet, padded or raw, CR/LF skipped on input. */
#ifndef TK_BASE64_H
#define TK_BASE64_H

#include "tk_common.h"

/**
 * Encodes @len bytes: @url picks the URL-safe alphabet, @padded adds '=' padding (Go's
 * StdEncoding / URLEncoding; Raw* without). Returns a malloc'd NUL-terminated string; its
 * length goes to *@outlen (may be NULL).
 */
char *tk_b64_encode(const void *data, size_t len, bool url, bool padded, size_t *outlen);

/**
 * Decodes as Go does: @url picks the alphabet, @padded requires '=' padding (else '=' is
 * invalid); CR and LF are skipped anywhere; nothing may follow the padding; non-zero trailing
 * bits are accepted (Go's non-strict decoders). Returns a malloc'd buffer with one spare NUL
 * byte after the data and its length in *@out_len (may be NULL), or NULL on invalid input.
 */
unsigned char *tk_b64_decode(const char *in, size_t len, bool url, bool padded, size_t *out_len);

#endif
