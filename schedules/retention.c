/* retention.c - restic's forget policy for one source (see retention.h).
 *
 * Written from restic's ApplyPolicy: one pass over the snapshots, newest
 * first, with one "bucket" per rule that remembers the period (hour, day,
 * ISO week, month, year; for keep-last the position) of the last snapshot
 * it kept and how many periods it may still keep. A snapshot whose period
 * differs from the bucket's last one is the newest of a new period and is
 * kept while the count lasts.
 */
#include "schedules/retention.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedules/tz.h"
#include "util/err.h"

#define DURATION_UNIT_MAX 100000
#define WITHIN_SECONDS_MAX (10000LL * 366 * 86400)

enum { B_LAST, B_HOURLY, B_DAILY, B_WEEKLY, B_MONTHLY, B_YEARLY, B_COUNT };

static const char *const bucket_reason[B_COUNT] = {
    "last snapshot",   "hourly snapshot",  "daily snapshot",
    "weekly snapshot", "monthly snapshot", "yearly snapshot",
};
static const char *const bucket_option[B_COUNT] = {
    "keep-last",   "keep-hourly",  "keep-daily",
    "keep-weekly", "keep-monthly", "keep-yearly",
};

struct order {
	int64_t time;
	size_t idx;
};

static int cmp_newest_first(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static void reason_add(char *reasons, const char *what)
{
	size_t used = strlen(reasons);

	snprintf(reasons + used, SCHED_REASONS_MAX - used, "%s%s",
		 used ? ", " : "", what);
}

void sched_duration_format(char *out, size_t size,
			   const struct sched_duration *d)
{
	size_t used = 0;
	int w;

	if (size == 0)
		return;
	out[0] = '\0';
#define PART(v, unit)                                                          \
	if ((v) != 0 && used < size) {                                         \
		w = snprintf(out + used, size - used, "%d%c", (v), (unit));    \
		used = w < 0 ? size : used + (size_t)w;                        \
	}
	PART(d->years, 'y')
	PART(d->months, 'm')
	PART(d->days, 'd')
	PART(d->hours, 'h')
#undef PART
}

static void within_text(char *out, size_t size, const struct sched_keep *k)
{
	char cal[64];
	int64_t s = k->within_seconds;

	sched_duration_format(cal, sizeof(cal), &k->within);
	if (s == 0)
		snprintf(out, size, "within %s", cal);
	else if (s % 86400 == 0)
		snprintf(out, size, "within %s%lldd", cal,
			 (long long)(s / 86400));
	else if (s % 3600 == 0)
		snprintf(out, size, "within %s%lldh", cal,
			 (long long)(s / 3600));
	else
		snprintf(out, size, "within %s%llds", cal, (long long)s);
}

static int check_policy(const struct sched_keep *k)
{
	const int counts[B_COUNT] = {k->last,	k->hourly,  k->daily,
				     k->weekly, k->monthly, k->yearly};
	const int units[4] = {k->within.years, k->within.months, k->within.days,
			      k->within.hours};
	int i;

	for (i = 0; i < B_COUNT; i++) {
		if (counts[i] < -1)
			return rv_err_set(RV_INVALID,
					  "%s %d: a count must be 1 or more, "
					  "or -1 for unlimited",
					  bucket_option[i], counts[i]);
	}
	for (i = 0; i < 4; i++) {
		if (units[i] < 0 || units[i] > DURATION_UNIT_MAX)
			return rv_err_set(RV_INVALID,
					  "keep-within: %d is out of range "
					  "0-%d",
					  units[i], DURATION_UNIT_MAX);
	}
	if (k->within_seconds < 0 || k->within_seconds > WITHIN_SECONDS_MAX)
		return rv_err_set(RV_INVALID,
				  "keep-within: %lld seconds is out of range",
				  (long long)k->within_seconds);
	return 0;
}

static bool policy_empty(const struct sched_keep *k)
{
	return k->last == 0 && k->hourly == 0 && k->daily == 0 &&
	       k->weekly == 0 && k->monthly == 0 && k->yearly == 0 &&
	       k->within_seconds == 0 && k->within.years == 0 &&
	       k->within.months == 0 && k->within.days == 0 &&
	       k->within.hours == 0;
}

/* restic: latest.AddDate(-y, -m, -d).Add(-h hours), in the zone. */
static int64_t within_threshold(const struct sched_tz *tz,
				const struct sched_keep *k, int64_t latest)
{
	struct sched_civil lc;
	int64_t days, wall;

	sched_tz_local(&lc, tz, latest);
	days = sched_days_from_civil((int64_t)lc.year - k->within.years,
				     (int64_t)lc.month - k->within.months,
				     (int64_t)lc.day - k->within.days);
	wall = days * 86400 + lc.hour * 3600 + lc.minute * 60 + lc.second;
	return sched_tz_wall_to_utc_go(tz, wall) -
	       (int64_t)k->within.hours * 3600 - k->within_seconds;
}

static int64_t bucket_value(int b, const struct sched_civil *lc, size_t nr)
{
	int64_t y = lc->year, m = lc->month, d = lc->day, h = lc->hour;
	int iy, iw;

	switch (b) {
	case B_LAST:
		return (int64_t)nr;
	case B_HOURLY:
		return y * 1000000 + m * 10000 + d * 100 + h;
	case B_DAILY:
		return y * 10000 + m * 100 + d;
	case B_WEEKLY:
		sched_iso_week(&iy, &iw, lc->year, lc->month, lc->day);
		return (int64_t)iy * 100 + iw;
	case B_MONTHLY:
		return y * 100 + m;
	default:
		return y;
	}
}

int sched_retention_apply(struct sched_decision *decisions,
			  const struct sched_snap *snaps, size_t n,
			  const struct sched_keep *k, const char *tz_name,
			  int64_t now)
{
	struct sched_tz *tz = NULL;
	struct order *order = NULL;
	int count[B_COUNT] = {k->last,	 k->hourly,  k->daily,
			      k->weekly, k->monthly, k->yearly};
	int64_t last[B_COUNT];
	int64_t latest = 0, threshold = 0;
	bool has_latest = false, within;
	char within_reason[96];
	size_t i, nr;
	int b, rc;

	rc = check_policy(k);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		decisions[i].keep = 0;
		decisions[i].reasons[0] = '\0';
	}
	if (n == 0)
		return 0;
	if (policy_empty(k)) {
		for (i = 0; i < n; i++) {
			decisions[i].keep = 1;
			reason_add(decisions[i].reasons, "policy is empty");
		}
		return 0;
	}
	rc = sched_tz_open(&tz, tz_name);
	if (rc < 0)
		goto done;
	if (n > SIZE_MAX / sizeof(*order)) {
		rc = rv_err_set(RV_NOMEM, "too many snapshots");
		goto done;
	}
	order = malloc(n * sizeof(*order));
	if (!order) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if (snaps[i].time < SCHED_TIME_MIN ||
		    snaps[i].time > SCHED_TIME_MAX) {
			rc = rv_err_set(RV_INVALID,
					"snapshot '%s': time %lld is outside "
					"years 1-9999",
					snaps[i].id ? snaps[i].id : "?",
					(long long)snaps[i].time);
			goto done;
		}
		order[i] = (struct order){snaps[i].time, i};
		/* The newest snapshot that is not in the future. */
		if (snaps[i].time < now &&
		    (!has_latest || snaps[i].time > latest)) {
			latest = snaps[i].time;
			has_latest = true;
		}
	}
	qsort(order, n, sizeof(*order), cmp_newest_first);

	within = k->within_seconds != 0 || k->within.years != 0 ||
		 k->within.months != 0 || k->within.days != 0 ||
		 k->within.hours != 0;
	if (within) {
		within_text(within_reason, sizeof(within_reason), k);
		/* With no snapshot in the past restic measures from the zero
		 * time, which keeps everything. */
		threshold =
		    has_latest ? within_threshold(tz, k, latest) : INT64_MIN;
	}
	for (b = 0; b < B_COUNT; b++)
		last[b] = -1;

	for (nr = 0; nr < n; nr++) {
		struct sched_decision *dec = &decisions[order[nr].idx];
		int64_t t = order[nr].time;
		struct sched_civil lc;

		sched_tz_local(&lc, tz, t);
		if (within && t > threshold) {
			dec->keep = 1;
			reason_add(dec->reasons, within_reason);
		}
		for (b = 0; b < B_COUNT; b++) {
			int64_t val;
			bool oldest = nr == n - 1;

			if (count[b] == 0)
				continue;
			val = bucket_value(b, &lc, nr);
			/* restic also keeps the oldest snapshot while the
			 * bucket has count left: the longest history. */
			if (val == last[b] && !oldest)
				continue;
			dec->keep = 1;
			if (val == last[b]) {
				char text[48];

				snprintf(text, sizeof(text), "oldest %s",
					 bucket_reason[b]);
				reason_add(dec->reasons, text);
			} else {
				reason_add(dec->reasons, bucket_reason[b]);
			}
			last[b] = val;
			if (count[b] > 0)
				count[b]--;
		}
	}
	rc = 0;
