/* cron.h - cron expressions in a time zone: parse, next and previous firing.
 *
 * Five fields "minute hour day-of-month month day-of-week" with lists
 * (1,15), ranges (1-5), steps ('*' + '/15', 1-30/5, 5/15 = 5-max/15), names
 * (JAN-DEC, SUN-SAT, any case; 0 and 7 are both Sunday) and the macros
 * @yearly @annually @monthly @weekly @daily @midnight @hourly. When both
 * day-of-month and day-of-week are restricted (neither field starts with
 * '*'), a day matches if EITHER matches (Vixie cron).
 *
 * Daylight-saving changes (docs/SCHEDULES.md has the details):
 * - a schedule whose hour field does not start with '*' runs once per
 *   matching local time: a time the clocks skip runs at the end of the gap
 *   (02:30 on a spring-forward day runs at 03:00), a time that occurs
 *   twice runs at its first occurrence only;
 * - a schedule whose hour field starts with '*' follows the clock: skipped
 *   times do not run, repeated times run each time ("0 * * * *" fires 23
 *   times on a spring-forward day and 25 times on a fall-back day).
 *
 * A parsed expression is immutable and owns its zone: it can be used from
 * several threads at once; nothing touches TZ or the process environment.
 */
#ifndef SCHED_CRON_H
#define SCHED_CRON_H

#include <stdint.h>

struct sched_cron; /* parsed expression + optional time zone */

/* Parse `expr` in zone `tz`: an IANA zone name ("Europe/Berlin") or
 * NULL/"" for UTC. RV_INVALID with a message that quotes the expression
 * and says which field is wrong and why, or that the zone is unknown;
 * RV_NOMEM. *out is the caller's: free it with sched_cron_free(). */
int sched_cron_parse(struct sched_cron **out, const char *expr, const char *tz);
void sched_cron_free(struct sched_cron *c);

/* The first time strictly after `after` (unix seconds) at which the
 * expression fires, in its zone. RV_NOTFOUND (message set) if it never
 * fires within 8 years after `after` (e.g. "0 0 30 2 *"); RV_INVALID if
 * `after` is outside years 1-9999. */
int sched_cron_next(int64_t *out, const struct sched_cron *c, int64_t after);

/* The most recent firing time <= at (the slot that is due at `at`).
 * RV_NOTFOUND if none within the 8 years before `at`; RV_INVALID as for
 * sched_cron_next(). */
int sched_cron_prev(int64_t *out, const struct sched_cron *c, int64_t at);

/* The zone's name as given ("UTC" when none was). */
const char *sched_cron_zone(const struct sched_cron *c);

#endif
