/* retention.h - which snapshots of one source a forget policy keeps.
 *
 * The rules are restic's `forget` (internal/restic/snapshot_policy.go), with
 * the same reasons text; docs/SCHEDULES.md has them with examples:
 * - snapshots are taken newest first (equal times keep their input order);
 * - keep-last N keeps the N newest;
 * - keep-hourly/daily/weekly/monthly/yearly N keeps the newest snapshot of
 *   each of the N newest hours/days/ISO weeks/months/years that have one
 *   (local calendar of the zone); -1 means every such period;
 * - a bucket that still has count left when the oldest snapshot is reached
 *   keeps the oldest snapshot too (reason "oldest daily snapshot" if its
 *   period already had one);
 * - keep-within D keeps every snapshot strictly newer than (newest snapshot
 *   that is not in the future) minus D, D in calendar units;
 * - a snapshot is kept if any rule keeps it; an empty policy keeps all.
 */
#ifndef SCHED_RETENTION_H
#define SCHED_RETENTION_H

#include <stddef.h>
#include <stdint.h>

/* restic's Duration: calendar years, months, days and hours. */
struct sched_duration {
	int years, months, days, hours;
};

/* Counts: 0 = unset, N > 0 keeps N periods, -1 = unlimited (restic).
 * keep-within is `within` (calendar, restic's exact semantics: subtracted
 * from the newest snapshot's local date, then the hours) and
 * within_seconds (a plain number of seconds, subtracted after); both 0 =
 * unset. Fill it with sched_duration_parse_cal() for --keep-within. */
struct sched_keep {
	int last, hourly, daily, weekly, monthly, yearly;
	int64_t within_seconds;
	struct sched_duration within;
};

/* One source's snapshots, any order. id is not read (for the caller). */
struct sched_snap {
	const char *id;
	int64_t time;
};

#define SCHED_REASONS_MAX 192
struct sched_decision {
	int keep;			 /* 1 keep, 0 forget */
	char reasons[SCHED_REASONS_MAX]; /* "last snapshot, daily snapshot" or
					     "" when forgotten */
};

/* Decide for each snapshot (decisions[i] for snaps[i]) with policy k in
 * zone tz (NULL/"" = UTC): hours, days, ISO weeks (year + week, as Go's
 * ISOWeek), months and years of the local calendar. now (unix seconds)
 * only decides which snapshots are "in the future" for keep-within. An
 * empty policy keeps everything, with the reason "policy is empty".
 * RV_INVALID for negative counts other than -1, negative durations or an
 * unknown zone; RV_NOMEM. */
int sched_retention_apply(struct sched_decision *decisions,
			  const struct sched_snap *snaps, size_t n,
			  const struct sched_keep *k, const char *tz,
			  int64_t now);

/* Parse restic's --keep-within syntax "1y2m3d4h" / "30d" / "12h" (units y,
 * m = months, d, h, lowercase, each at most once, numbers 0-100000) into
 * calendar units. RV_INVALID (message quotes the text) otherwise,
 * including for "" and negative numbers. */
int sched_duration_parse_cal(struct sched_duration *out, const char *text);

/* The same syntax into seconds, approximately: h = 3600, d = 86400,
 * m = 30 days, y = 365 days (for limits such as a stale lock's age;
 * retention uses the calendar form). */
int sched_duration_parse(int64_t *seconds, const char *text);

/* The duration as restic prints it ("1y2m3d4h", "" when zero). */
void sched_duration_format(char *out, size_t size,
			   const struct sched_duration *d);

#endif
