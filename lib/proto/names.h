/* SPDX-License-Identifier: MIT */
/* The spec's names for option numbers, reply types and commands: what
 * logs and error messages print instead of the numbers. */
#ifndef CNBD_PROTO_NAMES_H
#define CNBD_PROTO_NAMES_H

#include <stdint.h>

#include "cnbd/protocol.h"

const char *nbd_opt_name(uint32_t opt);		/* "GO" */
const char *nbd_rep_name(uint32_t type);	/* "NBD_REP_ERR_UNSUP" */
const char *nbd_cmd_name(uint16_t type);	/* "WRITE_ZEROES" */

#endif
