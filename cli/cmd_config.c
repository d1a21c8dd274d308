/* cmd_config.c - regvault config check: is this config file ready to run?
 *
 * First the file itself, as every command loads it (cli/config.c): YAML,
 * unknown or repeated keys, values, schedules; a file that does not load
 * stops here (exit 2, the problem with its line). Then what the file
 * points at, every problem collected and named with the line of its key:
 *   - files it names (passphrase_file, password_file, ca_file,
 *     client_cert, client_key, docker_config, the s3 key files) exist and
 *     can be read; the secret ones are not readable by others;
 *   - environment variables it names (password_env, *_env) are set, and a
 *     passphrase comes from somewhere;
 *   - repository globs can match a repository name;
 *   - each registry answers its API check (GET /v2/, with its
 *     credentials);
 *   - each target can be written (a dir target: its folder, or the folder
 *     init would make it in; an s3 target: a probe object put and
 *     deleted), and the catalog's folder too.
 * Exit 0 when all is well, 2 when the file has a problem (a key, a file
 * or a variable it names), 1 when only the outside world does (a registry
 * that does not answer, a target that cannot be written).
 */
#include "cli/cli.h"

#include "registry/registry.h"
#include "store/target.h"
#include "util/err.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

struct check {
	struct app *a;
	yaml_document_t doc;
	int have_doc;
	json_t *problems; /* [{line, key, message, kind}] */
	int file_problems, world_problems;
	json_t *checked;  /* what passed: {"registries": [...], ...} */
	unsigned char *reg_broken; /* per registry: a file or variable it
				      names has a problem (reported once) */
};

/* ---- where a key is written -------------------------------------------- */

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
	     p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

/* Item i of sequence node seq, or NULL. */
static yaml_node_t *seq_get(yaml_document_t *d, yaml_node_t *seq, long i)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE || i < 0 ||
	    i >= seq->data.sequence.items.top - seq->data.sequence.items.start)
		return NULL;
	return yaml_document_get_node(d, seq->data.sequence.items.start[i]);
}

/* The deepest node of the path section[index].field[entry] that exists
 * (index < 0: section is a mapping; field or entry < 0: stop before
 * them); NULL when not even the section does or no document is at hand. */
static yaml_node_t *path_node(struct check *c, const char *section, long index,
			      const char *field, long entry)
{
	yaml_node_t *n, *next;

	if (!c->have_doc)
		return NULL;
	n = map_get(&c->doc, yaml_document_get_root_node(&c->doc), section);
	if (!n || index < 0)
		next = n;
	else if (!(next = seq_get(&c->doc, n, index)))
		return n;
	n = next;
	if (!field || !(next = map_get(&c->doc, n, field)))
		return n;
	n = next;
	next = entry >= 0 ? seq_get(&c->doc, n, entry) : NULL;
	return next ? next : n;
}

/* The line of section[index].field (or of what exists of that path: the
 * item, the section); 0 when the document is not at hand. index < 0:
 * section is a mapping (key:) and field is in it. */
static unsigned long line_of(struct check *c, const char *section, long index,
			     const char *field)
{
	yaml_node_t *n = path_node(c, section, index, field, -1);

	return n ? n->start_mark.line + 1 : 0;
}

/* The line of the n-th entry of the list section[index].field. */
static unsigned long line_of_entry(struct check *c, const char *section,
				   long index, const char *field, size_t n)
{
	yaml_node_t *e = path_node(c, section, index, field, (long)n);

	return e ? e->start_mark.line + 1 : 0;
}

static int load_doc(struct check *c)
{
	yaml_parser_t p;
	FILE *f = fopen(c->a->cfg->path, "rb");
	int ok;

	if (!f)
		return 0; /* it loaded a moment ago: lines are a nicety */
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	ok = yaml_parser_load(&p, &c->doc);
	yaml_parser_delete(&p);
	fclose(f);
	c->have_doc = ok && yaml_document_get_root_node(&c->doc);
	if (ok && !c->have_doc)
		yaml_document_delete(&c->doc);
	return 0;
}

