/* SPDX-License-Identifier: Apache-2.0 */
/* Shared daemon command line (tk_cli.h). */
#include "tk_cli.h"
#include "tk_version.h"

#include <getopt.h>

int tk_cli_parse(const tk_cli_spec_t *spec, int argc, char **argv, tk_cli_t *out)
{
    static const struct option opts[] = {
        {"conf", required_argument, NULL, 'c'},        {"check", no_argument, NULL, 'k'},
        {"version", no_argument, NULL, 'v'},           {"help", no_argument, NULL, 'h'},
        {"print-config-docs", no_argument, NULL, 'd'}, {NULL, 0, NULL, 0},
    };
    out->conf_path = NULL;
    out->check = false;
    int o;
    while ((o = getopt_long(argc, argv, "c:hv", opts, NULL)) != -1) {
        switch (o) {
        case 'c':
            out->conf_path = optarg;
            break;
        case 'k':
            out->check = true;
            break;
        case 'v':
            printf("%s %s\n", spec->program, TURNPIKE_VERSION);
            return 0;
        case 'h':
            spec->usage(stdout);
            return 0;
        case 'd':
            spec->write_docs(stdout);
            return 0;
        default:
            spec->usage(stderr);
            return 2;
        }
    }
    return -1;
}
