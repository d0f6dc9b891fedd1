/* SPDX-License-Identifier: Apache-2.0 */
/* turnpike-gateway entry point (being written). */
int main(void)
{
    return 0;
}