/* ---- problems ----------------------------------------------------------- */

enum { IN_FILE, IN_WORLD };

static int problem(struct check *c, int where, unsigned long line,
		   const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int problem(struct check *c, int where, unsigned long line,
		   const char *key, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (where == IN_FILE)
		c->file_problems++;
	else
		c->world_problems++;
	if (!c->a->json) {
		if (line)
			printf("config '%s' line %lu: %s\n", c->a->cfg->path,
			       line, msg);
		else
			printf("config '%s': %s\n", c->a->cfg->path, msg);
	}
	if (json_array_append_new(
		c->problems,
		json_pack("{s:o, s:s, s:s, s:s}", "line",
			  line ? json_integer((json_int_t)line) : json_null(),
			  "key", key, "message", msg, "kind",
			  where == IN_FILE ? "file" : "world")))
		return rv_err_set(RV_NOMEM, "out of memory");
	return 0;
}

static int passed(struct check *c, const char *what, const char *name)
{
	json_t *arr = json_object_get(c->checked, what);

	if (!arr) {
		arr = json_array();
		if (!arr || json_object_set_new(c->checked, what, arr))
			return rv_err_set(RV_NOMEM, "out of memory");
	}
	if (json_array_append_new(arr, json_string(name)))
		return rv_err_set(RV_NOMEM, "out of memory");
	return 0;
}

/* ---- files and variables ------------------------------------------------ */

/* A file the config names: it must exist and be readable; a secret must
 * not be readable by group or others. */
static int check_file(struct check *c, const char *path, int secret,
		      const char *section, long index, const char *field)
{
	unsigned long line = line_of(c, section, index, field);
	struct stat sb;
	int fd;

	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return problem(c, IN_FILE, line, field,
			       "%s '%s' cannot be read: %s", field, path,
			       strerror(errno));
	if (fstat(fd, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		close(fd);
		return problem(c, IN_FILE, line, field,
			       "%s '%s' is not a regular file", field, path);
	}
	close(fd);
	if (secret && (sb.st_mode & 077))
		return problem(c, IN_FILE, line, field,
			       "%s '%s' holds a secret but can be read by "
			       "others (mode %04o); chmod 600 it",
			       field, path, (unsigned)(sb.st_mode & 07777));
	return 0;
}

static int check_env(struct check *c, const char *name, const char *section,
		     long index, const char *field)
{
	const char *v;

	if (!name)
		return 0;
	v = getenv(name);
	if (!v || !*v)
		return problem(c, IN_FILE, line_of(c, section, index, field),
			       field,
			       "%s names $%s, which is not set in this "
			       "environment",
			       field, name);
	return 0;
}

static int check_files(struct check *c)
{
	const struct config *cfg = c->a->cfg;
	const char *pass = getenv("REGVAULT_PASSWORD");
	int rc = check_file(c, cfg->passphrase_file, 1, "key", -1,
			    "passphrase_file");

	if (!rc && !cfg->passphrase_file && !(pass && *pass))
		rc = problem(c, IN_FILE, line_of(c, "key", -1, NULL), "key",
			     "no passphrase: set key.passphrase_file or "
			     "$REGVAULT_PASSWORD");
	for (size_t i = 0; !rc && i < cfg->n_registries; i++) {
		const struct cfg_registry *r = &cfg->registries[i];
		long at = (long)i;
		int before = c->file_problems;

		rc = check_file(c, r->password_file, 1, "registries", at,
				"password_file");
		if (!rc)
			rc = check_env(c, r->password_env, "registries", at,
				       "password_env");
		if (!rc)
			rc = check_file(c, r->ca_file, 0, "registries", at,
					"ca_file");
		if (!rc)
			rc = check_file(c, r->client_cert, 0, "registries", at,
					"client_cert");
		if (!rc)
			rc = check_file(c, r->client_key, 1, "registries", at,
					"client_key");
		if (!rc)
			rc = check_file(c, r->docker_config, 1, "registries",
					at, "docker_config");
		c->reg_broken[i] = c->file_problems > before;
	}
	for (size_t i = 0; !rc && i < cfg->n_targets; i++) {
		const struct cfg_target *t = &cfg->targets[i];
		long at = (long)i;

		rc = check_file(c, t->ca_file, 0, "targets", at, "ca_file");
		if (!rc)
			rc = check_file(c, t->access_key_id_file, 1, "targets",
					at, "access_key_id_file");
		if (!rc)
			rc = check_file(c, t->secret_access_key_file, 1,
					"targets", at,
					"secret_access_key_file");
		if (!rc)
			rc = check_env(c, t->access_key_id_env, "targets", at,
				       "access_key_id_env");
		if (!rc)
			rc = check_env(c, t->secret_access_key_env, "targets",
				       at, "secret_access_key_env");
	}
	return rc;
}

/* ---- globs -------------------------------------------------------------- */

/* Why a repository glob can never match a repository name, or NULL. */
static const char *glob_problem(const char *g)
{
	size_t n = strlen(g);

	if (!n)
		return "it is empty";
	if (g[0] == '/' || g[n - 1] == '/')
		return "repository names neither start nor end with '/'";
	if (strstr(g, "//"))
		return "repository names have no empty path component ('//')";
	for (const char *p = g; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch >= 'A' && ch <= 'Z')
			return "repository names are lowercase";
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      strchr("._-/*?", ch)))
			return "it has a character no repository name has";
	}
	return NULL;
}

