/* runs.c - the trail of verify and drill runs. */
#include "catalog/internal.h"

#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cat_run_add(struct cat *c, const char *kind, int64_t started,
		int64_t finished, int exit_code, const char *summary)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db,
				    "INSERT INTO runs (kind, started, finished, "
				    "exit_code, summary) VALUES (?1, ?2, ?3, "
				    "?4, ?5)",
				    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, started);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, finished);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 4, exit_code);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 5, summary, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : cat_sql_err(c, rc, "record a run");
}

int cat_run_list(struct cat_run **out, size_t *n, struct cat *c,
		 const char *kind, size_t limit)
{
	sqlite3_stmt *st = NULL;
	struct cat_run *runs = NULL;
	size_t cap = 0, count = 0;
	int rc, rv = 0;

	*out = NULL;
	*n = 0;
	rc = sqlite3_prepare_v2(c->db,
				"SELECT id, kind, started, finished, exit_code, "
				"summary FROM runs WHERE ?1 IS NULL OR kind = "
				"?1 ORDER BY started DESC, id DESC LIMIT ?2",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = kind ? sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC)
			  : sqlite3_bind_null(st, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		struct cat_run *r;
		const char *k = (const char *)sqlite3_column_text(st, 1);
		const char *sum = (const char *)sqlite3_column_text(st, 5);
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *p = realloc(runs, ncap * sizeof(*runs));
			if (!p) {
				rv = rv_err_set(RV_NOMEM, "out of memory");
				goto done;
			}
			runs = p;
			cap = ncap;
		}
		r = &runs[count];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		snprintf(r->kind, sizeof(r->kind), "%s", k ? k : "");
		r->started = sqlite3_column_int64(st, 2);
		r->finished = sqlite3_column_int64(st, 3);
		r->exit_code = sqlite3_column_int(st, 4);
		r->summary = strdup(sum ? sum : "{}");
		if (!r->summary) {
			rv = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
		count++;
	}
	if (rc != SQLITE_DONE)
		rv = cat_sql_err(c, rc, "list runs");
done:
	sqlite3_finalize(st);
	if (rv) {
		cat_run_list_free(runs, count);
		return rv;
	}
	*out = runs;
	*n = count;
	return 0;
}

void cat_run_list_free(struct cat_run *runs, size_t n)
{
	for (size_t i = 0; runs && i < n; i++)
		free(runs[i].summary);
	free(runs);
}
