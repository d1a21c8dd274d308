/* tz.h - time zones from the system tz database, without TZ or tzset().
 *
 * A zone is read once from /usr/share/zoneinfo/<name> (a TZif file, RFC
 * 8536, versions 1-4) into an immutable object: its transition table and
 * the POSIX TZ rule in its footer for instants after the table. Nothing
 * here touches the process environment, so zones can be used from any
 * thread and two zones at once. Shared by cron.c and retention.c.
 *
 * Local "wall" times are expressed as seconds since 1970-01-01 00:00 of
 * the local calendar (as if the zone were UTC): wall = t + offset(t).
 */
#ifndef SCHED_TZ_H
#define SCHED_TZ_H

#include <stdint.h>

struct sched_tz;

/* The oldest and newest instants the schedules code accepts:
 * 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define SCHED_TIME_MIN (-62135596800LL)
#define SCHED_TIME_MAX (253402300799LL)

/* Load the zone `name` ("Europe/Berlin"); NULL or "" is UTC. RV_INVALID
 * (message quotes the name) if the name is unsafe (contains "..", starts
 * with '/' or '.', odd characters), names no file in the tz database, or
 * the file is not a TZif file we can use; RV_NOMEM. *out is the caller's:
 * free it with sched_tz_free(). */
int sched_tz_open(struct sched_tz **out, const char *name);
void sched_tz_free(struct sched_tz *tz);

/* The name given to sched_tz_open() ("UTC" for NULL or ""). */
const char *sched_tz_name(const struct sched_tz *tz);

/* The UTC offset (seconds east of Greenwich) in effect at instant t, and
 * the interval around t that keeps it: *start <= t < *end (INT64_MIN /
 * INT64_MAX when unbounded). start or end may be NULL. */
int32_t sched_tz_offset(const struct sched_tz *tz, int64_t t, int64_t *start,
			int64_t *end);

/* Broken-down local calendar time. */
struct sched_civil {
	int year;   /* e.g. 2026 */
	int month;  /* 1-12 */
	int day;    /* 1-31 */
	int hour;   /* 0-23 */
	int minute; /* 0-59 */
	int second; /* 0-59 */
	int wday;   /* 0-6, 0 = Sunday */
};

/* Instant t as local calendar time in tz. */
void sched_tz_local(struct sched_civil *out, const struct sched_tz *tz,
		    int64_t t);

/* The instants at which the local wall time `wall` occurs in tz: *n = 1
 * normally; 2 when clocks fall back over it (out[0] < out[1]); 0 when it
 * falls in a gap (clocks sprang forward over it), and then *gap_end is the
 * first instant after the gap (the transition). */
void sched_tz_resolve(int64_t out[2], int *n, int64_t *gap_end,
		      const struct sched_tz *tz, int64_t wall);

/* Local wall time to an instant the way Go's time.Date does (restic's
 * AddDate): the offset at `wall` read as UTC, corrected once if that
 * instant lies outside the offset's interval. */
int64_t sched_tz_wall_to_utc_go(const struct sched_tz *tz, int64_t wall);

/* Proleptic Gregorian calendar helpers (Howard Hinnant's algorithms):
 * days since 1970-01-01 from a date (month and day may be out of range and
 * are carried like mktime), and back. */
int64_t sched_days_from_civil(int64_t year, int64_t month, int64_t day);
void sched_civil_from_days(int64_t days, int *year, int *month, int *day);
/* Weekday of a day number, 0 = Sunday. */
int sched_weekday(int64_t days);
/* The ISO 8601 week of a date (as Go's Time.ISOWeek). */
void sched_iso_week(int *iso_year, int *iso_week, int year, int month, int day);

#endif