static int check_globs(struct check *c)
{
	const struct config *cfg = c->a->cfg;
	int rc = 0;

	for (size_t i = 0; !rc && i < cfg->n_sources; i++) {
		const struct cfg_source *s = &cfg->sources[i];
		const struct rv_strlist *lists[] = {&s->repositories,
						    &s->exclude};
		const char *keys[] = {"repositories", "exclude"};

		for (size_t l = 0; !rc && l < 2; l++)
			for (size_t g = 0; !rc && g < lists[l]->n; g++) {
				const char *why =
				    glob_problem(lists[l]->items[g]);
				if (why)
					rc = problem(
					    c, IN_FILE,
					    line_of_entry(c, "sources", (long)i,
							  keys[l], g),
					    keys[l],
					    "source '%s': %s glob '%s' can "
					    "never match: %s",
					    s->registry, keys[l],
					    lists[l]->items[g], why);
			}
	}
	return rc;
}

/* ---- the outside world -------------------------------------------------- */

static int check_registries(struct check *c)
{
	const struct config *cfg = c->a->cfg;
	int rc = 0;

	c->a->registry_retries = 1;
	for (size_t i = 0; !rc && i < cfg->n_registries; i++) {
		const struct cfg_registry *cr = &cfg->registries[i];
		struct reg *r = NULL;
		int err;

		if (c->reg_broken[i])
			continue; /* its file or variable was named already */
		err = app_open_registry(&r, c->a, cr->name);

		if (!err)
			err = reg_ping(r);
		reg_free(r);
		if (err == RV_NOMEM)
			return err;
		if (err)
			rc = problem(c, err == RV_INVALID ? IN_FILE : IN_WORLD,
				     line_of(c, "registries", (long)i, "url"),
				     "url", "registry '%s' (%s): %s", cr->name,
				     cr->url, rv_err_msg());
		else
			rc = passed(c, "registries", cr->name);
	}
	return rc;
}

/* A folder a run writes in: it exists and takes a file, or (when it does
 * not exist) the nearest folder above it that exists can be written, so
 * that it can be made. */
