/* credentials.c - Docker's config.json: "auths", "credHelpers",
 * "credsStore", and the docker-credential-<name> helpers they name.
 *
 * Helpers run without a shell (posix_spawn of the file found on PATH), get
 * the server address on stdin, and are killed when they overrun their time
 * or their output cap. Secrets never go into messages: a helper's output
 * is quoted only when it failed, and then it holds no secret. */
#include "registry/credentials.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define HUB_KEY "https://index.docker.io/v1/"
#define HOST_MAX 256
#define HELPER_NAME_MAX 64

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void reg_creds_release(struct reg_creds *c)
{
	if (!c)
		return;
	free(c->username);
	wipe_free(c->password);
	wipe_free(c->identity_token);
	memset(c, 0, sizeof(*c));
}

/* "https://Host:5000/v1/" -> "host:5000" (cap bytes); "" if too long. */
static void key_hostname(char *out, size_t cap, const char *key)
{
	size_t n;

	if (!strncasecmp(key, "https://", 8))
		key += 8;
	else if (!strncasecmp(key, "http://", 7))
		key += 7;
	n = strcspn(key, "/");
	if (n >= cap) {
		out[0] = '\0';
		return;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)key[i]);
	out[n] = '\0';
}

int reg_creds_host(char **out, const char *url)
{
	char host[HOST_MAX];

	*out = NULL;
	key_hostname(host, sizeof(host), url ? url : "");
	if (!host[0] || strchr(host, '@'))
		return rv_err_set(RV_INVALID,
				  "cannot find the host in registry url "
				  "'%.200s'",
				  url ? url : "");
	*out = strdup(host);
	return *out ? 0 : rv_err_set(RV_NOMEM, "out of memory");
}

static int is_hub(const char *host)
{
	return !strcmp(host, "docker.io") || !strcmp(host, "index.docker.io") ||
	       !strcmp(host, "registry-1.docker.io");
}

/* ---- base64 (the "auth" field) ------------------------------------------*/

/* Standard base64, padding optional. NULL when malformed or when it
 * decodes to a NUL byte. */
static char *b64_decode(const char *in)
{
	size_t n = strlen(in), o = 0;
	unsigned acc = 0;
	int bits = 0;
	char *out;

	while (n && in[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return NULL;
	out = malloc(n / 4 * 3 + 3);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int v = rv_b64_value((unsigned char)in[i]);
		if (v < 0)
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o] = (char)((acc >> bits) & 0xff);
			if (!out[o])
				goto bad;
			o++;
		}
	}
	out[o] = '\0';
	return out;
bad:
	explicit_bzero(out, n / 4 * 3 + 3);
	free(out);
	return NULL;
}

/* ---- auths ---------------------------------------------------------------*/

static int set_dup(char **slot, const char *s)
{
	*slot = strdup(s);
	return *slot ? 0 : rv_err_set(RV_NOMEM, "out of memory");
}

/* The "auths" entry for host: the exact key first, then any key whose
 * hostname is host (Docker's ConvertToHostname). */
static json_t *auths_entry(json_t *auths, const char *key, const char *host)
{
	char kh[HOST_MAX];
	const char *k;
	json_t *v;

	v = json_object_get(auths, key);
	if (v)
		return v;
	json_object_foreach(auths, k, v)
	{
		key_hostname(kh, sizeof(kh), k);
		if (!strcmp(kh, host) || (is_hub(host) && is_hub(kh)))
			return v;
	}
	return NULL;
}

static const char *str_field(json_t *obj, const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));
	return s && *s ? s : NULL;
}

