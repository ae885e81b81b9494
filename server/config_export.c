/* SPDX-License-Identifier: MIT */
/*
 * [NAME] sections: one export each. Keys the server knows are checked
 * here; every other key is kept as a parameter for the backend, which
 * judges it when the export is opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnbd/protocol.h"
#include "config_priv.h"
#include "common/parse.h"

#define DEFAULT_MIN_BLOCK	1
#define DEFAULT_PREF_BLOCK	4096
#define DEFAULT_MAX_BLOCK	(32 * 1024 * 1024)
#define MAX_MIN_BLOCK		(64 * 1024)
/* Each worker allocates request buffers this large: keep a client from
 * asking for gigabytes. */
#define MAX_MAX_BLOCK		(64 * 1024 * 1024)

static bool power_of_2(uint64_t n)
{
	return n && !(n & (n - 1));
}

int config_export_init(struct export_config *ec, const char *name,
		       const char *source, int line)
{
	memset(ec, 0, sizeof(*ec));
	ec->exp.name = strdup(name);
	ec->source = strdup(source);
	ec->exp.min_block = DEFAULT_MIN_BLOCK;
	ec->exp.pref_block = DEFAULT_PREF_BLOCK;
	ec->exp.max_block = DEFAULT_MAX_BLOCK;
	ec->line = line;
	if (ec->exp.name && ec->source)
		return 0;
	config_export_free(ec);
	return -1;
}

/* One block size key; the relations between the three are checked once
 * the section is complete (config_export_check). */
static int set_block(uint32_t *dst, int *first, int line, const char *key,
		     const char *value, char *err, size_t errlen)
{
	int64_t n;

	if (config_twice(first, line, key, err, errlen) < 0)
		return -1;
	if (parse_size(value, &n) < 0) {
		snprintf(err, errlen, "%s: '%s' is not a size (a number with an optional K, M or G suffix)",
			 key, value);
		return -1;
	}
	if (!strcmp(key, "min-block-size") && (!power_of_2(n) || n > MAX_MIN_BLOCK)) {
		snprintf(err, errlen, "min-block-size: %s is not a power of 2 from 1 to 64K", value);
		return -1;
	}
	if (!strcmp(key, "preferred-block-size") && (!power_of_2(n) || n < 512 || n > MAX_MAX_BLOCK)) {
		snprintf(err, errlen, "preferred-block-size: %s is not a power of 2 from 512 to 64M", value);
		return -1;
	}
	if (!strcmp(key, "max-block-size") && (n < 512 || n > MAX_MAX_BLOCK)) {
		snprintf(err, errlen, "max-block-size: %s is not from 512 to 64M", value);
		return -1;
	}
	*dst = (uint32_t)n;
	return 0;
}