static int folder_problem(char *why, size_t size, const char *path)
{
	char *dir = NULL, tmp[4200];
	struct stat sb;
	int fd;

	if (stat(path, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode)) {
			snprintf(why, size, "'%s' is not a folder", path);
			return 1;
		}
		if ((size_t)snprintf(tmp, sizeof(tmp),
				     "%s/.regvault-check.XXXXXX",
				     path) >= sizeof(tmp)) {
			snprintf(why, size, "'%s' is too long a path", path);
			return 1;
		}
		fd = mkstemp(tmp);
		if (fd < 0) {
			snprintf(why, size, "cannot write in '%s': %s", path,
				 strerror(errno));
			return 1;
		}
		close(fd);
		unlink(tmp);
		return 0;
	}
	/* ENOTDIR: a file on the way, which the walk up names */
	if (errno != ENOENT && errno != ENOTDIR) {
		snprintf(why, size, "'%s': %s", path, strerror(errno));
		return 1;
	}
	dir = rv_fs_dirname(path);
	if (!dir)
		return rv_err_set(RV_NOMEM, "out of memory");
	fd = strcmp(dir, path) ? folder_problem(why, size, dir) : 1;
	free(dir);
	if (fd == 1 && !why[0])
		snprintf(why, size, "'%s' does not exist", path);
	return fd;
}