/* 0 with out filled (or untouched when the entry holds nothing). */
static int auths_take(struct reg_creds *out, json_t *entry, const char *path,
		      const char *key)
{
	const char *auth = str_field(entry, "auth");
	const char *itok = str_field(entry, "identitytoken");
	const char *user = str_field(entry, "username");
	const char *pass = str_field(entry, "password");
	char *plain = NULL, *colon;
	int rv = 0;

	if (!json_is_object(entry))
		return rv_err_set(RV_INVALID,
				  "docker config '%s': auths entry '%.200s' "
				  "is not an object",
				  path, key);
	if (auth) {
		plain = b64_decode(auth);
		colon = plain ? strchr(plain, ':') : NULL;
		if (!colon) {
			rv = rv_err_set(RV_INVALID,
					"docker config '%s': the \"auth\" of "
					"'%.200s' is not base64 of "
					"user:password",
					path, key);
			goto done;
		}
		*colon = '\0';
		if ((rv = set_dup(&out->username, plain)) ||
		    (rv = set_dup(&out->password, colon + 1)))
			goto done;
	} else if (user) {
		if ((rv = set_dup(&out->username, user)) ||
		    (rv = set_dup(&out->password, pass ? pass : "")))
			goto done;
	}
	if (itok && (rv = set_dup(&out->identity_token, itok)))
		goto done;
	if (out->username || out->identity_token)
		snprintf(out->source, sizeof(out->source), "auths");
done:
	if (plain) {
		explicit_bzero(plain, strlen(plain));
		free(plain);
	}
	if (rv)
		reg_creds_release(out);
	return rv;
}

/* ---- helpers -------------------------------------------------------------*/

static int helper_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > HELPER_NAME_MAX)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

/* The absolute path of prog on $PATH (relative entries are skipped, as a
 * PATH of "." must not run a file from wherever we are). */
static int path_lookup(char **out, const char *prog)
{
	const char *path = getenv("PATH");
	struct rv_buf b = RV_BUF_INIT(8192);
	struct stat st;
	int rv = RV_NOTFOUND;

	*out = NULL;
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (const char *p = path; *p;) {
		size_t k = strcspn(p, ":");
		if (k && p[0] == '/') {
			rv_buf_reset(&b);
			if (rv_buf_printf(&b, "%.*s/%s", (int)k, p, prog)) {
				rv_err_clear();
			} else if (!stat(rv_buf_cstr(&b), &st) &&
				   S_ISREG(st.st_mode) &&
				   !access(rv_buf_cstr(&b), X_OK)) {
				*out = rv_buf_detach(&b, NULL);
				rv = *out ? 0 : RV_NOMEM;
				break;
			}
		}
		p += k;
		if (*p == ':')
			p++;
	}
	rv_buf_release(&b);
	return rv;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for pid until deadline (ms, monotonic); kill it after. Returns the
 * wait status; *timed_out set when it had to be killed. */
static int reap(pid_t pid, long long deadline, int *timed_out)
{
	int status = 0;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return status;
		if (w < 0 && errno != EINTR)
			return 0;
		if (now_ms() >= deadline) {
			*timed_out = 1;
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return status;
		}
		{
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
}

/* The first line of a failed helper's output, printable, for messages. */
static void first_line(char *out, size_t cap, const struct rv_buf *b)
{
	size_t n = 0;
	const char *s = rv_buf_cstr(b);

	while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')
		s++;
	for (; *s && *s != '\n' && *s != '\r' && n + 1 < cap; s++)
		out[n++] = (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f
			       ? '?'
			       : *s;
	out[n] = '\0';
}

/* Our environment without REGVAULT_* (the store passphrase may be
 * there): a helper needs PATH, HOME and its own settings, not our secrets.
 * NULL when out of memory. The strings are environ's. */
static char **helper_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "REGVAULT_", 9))
			env[k++] = environ[i];
	return env;
}

/* Run `docker-credential-NAME get` with server on stdin; its stdout into
 * outbuf. 0 when it exited 0; 1 when it said "credentials not found". */
