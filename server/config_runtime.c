/* SPDX-License-Identifier: MIT */
/*
 * Exports given at run time (the control socket's add): the same keys,
 * checks and messages as a [NAME] section, so that what can be added
 * live could also have been written in a file, and the other way round.
 */
#include <stdio.h>
#include <string.h>

#include "config_priv.h"
#include "common/ini_lines.h"

int config_check_name(const char *name, char *err, size_t errlen)
{
	size_t len = strlen(name);

	if (!len || len > INI_MAX_SECTION_NAME) {
		snprintf(err, errlen, "an export name has 1 to %d characters",
			 INI_MAX_SECTION_NAME);
		return -1;
	}
	if (!strcmp(name, "server")) {
		snprintf(err, errlen, "'server' names the [server] section, not an export");
		return -1;
	}
	/* A section header could not hold these, and blanks at either end
	 * would not survive a round trip through a file. */
	for (const char *p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ']' ||
		    (*p == ';' && p > name && p[-1] == ' ')) {
			snprintf(err, errlen, "an export name cannot hold control characters, ']' or ' ;'");
			return -1;
		}
	}
	if (name[0] == ' ' || name[len - 1] == ' ' || name[0] == '\t' || name[len - 1] == '\t') {
		snprintf(err, errlen, "an export name cannot begin or end with a blank");
		return -1;
	}
	return 0;
}

int config_export_runtime(const char *name, const struct cnbd_param *pairs,
			  size_t npairs, struct export_config *ec,
			  char *err, size_t errlen)
{
	struct export_lines lines = { 0 };
	char reason[512];

	if (config_check_name(name, err, errlen) < 0)
		return -1;
	if (config_export_init(ec, name, CONFIG_RUNTIME_SOURCE, 0) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < npairs; i++) {
		/* No lines here: a negative one still marks a key as given. */
		if (config_export_key(ec, &lines, pairs[i].key, pairs[i].value,
				      -1 - (int)i, reason, sizeof(reason)) < 0) {
			snprintf(err, errlen, "export '%s': %s", name, reason);
			goto fail;
		}
	}
	if (config_export_check(ec, &lines, err, errlen) == 0)
		return 0;
fail:
	config_export_free(ec);
	return -1;
}
