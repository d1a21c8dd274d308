/* schedules.c - where each schedule stands (schema v3). */
#include "catalog/internal.h"

#include "util/err.h"

#include <stdio.h>
#include <string.h>

int cat_sched_state_get(struct cat_sched_state *out, struct cat *c,
			const char *name)
{
	sqlite3_stmt *st = NULL;
	const char *timing;
	int rc, rv;

	memset(out, 0, sizeof(*out));
	rc =
	    sqlite3_prepare_v2(c->db,
			       "SELECT last_slot, last_started, last_finished, "
			       "last_exit, timing FROM schedule_state WHERE "
			       "name = ?1",
			       -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rv = rv_err_set(RV_NOTFOUND, "schedule '%s' has not run yet",
				name);
		goto done;
	}
	if (rc != SQLITE_ROW) {
		rv = cat_sql_errf(c, rc, "read the state of schedule '%s'",
				  name);
		goto done;
	}
	out->last_slot = sqlite3_column_int64(st, 0);
	out->last_started = sqlite3_column_int64(st, 1);
	/* a NULL end with a start: the job never reported back */
	out->finished = sqlite3_column_type(st, 1) == SQLITE_NULL ||
			sqlite3_column_type(st, 2) != SQLITE_NULL;
	out->last_finished = sqlite3_column_int64(st, 2);
	out->last_exit = sqlite3_column_int(st, 3);
	timing = (const char *)sqlite3_column_text(st, 4);
	snprintf(out->timing, sizeof(out->timing), "%s", timing ? timing : "");
	rv = 0;
done:
	sqlite3_finalize(st);
	return rv;
}

int cat_sched_state_reset(struct cat *c, const char *name, const char *timing,
			  int64_t slot)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    c->db,
	    "INSERT INTO schedule_state (name, last_slot, timing) VALUES (?1, "
	    "?2, ?3) ON CONFLICT (name) DO UPDATE SET last_slot = "
	    "excluded.last_slot, timing = excluded.timing",
	    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, slot);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, timing, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE
		   ? 0
		   : cat_sql_errf(c, rc, "record schedule '%s'", name);
}

int cat_sched_claim(struct cat *c, const char *name, int64_t slot,
		    int64_t started)
{
	sqlite3_stmt *st = NULL;
	int rc, rv;

	/* one statement: of two processes claiming the same slot, exactly
	 * one sees a changed row */
	rc = sqlite3_prepare_v2(c->db,
				"UPDATE schedule_state SET last_slot = ?2, "
				"last_started = ?3, last_finished = NULL, "
				"last_exit = NULL WHERE name = ?1 AND "
				"last_slot < ?2",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, slot);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, started);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = cat_sql_errf(c, rc, "claim a slot of schedule '%s'", name);
		goto done;
	}
	if (sqlite3_changes(c->db) == 1) {
		rv = 1;
		goto done;
	}
	sqlite3_finalize(st);
	st = NULL;
	rc = sqlite3_prepare_v2(c->db,
				"SELECT 1 FROM schedule_state WHERE name = ?1",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rv = 0;
	else if (rc == SQLITE_DONE)
		rv = rv_err_set(RV_NOTFOUND,
				"schedule '%s' has no state row to claim a "
				"slot in",
				name);
	else
		rv = cat_sql_errf(c, rc, "read the state of schedule '%s'",
				  name);
done:
	sqlite3_finalize(st);
	return rv;
}

int cat_sched_finish(struct cat *c, const char *name, int64_t finished,
		     int exit_code)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(c->db,
				    "UPDATE schedule_state SET last_finished = "
				    "?2, last_exit = ?3 WHERE name = ?1",
				    -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, finished);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, exit_code);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE
		   ? 0
		   : cat_sql_errf(c, rc,
				  "record the end of the job of schedule '%s'",
				  name);
}