static int helper_run(struct rv_buf *outbuf, const char *prog,
		      const char *server, int timeout_s)
{
	char *exe = NULL, **env = NULL;
	int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int fa_ok = 0, attr_ok = 0, timed_out = 0, status, rv, err;
	char *argv[3];
	char line[200];
	long long deadline;
	pid_t pid = -1;
	sigset_t none, dfl;
	size_t slen = strlen(server);

	rv = path_lookup(&exe, prog);
	if (rv) {
		rv = rv == RV_NOMEM
			 ? rv_err_set(RV_NOMEM, "out of memory")
			 : rv_err_set(RV_INVALID,
				      "credential helper '%s' is not "
				      "on PATH (install it, or fix "
				      "docker_config)",
				      prog);
		goto done;
	}
	/* the server address fits in the pipe: written before the helper
	 * starts, so a helper that never reads cannot block us or SIGPIPE
	 * us */
	if (slen > 4096 || pipe2(in_pipe, O_CLOEXEC) ||
	    pipe2(out_pipe, O_CLOEXEC)) {
		rv = rv_err_errno(RV_IO, errno,
				  "cannot run credential helper '%s'", prog);
		goto done;
	}
	if (rv_fs_write_all(in_pipe[1], server, slen, "a pipe")) {
		rv = rv_err_set(RV_IO, "cannot run credential helper '%s'",
				prog);
		goto done;
	}
	close(in_pipe[1]);
	in_pipe[1] = -1;

	if (posix_spawn_file_actions_init(&fa)) {
		rv = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	fa_ok = 1;
	if (posix_spawnattr_init(&attr)) {
		rv = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	attr_ok = 1;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	if (posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0) ||
	    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1) ||
	    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
					     0) ||
	    posix_spawnattr_setsigmask(&attr, &none) ||
	    posix_spawnattr_setsigdefault(&attr, &dfl) ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF)) {
		rv = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	argv[0] = (char *)prog;
	argv[1] = (char *)"get";
	argv[2] = NULL;
	env = helper_env();
	if (!env) {
		rv = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	err = posix_spawn(&pid, exe, &fa, &attr, argv, env);
	if (err) {
		pid = -1;
		rv = rv_err_errno(RV_INVALID, err,
				  "cannot run credential helper '%s'", exe);
		goto done;
	}
	close(out_pipe[1]);
	out_pipe[1] = -1;
	close(in_pipe[0]);
	in_pipe[0] = -1;

	deadline = now_ms() + (long long)timeout_s * 1000;
	for (;;) {
		struct pollfd pfd = {out_pipe[0], POLLIN, 0};
		unsigned char chunk[4096];
		long long left = deadline - now_ms();
		ssize_t n;
		int pr;

		if (left <= 0) {
			timed_out = 1;
			break;
		}
		pr = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			rv = rv_err_errno(RV_IO, errno,
					  "credential helper '%s'", prog);
			goto done;
		}
		if (pr == 0)
			continue;
		n = read(out_pipe[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((size_t)n > outbuf->max - outbuf->len) {
			rv =
			    rv_err_set(RV_AUTH,
				       "credential helper '%s' wrote more than "
				       "%zu bytes",
				       prog, outbuf->max);
			goto done;
		}
		if ((rv = rv_buf_add(outbuf, chunk, (size_t)n)))
			goto done;
	}
	if (timed_out) {
		kill(pid, SIGKILL);
		deadline = now_ms();
	}
	status = reap(pid, deadline, &timed_out);
	pid = -1;
	if (timed_out) {
		rv = rv_err_set(RV_AUTH,
				"credential helper '%s' did not answer within "
				"%d s (killed)",
				prog, timeout_s);
		goto done;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		rv = 0;
		goto done;
	}
	if (WIFEXITED(status) &&
	    strstr(rv_buf_cstr(outbuf), "credentials not found")) {
		rv = 1;
		goto done;
	}
	first_line(line, sizeof(line), outbuf);
	if (WIFSIGNALED(status))
		rv = rv_err_set(RV_AUTH,
				"credential helper '%s' was killed by signal "
				"%d",
				prog, WTERMSIG(status));
	else
		rv = rv_err_set(
		    RV_AUTH, "credential helper '%s' failed (exit %d)%s%s",
		    prog, WEXITSTATUS(status), line[0] ? ": " : "", line);
done:
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 2; i++) {
		if (in_pipe[i] >= 0)
			close(in_pipe[i]);
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
	}
	free(exe);
	free(env);
	return rv;
}

static int helper_get(struct reg_creds *out, const char *path, const char *name,
		      const char *server, int timeout_s)
{
	struct rv_buf answer = RV_BUF_INIT(REG_CREDS_HELPER_OUT_MAX);
	char prog[sizeof("docker-credential-") + HELPER_NAME_MAX];
	json_t *root = NULL;
	const char *user, *secret;
	int rv;

	if (!helper_name_ok(name)) {
		rv = rv_err_set(RV_INVALID,
				"docker config '%s': credential helper name "
				"'%.64s' is not [a-z0-9._-]+",
				path, name);
		goto done;
	}
	snprintf(prog, sizeof(prog), "docker-credential-%s", name);
	rv = helper_run(&answer, prog, server, timeout_s);
	if (rv == 1) {
		rv = 0; /* nothing stored for this host: anonymous */
		goto done;
	}
	if (rv)
		goto done;
	root = json_loadb((const char *)answer.data, answer.len, 0, NULL);
	user = json_string_value(json_object_get(root, "Username"));
	secret = json_string_value(json_object_get(root, "Secret"));
	if (!json_is_object(root) || !secret || !*secret) {
		rv = rv_err_set(RV_AUTH,
				"credential helper '%s' answered without a "
				"Username and Secret in JSON",
				prog);
		goto done;
	}
	if (user && !strcmp(user, "<token>")) {
		rv = set_dup(&out->identity_token, secret);
	} else {
		rv = set_dup(&out->username, user ? user : "");
		if (!rv)
			rv = set_dup(&out->password, secret);
	}
	if (rv)
		goto done;
	snprintf(out->source, sizeof(out->source), "%s", prog);
done:
	json_decref(root);
	if (answer.data)
		explicit_bzero(answer.data, answer.len);
	rv_buf_release(&answer);
	if (rv)
		reg_creds_release(out);
	return rv;
}

/* ---- the lookup ----------------------------------------------------------*/

int reg_creds_lookup(struct reg_creds *out, const char *path, const char *host,
		     int timeout_s)
{
	struct rv_buf file = RV_BUF_INIT(REG_CREDS_FILE_MAX);
	json_t *root = NULL, *auths, *helpers, *entry;
	json_error_t jerr;
	const char *key, *helper = NULL;
	int rv;

	memset(out, 0, sizeof(*out));
	if (timeout_s <= 0)
		timeout_s = REG_CREDS_HELPER_TIMEOUT;
	key = is_hub(host) ? HUB_KEY : host;
	rv = rv_fs_read_file(&file, path);
	if (rv) {
		if (rv == RV_NOTFOUND)
			rv = rv_err_set(RV_INVALID,
					"docker config '%s' does not exist "
					"(check docker_config)",
					path);
		else if (rv == RV_TOOBIG)
			rv = rv_err_set(RV_INVALID,
					"docker config '%s' is larger than %zu "
					"bytes",
					path, REG_CREDS_FILE_MAX);
		goto done;
	}
	root = json_loadb((const char *)file.data, file.len, 0, &jerr);
	/* jerr.text quotes the file ("near '...'"), which may be a secret:
	 * only the position goes into the message */
	if (!root) {
		rv = rv_err_set(RV_INVALID,
				"docker config '%s' is not valid JSON (line "
				"%d, column %d)",
				path, jerr.line, jerr.column);
		goto done;
	}
	if (!json_is_object(root)) {
		rv =
		    rv_err_set(RV_INVALID,
			       "docker config '%s' is not a JSON object", path);
		goto done;
	}
	auths = json_object_get(root, "auths");
	helpers = json_object_get(root, "credHelpers");
	if ((auths && !json_is_object(auths)) ||
	    (helpers && !json_is_object(helpers)) ||
	    (json_object_get(root, "credsStore") &&
	     !json_is_string(json_object_get(root, "credsStore")))) {
		rv = rv_err_set(RV_INVALID,
				"docker config '%s': \"auths\" and "
				"\"credHelpers\" must be objects, "
				"\"credsStore\" a string",
				path);
		goto done;
	}
	entry = auths ? auths_entry(auths, key, host) : NULL;
	if (entry) {
		rv = auths_take(out, entry, path, key);
		if (rv || out->username || out->identity_token)
			goto done;
	}
	entry = helpers ? json_object_get(helpers, key) : NULL;
	if (!entry && helpers && is_hub(host))
		entry = json_object_get(helpers, host);
	if (entry && !json_is_string(entry)) {
		rv = rv_err_set(RV_INVALID,
				"docker config '%s': credHelpers '%.200s' is "
				"not a string",
				path, key);
		goto done;
	}
	helper = entry ? json_string_value(entry) : NULL;
	if (!helper || !*helper)
		helper = json_string_value(json_object_get(root, "credsStore"));
	if (helper && *helper)
		rv = helper_get(out, path, helper, key, timeout_s);
	else
		rv = 0;
done:
	json_decref(root);
	if (file.data)
		explicit_bzero(file.data, file.len);
	rv_buf_release(&file);
	if (rv)
		reg_creds_release(out);
	return rv;
}