static int check_targets(struct check *c)
{
	const struct config *cfg = c->a->cfg;
	char why[600];
	int rc = 0;

	for (size_t i = 0; !rc && i < cfg->n_targets; i++) {
		const struct cfg_target *t = &cfg->targets[i];
		struct target *tg = NULL;
		char probe[64];
		int err;

		why[0] = '\0';
		if (!strcmp(t->type, "dir")) {
			err = folder_problem(why, sizeof(why), t->path);
			if (err < 0)
				return err;
			rc = err ? problem(c, IN_WORLD,
					   line_of(c, "targets", (long)i,
						   "path"),
					   "path", "target '%s': %s", t->name,
					   why)
				 : passed(c, "targets", t->name);
			continue;
		}
		snprintf(probe, sizeof(probe), ".regvault-check-%ld",
			 (long)getpid());
		err = app_open_target(&tg, t, 0);
		if (!err)
			err = target_put_buf(tg, probe, "check", 5);
		if (!err)
			err = target_del(tg, probe);
		target_free(tg);
		if (err == RV_NOMEM)
			return err;
		rc = err ? problem(c, IN_WORLD,
				   line_of(c, "targets", (long)i, "endpoint"),
				   "endpoint",
				   "target '%s': a probe object could not be "
				   "written and deleted: %s",
				   t->name, rv_err_msg())
			 : passed(c, "targets", t->name);
	}
	if (!rc) {
		struct stat sb;
		int err;

		/* the catalog is a file: its folder must take files */
		if (stat(cfg->catalog, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			rc = problem(c, IN_FILE, line_of(c, "catalog", -1, NULL),
				     "catalog",
				     "catalog '%s' is a folder; name a file "
				     "in it",
				     cfg->catalog);
		} else {
			char *dir = rv_fs_dirname(cfg->catalog);

			if (!dir)
				return rv_err_set(RV_NOMEM, "out of memory");
			why[0] = '\0';
			err = folder_problem(why, sizeof(why), dir);
			free(dir);
			if (err < 0)
				return err;
			rc = err ? problem(c, IN_WORLD,
					   line_of(c, "catalog", -1, NULL),
					   "catalog", "catalog '%s': %s",
					   cfg->catalog, why)
				 : passed(c, "catalog", cfg->catalog);
		}
	}
	return rc;
}

/* ---- the command ---------------------------------------------------------- */

/* A problem the load found, as "config 'P' line N: unknown key 'K' ...":
 * the JSON problem with the line and key read back from the text. */
static json_t *load_problem(const char *msg)
{
	const char *at = strstr(msg, "' line "), *k;
	unsigned long line = 0;
	char key[128] = "";

	if (at)
		line = strtoul(at + 7, NULL, 10);
	k = strstr(msg, "key '");
	if (k && sscanf(k + 5, "%127[^']", key) != 1)
		key[0] = '\0';
	return json_pack("{s:o, s:o, s:s, s:s}", "line",
			 line ? json_integer((json_int_t)line) : json_null(),
			 "key", key[0] ? json_string(key) : json_null(),
			 "message", msg, "kind", "file");
}

static int check(struct app *a, int argc, char **argv)
{
	const struct command *cmd = cli_command("config");
	struct rv_strlist loading = RV_STRLIST_INIT;
	struct check c;
	int rc, code;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			a->json = 1;
		else
			return cli_usage(cmd, "unexpected argument '%s'",
					 argv[i]);
	}
	rc = app_load_config_all(a, &loading);
	if (rc == RV_INVALID && loading.n) {
		/* the file itself: every unknown or repeated key, and what
		 * stopped the load, each naming its line */
		json_t *arr = json_array();

		for (size_t i = 0; arr && i < loading.n; i++) {
			if (!a->json)
				printf("%s\n", loading.items[i]);
			json_array_append_new(arr,
					      load_problem(loading.items[i]));
		}
		if (a->json)
			cli_print_json(json_pack(
			    "{s:s, s:b, s:o, s:{}}", "config",
			    app_config_path(a), "ok", 0,
			    "problems", arr, "checked"));
		else {
			json_decref(arr);
			printf("%zu problem(s)\n", loading.n);
		}
		rv_strlist_release(&loading);
		return EXIT_USAGE;
	}
	rv_strlist_release(&loading);
	if (rc)
		return cli_fail(rc);
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.problems = json_array();
	c.checked = json_object();
	c.reg_broken = calloc(a->cfg->n_registries + 1, 1);
	if (!c.problems || !c.checked || !c.reg_broken)
		rc = rv_err_set(RV_NOMEM, "out of memory");
	if (!rc)
		rc = load_doc(&c);
	if (!rc)
		rc = check_files(&c);
	if (!rc)
		rc = check_globs(&c);
	if (!rc)
		rc = check_registries(&c);
	if (!rc)
		rc = check_targets(&c);
	if (c.have_doc)
		yaml_document_delete(&c.doc);
	free(c.reg_broken);
	if (rc) {
		json_decref(c.problems);
		json_decref(c.checked);
		return cli_fail(rc);
	}
	code = c.file_problems ? EXIT_USAGE
	       : c.world_problems ? EXIT_FAIL
				  : EXIT_OK;
	if (a->json) {
		rc = cli_print_json(json_pack(
		    "{s:s, s:b, s:o, s:o}", "config", a->cfg->path, "ok",
		    code == EXIT_OK, "problems", c.problems, "checked",
		    c.checked));
		if (rc)
			return cli_fail(rc);
	} else {
		json_decref(c.problems);
		json_decref(c.checked);
		if (code == EXIT_OK)
			printf("config '%s' is ready: %zu registr%s answered, "
			       "%zu target%s and the catalog's folder can be "
			       "written\n",
			       a->cfg->path, a->cfg->n_registries,
			       a->cfg->n_registries == 1 ? "y" : "ies",
			       a->cfg->n_targets,
			       a->cfg->n_targets == 1 ? "" : "s");
		else
			printf("%d problem(s)\n",
			       c.file_problems + c.world_problems);
	}
	return code;
}

int cmd_config(struct app *a, int argc, char **argv)
{
	const struct command *cmd = cli_command("config");

	if (argc >= 2 && !strcmp(argv[1], "check"))
		return check(a, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "help")) {
		printf("usage: regvault %s\n", cmd->usage);
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage(cmd, "config needs a subcommand");
	return cli_usage(cmd, "unknown config subcommand '%s'", argv[1]);
}
