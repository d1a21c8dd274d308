/* config.h - the YAML configuration file (README.md has the reference).
 *
 * Unknown keys are errors (a typo must not silently disable a setting).
 * Secrets are never stored in the file: passwords come from *_file keys
 * or the environment and are read when needed.
 */
#ifndef CLI_CONFIG_H
#define CLI_CONFIG_H

#include "util/strlist.h"

#include <stddef.h>

struct cfg_registry {
	char *name;
	char *url;
	char *username;
	char *password_file;
	char *password_env;
	char *ca_file;
	int insecure;
};

struct cfg_source {
	char *registry;
	struct rv_strlist repositories; /* globs; empty: every repository */
	struct rv_strlist exclude;
};

struct cfg_target {
	char *name;
	char *type; /* "dir" */
	char *path;
};

struct config {
	char *path;
	char *catalog;
	char *passphrase_file;
	char *fingerprint; /* key.fingerprint: the pinned signing key */
	struct cfg_registry *registries;
	size_t n_registries;
	struct cfg_source *sources;
	size_t n_sources;
	struct cfg_target *targets;
	size_t n_targets;
};

/* Load and validate path. RV_NOTFOUND if it does not exist, RV_INVALID
 * with "config 'PATH' line N: ..." for anything wrong in it. */
int cfg_load(struct config **out, const char *path);
void cfg_free(struct config *c);

/* The registry with this name, or NULL. */
const struct cfg_registry *cfg_registry_find(const struct config *c,
					     const char *name);

/* The store passphrase: $REGVAULT_PASSWORD, else key.passphrase_file
 * (one trailing newline stripped). RV_INVALID when neither is set. The
 * caller wipes and frees *out. */
int cfg_passphrase(char **out, size_t *len, const struct config *c);

/* A registry's password from password_file or password_env (NULL in
 * *out when none is configured). */
int cfg_registry_password(char **out, const struct cfg_registry *r);

#endif
