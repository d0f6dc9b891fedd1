/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder: being written */
typedef int gw_limits_placeholder;
