/* cmd_snapshots.c - regvault snapshots */
#include "cli/cli.h"

#include "catalog/catalog.h"
#include "util/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_snapshots(struct app *a, int argc, char **argv)
{
	const struct command *cmd = cli_command("snapshots");
	struct cat_snapshot *snaps = NULL;
	size_t n = 0;
	char when[32];
	int rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			a->json = 1;
		else
			return cli_usage(cmd, "unexpected argument '%s'",
					 argv[i]);
	}
	rc = app_load_config(a);
	if (!rc)
		rc = app_open_catalog(a);
	if (!rc)
		rc = cat_snapshot_list(&snaps, &n, a->cat);
	if (rc)
		return cli_fail(rc);
	if (a->json) {
		json_t *arr = json_array();
		char *text;
		for (size_t i = 0; arr && i < n; i++) {
			cli_time(when, sizeof(when), snaps[i].time);
			json_array_append_new(
			    arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}",
					   "id", snaps[i].id, "time", when,
					   "source", snaps[i].source, "url",
					   snaps[i].url, "repositories",
					   (json_int_t)snaps[i].n_repos, "tags",
					   (json_int_t)snaps[i].n_tags));
		}
		text = arr ? json_dumps(arr, JSON_INDENT(2)) : NULL;
		json_decref(arr);
		free(snaps);
		if (!text) {
			rv_err_set(RV_NOMEM, "out of memory");
			return cli_fail(RV_NOMEM);
		}
		printf("%s\n", text);
		free(text);
		return EXIT_OK;
	}
	if (n == 0)
		printf("no snapshots yet (run 'regvault backup')\n");
	else
		printf("%-12s  %-20s  %-16s  %5s  %6s\n", "ID", "TIME (UTC)",
		       "SOURCE", "REPOS", "TAGS");
	for (size_t i = 0; i < n; i++) {
		cli_time(when, sizeof(when), snaps[i].time);
		printf("%-12.12s  %-20s  %-16s  %5lld  %6lld\n", snaps[i].id,
		       when, snaps[i].source, (long long)snaps[i].n_repos,
		       (long long)snaps[i].n_tags);
	}
	free(snaps);
	return EXIT_OK;
}
