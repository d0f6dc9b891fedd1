/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder: being written */
typedef int tk_jwt_placeholder;
