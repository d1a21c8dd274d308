/* credentials.h - credentials from Docker's config.json, as `docker login`
 * leaves them: "auths" entries, per-host "credHelpers" and the default
 * "credsStore" (docker-credential-<name> helpers).
 *
 * Internal to registry/: http.c asks for them when a registry challenges
 * and the config names a docker_config but no username.
 */
#ifndef REG_CREDENTIALS_H
#define REG_CREDENTIALS_H

#define REG_CREDS_FILE_MAX ((size_t)1 << 20)	    /* config.json */
#define REG_CREDS_HELPER_OUT_MAX ((size_t)64 << 10) /* helper stdout */
#define REG_CREDS_HELPER_TIMEOUT 30		    /* seconds */

/* What was found. All NULL: nothing for this host (anonymous). */
struct reg_creds {
	char *username;	      /* NULL with an identity token only */
	char *password;	      /* secret */
	char *identity_token; /* secret: an OAuth2 refresh token */
	char source[96];      /* for messages: "auths", "docker-credential-x" */
};

/* The host[:port] of a registry base URL ("https://R:5000/x" -> "r:5000",
 * lowercased), the key Docker files credentials under. *out is malloc'd.
 * RV_INVALID for a URL without a host. */
int reg_creds_host(char **out, const char *url);

/* Look host (as reg_creds_host gives it) up in the Docker config file at
 * path (at most REG_CREDS_FILE_MAX bytes; "~" is not expanded). In order:
 * "auths" (keys matched as Docker does: "host", "https://host",
 * "http://host/v2/", ...; "https://index.docker.io/v1/" for docker.io),
 * an entry with "auth" (base64 user:password) or "identitytoken"; else
 * "credHelpers"[host]; else "credsStore". A helper runs as
 * `docker-credential-<name> get` (no shell, found on PATH), the server
 * address on stdin; its answer {"Username","Secret"} is read from stdout
 * (at most REG_CREDS_HELPER_OUT_MAX bytes); Username "<token>" means the
 * Secret is an identity token. It is killed after timeout_s seconds.
 *
 * 0 and out filled (or all NULL when nothing matches or the helper says
 * "credentials not found"); the caller releases out.
 * RV_INVALID: the file is missing, unreadable as JSON or too large, or a
 * helper name is not [a-z0-9._-]+ or not on PATH. RV_AUTH: the helper
 * failed, timed out or answered garbage. RV_NOMEM. Messages name the file
 * or the helper, never a secret. */
int reg_creds_lookup(struct reg_creds *out, const char *path, const char *host,
		     int timeout_s);

/* Wipe and free the secrets; out can be looked up into again. */
void reg_creds_release(struct reg_creds *c);

#endif
