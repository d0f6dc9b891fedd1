/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder */
typedef int tk_placeholder_http1;
