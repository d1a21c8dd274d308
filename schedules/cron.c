/* cron.c - cron expressions: parser and next/previous firing (see cron.h).
 *
 * Firing times are computed one local calendar day at a time: a day that
 * matches the date fields yields its wall times (hour x minute), each
 * resolved to instants by the zone (none in a gap, two in an overlap), and
 * the DST rule of cron.h picks which instants fire. Searching by days keeps
 * "never fires" expressions cheap (8 years is about 2900 date checks) and
 * makes next() and prev() agree on one set of firing times.
 */
#include "schedules/cron.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedules/tz.h"
#include "util/err.h"

#define CRON_EXPR_MAX 256
/* 8 years and then some: the gap between two Feb 29ths is at most 8 years
 * (2096 -> 2104), so anything that fires at all fires within this. */
#define CRON_SEARCH_DAYS (8 * 366 + 2)
/* Every minute of a day, twice when the clocks fall back. */
#define CRON_DAY_SLOTS (24 * 60 * 2)

struct sched_cron {
	uint64_t minute; /* bit m: minute m fires */
	uint32_t hour;
	uint32_t dom;	/* bits 1-31 */
	uint16_t month; /* bits 1-12 */
	uint8_t dow;	/* bits 0-6, 0 = Sunday */
	bool dom_star;	/* field starts with '*' (Vixie's DOM_STAR) */
	bool dow_star;
	bool hour_star; /* follow the clock across DST changes */
	struct sched_tz *tz;
};

struct field_def {
	const char *name;
	int min, max;
	const char *const *names; /* NULL: numbers only */
	int name_base;		  /* value of names[0] */
	const char *name_hint;
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may",
					  "jun", "jul", "aug", "sep", "oct",
					  "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed",
					"thu", "fri", "sat", NULL};

