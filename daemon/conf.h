/* SPDX-License-Identifier: MIT */
/* ss_conf: one YAML document with its file name and positioned errors,
 * and the table-driven key parser shared by the core and the plugins. */
#pragma once

#include <yaml.h>
#include "config.h"
#include "staffsync-plugin.h"

/* Load a YAML file (or a string, for tests) into a document. A syntax error
 * is recorded as "FILE:LINE:COLUMN: message" and returns -EINVAL; an
 * unreadable file records "FILE: strerror" and returns -errno. */
int conf_load_file(const char *path, ss_conf **ret, struct config_errors *errors);
int conf_load_string(const char *name, const char *yaml, ss_conf **ret,
		     struct config_errors *errors);
void conf_free(ss_conf *c);

/* The root node (NULL for an empty document). */
const yaml_node_t *conf_root(ss_conf *c);
yaml_document_t *conf_document(ss_conf *c);
size_t conf_error_count(ss_conf *c);

/* The same functions ss_host_services points at, for core code. */
void conf_error(ss_conf *c, const yaml_node_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int conf_parse(ss_conf *c, const yaml_node_t *mapping, const struct ss_conf_key *keys, void *out);
void conf_free_values(const struct ss_conf_key *keys, void *out);
const yaml_node_t *conf_get(ss_conf *c, const yaml_node_t *mapping, const char *key);
const yaml_node_t *conf_node(ss_conf *c, int index);
const char *conf_file(ss_conf *c);
char *conf_path(ss_conf *c, const char *path);
const char *conf_state_dir(ss_conf *c);
void conf_set_state_dir(ss_conf *c, const char *dir);   /* config_load sets it */

/* NULL, or a plain empty, ~ or null scalar: YAML's "no value". */
bool conf_is_null(const yaml_node_t *n);
/* "nothing", "a mapping", "a list" or "a string", for messages. */
const char *conf_node_kind(const yaml_node_t *n);

/* A scalar's value, or NULL (and an error recorded) when the node is not a scalar. */
const char *conf_scalar(ss_conf *c, const yaml_node_t *n, const char *what);