done:
	free(order);
	sched_tz_free(tz);
	return rc;
}

int sched_duration_parse_cal(struct sched_duration *out, const char *text)
{
	struct sched_duration d = {0, 0, 0, 0};
	bool seen[4] = {false, false, false, false};
	const char *p = text;
	int *slot, which;
	long v;

	if (!text || !*text)
		return rv_err_set(RV_INVALID,
				  "duration '' is empty (write it like '30d', "
				  "'12h' or '1y2m3d4h')");
	if (strlen(text) > 64)
		return rv_err_set(RV_INVALID, "duration '%.20s...' is too long",
				  text);
	while (*p) {
		if (*p < '0' || *p > '9')
			return rv_err_set(RV_INVALID,
					  "duration '%s': expected a number at "
					  "'%s' (write it like '30d', '12h' or "
					  "'1y2m3d4h')",
					  text, p);
		v = 0;
		while (*p >= '0' && *p <= '9') {
			if (v <= DURATION_UNIT_MAX)
				v = v * 10 + (*p - '0');
			p++;
		}
		if (v > DURATION_UNIT_MAX)
			return rv_err_set(RV_INVALID,
					  "duration '%s': a number is larger "
					  "than %d",
					  text, DURATION_UNIT_MAX);
		switch (*p) {
		case 'y':
			slot = &d.years;
			which = 0;
			break;
		case 'm':
			slot = &d.months;
			which = 1;
			break;
		case 'd':
			slot = &d.days;
			which = 2;
			break;
		case 'h':
			slot = &d.hours;
			which = 3;
			break;
		case '\0':
			return rv_err_set(RV_INVALID,
					  "duration '%s': no unit after %ld "
					  "(use y, m, d or h)",
					  text, v);
		default:
			return rv_err_set(RV_INVALID,
					  "duration '%s': unknown unit '%c' "
					  "(use y, m for months, d or h)",
					  text, *p);
		}
		if (seen[which])
			return rv_err_set(RV_INVALID,
					  "duration '%s': unit '%c' is given "
					  "twice",
					  text, *p);
		seen[which] = true;
		*slot = (int)v;
		p++;
	}
	*out = d;
	return 0;
}

int sched_duration_parse(int64_t *seconds, const char *text)
{
	struct sched_duration d;
	int rc = sched_duration_parse_cal(&d, text);

	if (rc < 0)
		return rc;
	*seconds = (int64_t)d.years * 365 * 86400 +
		   (int64_t)d.months * 30 * 86400 + (int64_t)d.days * 86400 +
		   (int64_t)d.hours * 3600;
	return 0;
}