enum { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

static const struct field_def fields[F_COUNT] = {
    {"minute", 0, 59, NULL, 0, NULL},
    {"hour", 0, 23, NULL, 0, NULL},
    {"day-of-month", 1, 31, NULL, 0, NULL},
    {"month", 1, 12, month_names, 1, "JAN-DEC"},
    {"day-of-week", 0, 7, dow_names, 0, "SUN-SAT"},
};

static const struct {
	const char *name;
	const char *expr;
} macros[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

static int field_error(const char *expr, const struct field_def *f,
		       const char *text, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int field_error(const char *expr, const struct field_def *f,
		       const char *text, const char *fmt, ...)
{
	char why[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return rv_err_set(RV_INVALID, "cron expression '%s': %s field '%s': %s",
			  expr, f->name, text, why);
}

/* One value: a number or (month, day-of-week) a three-letter name. */
static int parse_value(int *v, const char **pp, const char *expr,
		       const struct field_def *f, const char *text)
{
	const char *p = *pp;
	int i, len = 0;

	if (isdigit((unsigned char)*p)) {
		long n = 0;

		while (isdigit((unsigned char)*p)) {
			if (n < 100000)
				n = n * 10 + (*p - '0');
			p++;
		}
		if (n < f->min || n > f->max)
			return field_error(expr, f, text,
					   "%ld is out of range %d-%d", n,
					   f->min, f->max);
		*v = (int)n;
		*pp = p;
		return 0;
	}
	while (isalpha((unsigned char)p[len]))
		len++;
	if (len == 0) {
		if (*p == '\0')
			return field_error(expr, f, text,
					   "a number is missing");
		return field_error(expr, f, text, "unexpected '%c'", *p);
	}
	if (!f->names)
		return field_error(expr, f, text,
				   "'%.*s' is not a number (names are only "
				   "allowed for months and weekdays)",
				   len, p);
	for (i = 0; len == 3 && f->names[i]; i++) {
		if (strncasecmp(p, f->names[i], 3) == 0) {
			*v = f->name_base + i;
			*pp = p + 3;
			return 0;
		}
	}
	return field_error(expr, f, text, "'%.*s' is not a %s name (%s)", len,
			   p, f->name, f->name_hint);
}

/* One list item: "*", "a", "a-b", each optionally "/step". */
static int parse_item(uint64_t *bits, const char *item, const char *expr,
		      const struct field_def *f, const char *text)
{
	const char *p = item;
	int lo, hi, step = 1, v, rc;
	bool ranged = false;

	if (*p == '\0')
		return field_error(expr, f, text, "empty list item");
	if (*p == '*') {
		lo = f->min;
		hi = f->max;
		ranged = true;
		p++;
	} else {
		rc = parse_value(&lo, &p, expr, f, text);
		if (rc < 0)
			return rc;
		hi = lo;
		if (*p == '-') {
			p++;
			rc = parse_value(&hi, &p, expr, f, text);
			if (rc < 0)
				return rc;
			ranged = true;
			if (lo > hi)
				return field_error(
				    expr, f, text,
				    "range %d-%d is reversed (the first "
				    "value must not be larger%s)",
				    lo, hi,
				    f == &fields[F_DOW]
					? "; Sunday is 0 or 7: write FRI-SUN "
					  "as 5-7"
					: "");
		}
	}
	if (*p == '/') {
		long n = 0;

		p++;
		if (!isdigit((unsigned char)*p))
			return field_error(expr, f, text,
					   "a step must be a number after '/'");
		while (isdigit((unsigned char)*p)) {
			if (n < 100000)
				n = n * 10 + (*p - '0');
			p++;
		}
		if (n == 0)
			return field_error(expr, f, text,
					   "step 0 is not allowed (use 1 or "
					   "more)");
		if (n > f->max - f->min + 1)
			return field_error(expr, f, text,
					   "step %ld is larger than the "
					   "field's range %d-%d",
					   n, f->min, f->max);
		step = (int)n;
		if (!ranged)
			hi = f->max; /* "5/15" is "5-max/15" */
	}
	if (*p != '\0')
		return field_error(expr, f, text, "unexpected '%c'", *p);
	for (v = lo; v <= hi; v += step)
		*bits |= (uint64_t)1 << (f == &fields[F_DOW] ? v % 7 : v);
	return 0;
}

static int parse_field(uint64_t *bits, const char *text, const char *expr,
		       const struct field_def *f)
{
	char item[CRON_EXPR_MAX + 1];
	const char *p = text, *comma;
	size_t len;
	int rc;

	*bits = 0;
	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		memcpy(item, p, len);
		item[len] = '\0';
		rc = parse_item(bits, item, expr, f, text);
		if (rc < 0)
			return rc;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static int parse_fields(struct sched_cron *c, const char *fields_text,
			const char *expr)
{
	char copy[CRON_EXPR_MAX + 1];
	char *field[F_COUNT + 1];
	uint64_t bits[F_COUNT];
	size_t nfields = 0;
	char *p;
	int i, rc;

	snprintf(copy, sizeof(copy), "%s", fields_text);
	p = copy;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (nfields == F_COUNT + 1) {
			nfields++;
			break;
		}
		field[nfields++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
	if (nfields != F_COUNT) {
		size_t shown = nfields;

		if (nfields > F_COUNT) {
			/* Count them all for the message. */
			const char *q = fields_text;

			shown = 0;
			while (*q) {
				while (*q == ' ' || *q == '\t')
					q++;
				if (*q)
					shown++;
				while (*q && *q != ' ' && *q != '\t')
					q++;
			}
		}
		return rv_err_set(RV_INVALID,
				  "cron expression '%s': has %zu field%s, "
				  "expected 5 (minute hour day-of-month month "
				  "day-of-week; seconds and years are not "
				  "supported)",
				  expr, shown, shown == 1 ? "" : "s");
	}
	for (i = 0; i < F_COUNT; i++) {
		rc = parse_field(&bits[i], field[i], expr, &fields[i]);
		if (rc < 0)
			return rc;
	}
	c->minute = bits[F_MINUTE];
	c->hour = (uint32_t)bits[F_HOUR];
	c->dom = (uint32_t)bits[F_DOM];
	c->month = (uint16_t)bits[F_MONTH];
	c->dow = (uint8_t)bits[F_DOW];
	c->hour_star = field[F_HOUR][0] == '*';
	c->dom_star = field[F_DOM][0] == '*';
	c->dow_star = field[F_DOW][0] == '*';
	return 0;
}

static int parse_expr(struct sched_cron *c, const char *expr)
{
	const char *p = expr, *end;
	size_t i, len;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return rv_err_set(RV_INVALID,
				  "cron expression '%s' is empty (expected 5 "
				  "fields 'minute hour day-of-month month "
				  "day-of-week', or @daily, @hourly, ...)",
				  expr);
	if (*p != '@')
		return parse_fields(c, expr, expr);
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - p);
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		if (strlen(macros[i].name) == len &&
		    strncasecmp(p, macros[i].name, len) == 0)
			return parse_fields(c, macros[i].expr, expr);
	}
	if (len == 7 && strncasecmp(p, "@reboot", 7) == 0)
		return rv_err_set(RV_INVALID,
				  "cron expression '%s': @reboot is not "
				  "supported (schedules run by the clock)",
				  expr);
	return rv_err_set(RV_INVALID,
			  "cron expression '%s': unknown macro (use @yearly, "
			  "@annually, @monthly, @weekly, @daily, @midnight or "
			  "@hourly)",
			  expr);
}

int sched_cron_parse(struct sched_cron **out, const char *expr, const char *tz)
{
	struct sched_cron *c = NULL;
	const char *p;
	int rc;

	*out = NULL;
	if (!expr)
		expr = "";
	if (strlen(expr) > CRON_EXPR_MAX)
		return rv_err_set(
		    RV_INVALID,
		    "cron expression '%.40s...' is longer than %d "
		    "characters",
		    expr, CRON_EXPR_MAX);
	for (p = expr; *p; p++) {
		if (!isprint((unsigned char)*p) && *p != '\t')
			return rv_err_set(RV_INVALID,
					  "cron expression has a control or "
					  "non-ASCII character at offset %zu",
					  (size_t)(p - expr));
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return rv_err_set(RV_NOMEM, "out of memory");
	rc = parse_expr(c, expr);
	if (rc < 0)
		goto done;
	rc = sched_tz_open(&c->tz, tz);
	if (rc < 0) {
		rc = rv_err_set(rc, "cron expression '%s': %s", expr,
				rv_err_msg());
		goto done;
	}
	*out = c;
	c = NULL;
	rc = 0;
done:
	sched_cron_free(c);
	return rc;
}

void sched_cron_free(struct sched_cron *c)
{
	if (!c)
		return;
	sched_tz_free(c->tz);
	free(c);
}

const char *sched_cron_zone(const struct sched_cron *c)
{
	return sched_tz_name(c->tz);
}

static bool day_matches(const struct sched_cron *c, int64_t days)
{
	int y, m, d, wd;
	bool dom_ok, dow_ok;

	sched_civil_from_days(days, &y, &m, &d);
	if (!(c->month & (1u << m)))
		return false;
	wd = sched_weekday(days);
	dom_ok = c->dom & (1u << d);
	dow_ok = c->dow & (1u << wd);
	if (c->dom_star || c->dow_star)
		return dom_ok && dow_ok;
	return dom_ok || dow_ok;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The instants at which c fires on local day `days`, ascending, unique. */
static size_t day_firings(int64_t *out, const struct sched_cron *c,
			  int64_t days)
{
	int64_t at[2], gap_end, wall;
	size_t n = 0, i, u;
	int h, m, k;

	if (!day_matches(c, days))
		return 0;
	for (h = 0; h < 24; h++) {
		if (!(c->hour & (1u << h)))
			continue;
		for (m = 0; m < 60; m++) {
			if (!(c->minute & ((uint64_t)1 << m)))
				continue;
			wall = days * 86400 + h * 3600 + m * 60;
			sched_tz_resolve(at, &k, &gap_end, c->tz, wall);
			if (k >= 1)
				out[n++] = at[0];
			if (k == 2 && c->hour_star)
				out[n++] = at[1];
			if (k == 0 && !c->hour_star && gap_end != INT64_MIN)
				out[n++] = gap_end;
		}
	}
	qsort(out, n, sizeof(*out), cmp_i64);
	for (i = 0, u = 0; i < n; i++) {
		if (u == 0 || out[u - 1] != out[i])
			out[u++] = out[i];
	}
	return u;
}

static int check_time(int64_t t)
{
	if (t < SCHED_TIME_MIN || t > SCHED_TIME_MAX)
		return rv_err_set(RV_INVALID,
				  "time %lld is outside years 1-9999",
				  (long long)t);
	return 0;
}

static int64_t local_day(const struct sched_cron *c, int64_t t)
{
	int64_t wall = t + sched_tz_offset(c->tz, t, NULL, NULL);

	return wall >= 0 ? wall / 86400 : -((-(wall + 1)) / 86400) - 1;
}

/* Search days from `at`'s local day in direction dir (+1 next, -1 prev)
 * for the nearest firing strictly after (dir > 0) or at/before (dir < 0)
 * `at`. The day before/after the found one is checked too: in zones that
 * skip or repeat whole days, instants of neighbouring days can interleave. */
static int search(int64_t *out, const struct sched_cron *c, int64_t at, int dir)
{
	int64_t *slots = NULL;
	int64_t day0, d, best = 0;
	int64_t first_day = SCHED_TIME_MIN / 86400 - 2;
	int64_t last_day = SCHED_TIME_MAX / 86400 + 2;
	int64_t found_day = 0;
	bool found = false;
	size_t n, i;
	int rc;

	rc = check_time(at);
	if (rc < 0)
		return rc;
	day0 = local_day(c, at);
	slots = malloc(CRON_DAY_SLOTS * sizeof(*slots));
	if (!slots)
		return rv_err_set(RV_NOMEM, "out of memory");
	for (d = day0 - dir; d * dir <= (day0 + dir * CRON_SEARCH_DAYS) * dir;
	     d += dir) {
		if (found && (d - found_day) * dir > 1)
			break;
		if (d < first_day || d > last_day)
			break;
		n = day_firings(slots, c, d);
		for (i = 0; i < n; i++) {
			int64_t t = dir > 0 ? slots[i] : slots[n - 1 - i];

			if (t < SCHED_TIME_MIN || t > SCHED_TIME_MAX)
				continue;
			if (dir > 0 ? t > at : t <= at) {
				if (!found || (dir > 0 ? t < best : t > best))
					best = t;
				if (!found)
					found_day = d;
				found = true;
				break;
			}
		}
	}
	free(slots);
	if (!found)
		return rv_err_set(RV_NOTFOUND,
				  "the schedule never fires within 8 years %s "
				  "%lld (check the day-of-month and month "
				  "fields)",
				  dir > 0 ? "after" : "before", (long long)at);
	*out = best;
	return 0;
}

int sched_cron_next(int64_t *out, const struct sched_cron *c, int64_t after)
{
	return search(out, c, after, 1);
}

int sched_cron_prev(int64_t *out, const struct sched_cron *c, int64_t at)
{
	return search(out, c, at, -1);
}
