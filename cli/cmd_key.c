/* cmd_key.c - regvault key add|list|remove */
#include "cli/cli.h"

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/strlist.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEW_SECRET_MAX 4096

/* The new passphrase: the whole key file when one is given, else
 * $REGVAULT_NEW_PASSWORD. Never argv. */
static int new_passphrase(struct rv_buf *out, const char *file)
{
	const char *env = getenv("REGVAULT_NEW_PASSWORD");
	int rc;

	if (file) {
		rc = rv_fs_read_file(out, file);
		if (rc)
			return rv_err_set(rc == RV_NOTFOUND ? RV_INVALID : rc,
					  "cannot read the key file '%s': %s",
					  file, rv_err_msg());
		if (out->len && out->data[out->len - 1] == '\n')
			out->data[--out->len] = '\0';
	} else if (env && *env) {
		rc = rv_buf_puts(out, env);
		if (rc)
			return rc;
	} else {
		return rv_err_set(RV_INVALID,
				  "no new passphrase: set REGVAULT_NEW_PASSWORD "
				  "or give --passphrase-file FILE");
	}
	if (out->len == 0)
		return rv_err_set(RV_INVALID, "the new passphrase is empty");
	return 0;
}

static int key_add(struct app *a, int argc, char **argv)
{
	struct rv_buf pass = RV_BUF_INIT(NEW_SECRET_MAX);
	const char *file = NULL;
	char id[17];
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--passphrase-file") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			a->json = 1;
		else
			return cli_usage(cli_command("key"),
					 "unexpected argument '%s'", argv[i]);
	}
	rc = new_passphrase(&pass, file);
	if (!rc)
		rc = app_open_store(a);
	if (!rc)
		rc = store_key_add(id, a->store, (const char *)pass.data,
				   pass.len);
	OPENSSL_cleanse(pass.data, pass.cap);
	rv_buf_release(&pass);
	if (rc)
		return cli_fail(rc);
	if (a->json)
		printf("{\"added\":\"%s\"}\n", id);
	else
		printf("added key slot %s on %zu target(s)\n", id,
		       store_target_count(a->store));
	return EXIT_OK;
}

static int key_list(struct app *a, int argc, char **argv)
{
	struct rv_strlist names = RV_STRLIST_INIT;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			a->json = 1;
		else
			return cli_usage(cli_command("key"),
					 "unexpected argument '%s'", argv[i]);
	}
	rc = app_open_store(a);
	if (!rc)
		rc = store_key_list(&names, a->store);
	if (rc) {
		rv_strlist_release(&names);
		return cli_fail(rc);
	}
	if (a->json)
		printf("[");
	for (size_t i = 0; i < names.n; i++) {
		int cur = !strcmp(names.items[i], store_key_current(a->store));
		if (a->json)
			printf("%s{\"id\":\"%s\",\"current\":%s}", i ? "," : "",
			       names.items[i], cur ? "true" : "false");
		else
			printf("%s%s\n", names.items[i],
			       cur ? "  (opened this session)" : "");
	}
	if (a->json)
		printf("]\n");
	rv_strlist_release(&names);
	return EXIT_OK;
}

static int key_remove(struct app *a, int argc, char **argv)
{
	int rc;
	if (argc != 2)
		return cli_usage(cli_command("key"), "give one key slot id");
	rc = app_open_store(a);
	if (!rc)
		rc = store_key_remove(a->store, argv[1]);
	if (rc)
		return cli_fail(rc);
	printf("removed key slot %s\n", argv[1]);
	return EXIT_OK;
}

int cmd_key(struct app *a, int argc, char **argv)
{
	const struct command *cmd = cli_command("key");
	int rc;

	if (argc < 2)
		return cli_usage(cmd, "which key command? add, list or remove");
	rc = app_load_config(a);
	if (!rc && strcmp(argv[1], "list"))
		rc = app_lock(a); /* changes to key slots are serialised */
	if (rc)
		return cli_fail(rc);
	if (!strcmp(argv[1], "add"))
		return key_add(a, argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return key_list(a, argc - 1, argv + 1);
	if (!strcmp(argv[1], "remove"))
		return key_remove(a, argc - 1, argv + 1);
	return cli_usage(cmd, "unknown key command '%s'", argv[1]);
}