static int add_param(struct export_config *ec, const char *key, const char *value,
		     char *err, size_t errlen)
{
	struct cnbd_param *params;
	struct cnbd_param *p;

	for (size_t i = 0; i < ec->nparams; i++) {
		if (!strcmp(ec->params[i].key, key)) {
			snprintf(err, errlen, "'%s' given twice", key);
			return -1;
		}
	}
	params = realloc(ec->params, (ec->nparams + 1) * sizeof(*params));
	if (!params)
		goto oom;
	ec->params = params;
	p = &params[ec->nparams];
	p->key = strdup(key);
	p->value = strdup(value);
	if (!p->key || !p->value) {
		free((char *)p->key);
		free((char *)p->value);
		goto oom;
	}
	ec->nparams++;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static int set_max_connections(struct export_config *ec, struct export_lines *l,
			       int line, const char *value, char *err, size_t errlen)
{
	uint64_t n;

	if (config_twice(&l->max_connections, line, "max-connections", err, errlen) < 0)
		return -1;
	if (parse_uint(value, 65535, &n) < 0) {
		snprintf(err, errlen,
			 "max-connections: '%s' is not a number from 0 (unlimited) to 65535", value);
		return -1;
	}
	ec->exp.max_connections = n;
	return 0;
}

/* tls = require: this export only after STARTTLS. Nothing else is
 * accepted: an export can ask for more than the server's tls, never
 * less (the engine refuses everything but STARTTLS on a tls = require
 * server). */
static int set_tls(struct export_config *ec, struct export_lines *l, int line,
		   const char *value, char *err, size_t errlen)
{
	if (config_twice(&l->tls, line, "tls", err, errlen) < 0)
		return -1;
	if (strcmp(value, "require")) {
		snprintf(err, errlen,
			 "tls: '%s' is not 'require' (the one setting an export has; [server] tls decides the rest)",
			 value);
		return -1;
	}
	ec->exp.tls_required = true;
	return 0;
}

/* The description goes out in INFO and LIST replies, whose strings the
 * protocol caps at NBD_MAX_STRING bytes: refuse more here, where the
 * operator sees file:line (or the control socket's error), rather than
 * cut it short on the wire. */
static int set_description(struct cnbd_export *e, struct export_lines *l, int line,
			   const char *value, char *err, size_t errlen)
{
	size_t len = strlen(value);

	if (len > NBD_MAX_STRING) {
		snprintf(err, errlen, "description: %zu bytes, more than the protocol's %d",
			 len, NBD_MAX_STRING);
		return -1;
	}
	return config_set_string(&e->description, &l->description, line, "description",
				 value, err, errlen);
}

int config_export_key(struct export_config *ec, struct export_lines *l,
		      const char *key, const char *value, int line,
		      char *err, size_t errlen)
{
	struct cnbd_export *e = &ec->exp;

	if (!strcmp(key, "backend"))
		return config_set_string(&ec->backend_name, &l->backend, line, key, value, err, errlen);
	if (!strcmp(key, "description"))
		return set_description(e, l, line, value, err, errlen);
	if (!strcmp(key, "readonly"))
		return config_set_bool(&e->readonly, &l->readonly, line, key, value, err, errlen);
	if (!strcmp(key, "min-block-size"))
		return set_block(&e->min_block, &l->min_block, line, key, value, err, errlen);
	if (!strcmp(key, "preferred-block-size"))
		return set_block(&e->pref_block, &l->pref_block, line, key, value, err, errlen);
	if (!strcmp(key, "max-block-size"))
		return set_block(&e->max_block, &l->max_block, line, key, value, err, errlen);
	if (!strcmp(key, "max-connections"))
		return set_max_connections(ec, l, line, value, err, errlen);
	if (!strcmp(key, "tls"))
		return set_tls(ec, l, line, value, err, errlen);
	if (!strcmp(key, "allow") || !strcmp(key, "deny"))
		return config_acl_key(&ec->acl, key, value, err, errlen);
	return add_param(ec, key, value, err, errlen);
}

static int last_block_line(const struct export_config *ec, const struct export_lines *l)
{
	int line = ec->line;

	if (l->min_block > line)
		line = l->min_block;
	if (l->pref_block > line)
		line = l->pref_block;
	if (l->max_block > line)
		line = l->max_block;
	return line;
}

/* The rules of NBD_INFO_BLOCK_SIZE (doc/proto.md). */
static int check_blocks(const struct export_config *ec, char *reason, size_t len)
{
	const struct cnbd_export *e = &ec->exp;
	uint32_t floor = e->min_block > 512 ? e->min_block : 512;

	if (e->pref_block < floor) {
		snprintf(reason, len, "preferred-block-size %u is smaller than %u (the larger of min-block-size and 512)",
			 e->pref_block, floor);
		return -1;
	}
	if (e->max_block < e->pref_block) {
		snprintf(reason, len, "max-block-size %u is smaller than preferred-block-size %u",
			 e->max_block, e->pref_block);
		return -1;
	}
	if (e->max_block % e->min_block) {
		snprintf(reason, len, "max-block-size %u is not a multiple of min-block-size %u",
			 e->max_block, e->min_block);
		return -1;
	}
	return 0;
}

const char *config_where(const struct export_config *ec, char *buf, size_t len)
{
	if (ec->line)
		snprintf(buf, len, "%s:%d: ", ec->source, ec->line);
	else
		buf[0] = '\0';
	return buf;
}

int config_export_check(const struct export_config *ec,
			const struct export_lines *l, char *err, size_t errlen)
{
	char reason[512], where[512];

	config_where(ec, where, sizeof(where));
	if (!ec->backend_name) {
		snprintf(err, errlen, "%sexport '%s' has no backend (add backend = file, memory, ...)",
			 where, ec->exp.name);
		return -1;
	}
	if (check_blocks(ec, reason, sizeof(reason)) < 0) {
		if (ec->line)
			snprintf(where, sizeof(where), "%s:%d: ", ec->source,
				 last_block_line(ec, l));
		snprintf(err, errlen, "%sexport '%s': %s", where, ec->exp.name, reason);
		return -1;
	}
	return 0;
}

void config_export_free(struct export_config *ec)
{
	for (size_t i = 0; i < ec->nparams; i++) {
		free((char *)ec->params[i].key);
		free((char *)ec->params[i].value);
	}
	free(ec->params);
	free(ec->backend_name);
	free(ec->source);
	free(ec->exp.name);
	free(ec->exp.description);
	acl_free(&ec->acl);
	memset(ec, 0, sizeof(*ec));
}
