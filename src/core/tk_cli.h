/* SPDX-License-Identifier: Apache-2.0 */
/* The command line every Turnpike daemon shares: -c/--conf=FILE, --check, --version, --help,
 * --print-config-docs. */
#ifndef TK_CLI_H
#define TK_CLI_H

#include "tk_common.h"

#include <stdio.h>

typedef struct tk_cli_spec {
    const char *program;           /* "turnpike-pump" */
    void (*usage)(FILE *out);      /* prints the --help text */
    void (*write_docs)(FILE *out); /* prints the configuration reference */
} tk_cli_spec_t;

typedef struct tk_cli {
    const char *conf_path; /* NULL when not given */
    bool check;
} tk_cli_t;

/** Parses @argv into @out. Returns -1 when the daemon should go on, else the exit status
 *  (0 after --version / --help / --print-config-docs, 2 after a usage error). */
int tk_cli_parse(const tk_cli_spec_t *spec, int argc, char **argv, tk_cli_t *out);

#endif
