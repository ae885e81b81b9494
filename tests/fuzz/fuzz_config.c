/* SPDX-License-Identifier: MIT */
/*
 * Target config: nbd-serverd's configuration parser, parse-only (no
 * backend is loaded, no storage touched), on the input as a file's
 * text; the line reader under it through both of its interfaces; and
 * the control socket's run-time export check, with the input's first
 * line as the export name and each later line as key=value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_target.h"
#include "fuzz_text.h"
#include "common/ini_lines.h"

#define MAX_PAIRS 64

static int on_section(void *user, const char *section, int line, char *err,
		      size_t errlen)
{
	(void)user;
	(void)section;
	/* Stop on a made-up condition too, so the stop path runs. */
	if (line > 1000) {
		snprintf(err, errlen, "too many lines");
		return -1;
	}
	return 0;
}

static int on_key(void *user, const char *section, const char *key,
		  const char *value, int line, char *err, size_t errlen)
{
	int *n = user;

	(void)section;
	(void)line;
	if (!strcmp(key, "stop") && *value) {
		snprintf(err, errlen, "stopped at '%s'", value);
		return -1;
	}
	++*n;
	return 0;
}

static int on_key_legacy(void *user, const char *section, const char *key,
			 const char *value, char *err, size_t errlen)
{
	return on_key(user, section, key, value, 0, err, errlen) == 0;
}

static void runtime_export(char *text)
{
	struct cnbd_param pairs[MAX_PAIRS];
	struct export_config ec;
	char err[512], *name, *line, *save = NULL;
	size_t n = 0;

	name = strtok_r(text, "\n", &save);
	if (!name)
		return;
	while (n < MAX_PAIRS && (line = strtok_r(NULL, "\n", &save))) {
		char *eq = strchr(line, '=');

		if (!eq)
			continue;
		*eq = '\0';
		pairs[n].key = line;
		pairs[n].value = eq + 1;
		n++;
	}
	memset(&ec, 0, sizeof(ec));
	if (config_export_runtime(name, pairs, n, &ec, err, sizeof(err)) == 0)
		config_export_free(&ec);
}

void fuzz_config(const uint8_t *data, size_t len)
{
	const struct ini_callbacks cb = { .section = on_section, .key = on_key };
	struct server_config cfg;
	char err[1024];
	char *text = fuzz_text(data, len);
	int keys = 0;

	memset(&cfg, 0, sizeof(cfg));
	if (config_parse_string("fuzz.conf", text, &cfg, err, sizeof(err)) == 0)
		config_free(&cfg);
	ini_parse_lines_string_ex("fuzz.ini", text, &cb, &keys, err, sizeof(err));
	ini_parse_lines_string("fuzz.ini", text, on_key_legacy, &keys, err,
			       sizeof(err));
	runtime_export(text);
	free(text);
}

FUZZ_TARGET(fuzz_config)
