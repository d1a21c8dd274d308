/* tz.c - TZif reader and local-time arithmetic (see tz.h).
 *
 * Why not setenv("TZ") + tzset() + mktime(): that changes process-wide
 * state, is not thread-safe, and mktime() guesses differently across libcs
 * for times in a gap or an overlap. Reading the TZif file ourselves costs
 * about 300 lines and answers exactly the questions cron needs: which
 * offset holds at an instant and where the next change is.
 */
#include "schedules/tz.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"

#define TZ_DIR "/usr/share/zoneinfo"
#define TZ_NAME_MAX 200
#define TZ_FILE_MAX (512u * 1024u)
#define TZ_TIMECNT_MAX 65535u
#define TZ_FOOTER_MAX 256u
/* RFC 8536: UT offsets are within -25:59:59 .. +25:59:59. */
#define TZ_UTOFF_LIMIT (26 * 3600)

/* One date of a POSIX TZ rule: "Jn" (1-365, Feb 29 never counted), "n"
 * (0-365, counted), "Mm.w.d" (weekday d of week w of month m, 5 = last). */
struct posix_date {
	char kind; /* 'J', 'N' or 'M' */
	int n, m, w, d;
	int32_t time; /* seconds after local midnight, may be <0 or >24h */
};

struct posix_tz {
	int32_t std_utoff; /* seconds east */
	int32_t dst_utoff;
	bool has_dst;
	struct posix_date start, end;
};

struct sched_tz {
	char *name;
	size_t timecnt;
	int64_t *trans; /* ascending transition instants */
	uint8_t *idx;	/* type index after each transition */
	size_t typecnt;
	int32_t *utoff; /* per type */
	bool has_footer;
	struct posix_tz footer;
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int64_t sched_days_from_civil(int64_t year, int64_t month, int64_t day)
{
	int64_t y, m, era, yoe, doy, doe;

	y = year + floor_div(month - 1, 12);
	m = month - 1 - floor_div(month - 1, 12) * 12 + 1;
	y -= m <= 2;
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 + (day - 1);
}

void sched_civil_from_days(int64_t days, int *year, int *month, int *day)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)m;
	*year = (int)(yoe + era * 400 + (m <= 2));
}

int sched_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday (4). */
	return (int)(days - floor_div(days + 4, 7) * 7 + 4);
}

void sched_iso_week(int *iso_year, int *iso_week, int year, int month, int day)
{
	int64_t days = sched_days_from_civil(year, month, day);
	int monday_based = (sched_weekday(days) + 6) % 7; /* Monday = 0 */
	int64_t thursday = days - monday_based + 3;
	int ty, tm, td;

	/* The week belongs to the year that holds its Thursday. */
	sched_civil_from_days(thursday, &ty, &tm, &td);
	*iso_year = ty;
	*iso_week = (int)((thursday - sched_days_from_civil(ty, 1, 1)) / 7) + 1;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int len[] = {31, 28, 31, 30, 31, 30,
				  31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* ---- POSIX TZ strings (the TZif footer) ---- */

static const char *posix_name(const char *p)
{
	const char *q;

	if (*p == '<') {
		q = strchr(p, '>');
		return q && q - p >= 4 ? q + 1 : NULL;
	}
	for (q = p; (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'); q++)
		;
	return q - p >= 3 ? q : NULL;
}

static int digits(const char **p, int maxdigits)
{
	int v = 0, n = 0;

	while (**p >= '0' && **p <= '9' && n < maxdigits) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n ? v : -1;
}

/* [+-]hh[:mm[:ss]] with hours up to max_hours; seconds out. */
static const char *posix_hms(const char *p, int max_hours, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	h = digits(&p, 3);
	if (h < 0 || h > max_hours)
		return NULL;
	if (*p == ':') {
		p++;
		m = digits(&p, 2);
		if (m < 0 || m > 59)
			return NULL;
		if (*p == ':') {
			p++;
			s = digits(&p, 2);
			if (s < 0 || s > 59)
				return NULL;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *posix_date(const char *p, struct posix_date *d)
{
	d->time = 2 * 3600;
	if (*p == 'J') {
		p++;
		d->kind = 'J';
		d->n = digits(&p, 3);
		if (d->n < 1 || d->n > 365)
			return NULL;
	} else if (*p == 'M') {
		p++;
		d->kind = 'M';
		d->m = digits(&p, 2);
		if (d->m < 1 || d->m > 12 || *p++ != '.')
			return NULL;
		d->w = digits(&p, 1);
		if (d->w < 1 || d->w > 5 || *p++ != '.')
			return NULL;
		d->d = digits(&p, 1);
		if (d->d < 0 || d->d > 6)
			return NULL;
	} else {
		d->kind = 'N';
		d->n = digits(&p, 3);
		if (d->n < 0 || d->n > 365)
			return NULL;
	}
	if (*p == '/') {
		/* RFC 8536 extends the time to -167..167 hours. */
		p = posix_hms(p + 1, 167, &d->time);
	}
	return p;
}

static int posix_parse(struct posix_tz *tz, const char *s)
{
	const char *p = posix_name(s);
	int32_t off;

	memset(tz, 0, sizeof(*tz));
	if (!p || !(p = posix_hms(p, 24, &off)))
		return -1;
	tz->std_utoff = -off;
	if (*p == '\0')
		return 0;
	if (!(p = posix_name(p)))
		return -1;
	tz->has_dst = true;
	tz->dst_utoff = tz->std_utoff + 3600;
	if (*p != ',' && *p != '\0') {
		if (!(p = posix_hms(p, 24, &off)))
			return -1;
		tz->dst_utoff = -off;
	}
	if (*p == '\0') {
		/* No rule: the US rules, as glibc assumes. */
		tz->start = (struct posix_date){'M', 0, 3, 2, 0, 7200};
		tz->end = (struct posix_date){'M', 0, 11, 1, 0, 7200};
		return 0;
	}
	if (*p++ != ',' || !(p = posix_date(p, &tz->start)) || *p++ != ',' ||
	    !(p = posix_date(p, &tz->end)) || *p != '\0')
		return -1;
	return 0;
}

/* The instant the rule date d happens in year y, given the offset in
 * effect just before it. */
static int64_t posix_when(const struct posix_date *d, int64_t y,
			  int32_t utoff_before)
{
	int64_t days;

	if (d->kind == 'J') {
		days = sched_days_from_civil(y, 1, 1) + d->n - 1;
		if (is_leap(y) && d->n >= 60)
			days++;
	} else if (d->kind == 'N') {
		days = sched_days_from_civil(y, 1, 1) + d->n;
	} else {
		int64_t first = sched_days_from_civil(y, d->m, 1);
		int64_t dd = first + (d->d - sched_weekday(first) + 7) % 7 +
			     (int64_t)(d->w - 1) * 7;

		while (dd >= first + month_days(y, d->m))
			dd -= 7;
		days = dd;
	}
	return days * 86400 + d->time - utoff_before;
}

static int32_t posix_offset(const struct posix_tz *p, int64_t t, int64_t *start,
			    int64_t *end)
{
	struct event {
		int64_t at;
		int32_t utoff;
	} ev[6], tmp;
	int year, month, day, i, j, n = 0;
	int32_t cur;

	if (!p->has_dst) {
		*start = INT64_MIN;
		*end = INT64_MAX;
		return p->std_utoff;
	}
	sched_civil_from_days(floor_div(t + p->std_utoff, 86400), &year, &month,
			      &day);
	for (i = -1; i <= 1; i++) {
		ev[n++] = (struct event){
		    posix_when(&p->start, (int64_t)year + i, p->std_utoff),
		    p->dst_utoff};
		ev[n++] = (struct event){
		    posix_when(&p->end, (int64_t)year + i, p->dst_utoff),
		    p->std_utoff};
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && ev[j - 1].at > ev[j].at; j--) {
			tmp = ev[j];
			ev[j] = ev[j - 1];
			ev[j - 1] = tmp;
		}
	/* Before the first event of the previous year: the offset the last
	 * event of a year leaves, which is that of ev[n - 1]. */
	cur = ev[n - 1].utoff;
	*start = INT64_MIN;
	*end = INT64_MAX;
	for (i = 0; i < n; i++) {
		if (ev[i].at <= t) {
			cur = ev[i].utoff;
			*start = ev[i].at;
		} else {
			*end = ev[i].at;
			break;
		}
	}
	return cur;
}

/* ---- TZif ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
};

static size_t tzif_block(const struct tzif_counts *c, size_t tsize)
{
	return c->time * (tsize + 1) + c->type * 6 + c->chars +
	       c->leap * (tsize + 4) + c->isstd + c->isut;
}

static int tzif_header(struct tzif_counts *c, const unsigned char *p,
		       size_t avail)
{
	if (avail < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	c->isut = be32(p + 20);
	c->isstd = be32(p + 24);
	c->leap = be32(p + 28);
	c->time = be32(p + 32);
	c->type = be32(p + 36);
	c->chars = be32(p + 40);
	if (c->time > TZ_TIMECNT_MAX || c->type == 0 || c->type > 256 ||
	    c->chars > 65535 || c->leap > 65535 ||
	    (c->isut != 0 && c->isut != c->type) ||
	    (c->isstd != 0 && c->isstd != c->type))
		return -1;
	return 0;
}

static int tz_invalid(const char *name, const char *why)
{
	return rv_err_set(RV_INVALID, "time zone '%s': %s", name, why);
}

static int tzif_parse(struct sched_tz *tz, const unsigned char *data,
		      size_t len)
{
	struct tzif_counts c;
	const unsigned char *p = data, *end = data + len;
	size_t tsize = 4, i;
	char footer[TZ_FOOTER_MAX];

	if (tzif_header(&c, p, len) < 0)
		return tz_invalid(tz->name, "not a TZif time zone file");
	if (p[4] >= '2') {
		/* Skip the 32-bit block: version 2+ repeats it in 64 bits. */
		p += 44;
		if (tzif_block(&c, 4) > (size_t)(end - p))
			goto truncated;
		p += tzif_block(&c, 4);
		if (tzif_header(&c, p, (size_t)(end - p)) < 0)
			return tz_invalid(tz->name, "bad second TZif header");
		tsize = 8;
	}
	p += 44;
	if (tzif_block(&c, tsize) > (size_t)(end - p))
		goto truncated;
	if (c.leap != 0)
		return tz_invalid(tz->name,
				  "zones with leap seconds ('right/...') are "
				  "not supported (use the zone without "
				  "'right/')");
	tz->timecnt = c.time;
	tz->typecnt = c.type;
	tz->trans = calloc(c.time ? c.time : 1, sizeof(*tz->trans));
	tz->idx = calloc(c.time ? c.time : 1, 1);
	tz->utoff = calloc(c.type, sizeof(*tz->utoff));
	if (!tz->trans || !tz->idx || !tz->utoff)
		return rv_err_set(RV_NOMEM, "out of memory reading time zone");
	for (i = 0; i < c.time; i++) {
		tz->trans[i] = tsize == 8 ? be64(p) : (int32_t)be32(p);
		p += tsize;
		if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
			return tz_invalid(tz->name,
					  "transitions are not in order");
	}
	for (i = 0; i < c.time; i++) {
		tz->idx[i] = *p++;
		if (tz->idx[i] >= c.type)
			return tz_invalid(tz->name, "bad local time type");
	}
	for (i = 0; i < c.type; i++) {
		int32_t off = (int32_t)be32(p);

		if (off <= -TZ_UTOFF_LIMIT || off >= TZ_UTOFF_LIMIT)
			return tz_invalid(tz->name, "UT offset out of range");
		tz->utoff[i] = off;
		p += 6;
	}
	p += c.chars + c.isstd + c.isut;
	if (tsize == 8 && p < end && *p == '\n') {
		const unsigned char *nl =
		    memchr(p + 1, '\n', (size_t)(end - p - 1));
		size_t flen;

		if (!nl)
			return tz_invalid(tz->name, "footer is not terminated");
		flen = (size_t)(nl - p - 1);
		if (flen >= sizeof(footer))
			return tz_invalid(tz->name, "footer is too long");
		memcpy(footer, p + 1, flen);
		footer[flen] = '\0';
		if (flen > 0) {
			if (posix_parse(&tz->footer, footer) < 0)
				return rv_err_set(RV_INVALID,
						  "time zone '%s': cannot read "
						  "its rule '%s'",
						  tz->name, footer);
			tz->has_footer = true;
		}
	}
	return 0;
truncated:
	return tz_invalid(tz->name, "TZif file is truncated");
}

static bool name_is_safe(const char *name)
{
	const char *p;

	if (name[0] == '/' || name[0] == '.' || strstr(name, "..") ||
	    strstr(name, "//") || strlen(name) > TZ_NAME_MAX)
		return false;
	for (p = name; *p; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '/' || *p == '_' ||
		      *p == '-' || *p == '+' || *p == '.'))
			return false;
	}
	return p[-1] != '/';
}

int sched_tz_open(struct sched_tz **out, const char *name)
{
	struct sched_tz *tz = NULL;
	struct rv_buf file = RV_BUF_INIT(TZ_FILE_MAX);
	char path[sizeof(TZ_DIR) + TZ_NAME_MAX + 2];
	struct stat st;
	int rc;

	*out = NULL;
	tz = calloc(1, sizeof(*tz));
	if (!tz)
		return rv_err_set(RV_NOMEM, "out of memory");
	if (!name || !*name) {
		tz->name = strdup("UTC");
		tz->typecnt = 1;
		tz->utoff = calloc(1, sizeof(*tz->utoff));
		if (!tz->name || !tz->utoff) {
			rc = rv_err_set(RV_NOMEM, "out of memory");
			goto done;
		}
		*out = tz;
		tz = NULL;
		rc = 0;
		goto done;
	}
	if (!name_is_safe(name)) {
		rc = rv_err_set(RV_INVALID,
				"time zone '%.*s' is not a tz database name "
				"(write it like 'Europe/Berlin' or 'UTC')",
				TZ_NAME_MAX, name);
		goto done;
	}
	tz->name = strdup(name);
	if (!tz->name) {
		rc = rv_err_set(RV_NOMEM, "out of memory");
		goto done;
	}
	rc = snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name);
	if (rc < 0 || (size_t)rc >= sizeof(path)) {
		rc = tz_invalid(name, "name is too long");
		goto done;
	}
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = rv_err_set(RV_INVALID,
				"unknown time zone '%s' (no file %s; is the "
				"tzdata package installed?)",
				name, path);
		goto done;
	}
	rc = rv_fs_read_file(&file, path);
	if (rc < 0) {
		rc = rv_err_set(RV_INVALID, "time zone '%s': %s", name,
				rv_err_msg());
		goto done;
	}
	rc = tzif_parse(tz, file.data, file.len);
	if (rc < 0)
		goto done;
	*out = tz;
	tz = NULL;
	rc = 0;
done:
	rv_buf_release(&file);
	sched_tz_free(tz);
	return rc;
}

void sched_tz_free(struct sched_tz *tz)
{
	if (!tz)
		return;
	free(tz->name);
	free(tz->trans);
	free(tz->idx);
	free(tz->utoff);
	free(tz);
}

const char *sched_tz_name(const struct sched_tz *tz)
{
	return tz->name;
}

int32_t sched_tz_offset(const struct sched_tz *tz, int64_t t, int64_t *start,
			int64_t *end)
{
	int64_t s = INT64_MIN, e = INT64_MAX;
	int32_t off;
	size_t lo, hi, mid;

	if (tz->timecnt == 0 || t >= tz->trans[tz->timecnt - 1]) {
		if (tz->has_footer) {
			off = posix_offset(&tz->footer, t, &s, &e);
			/* The table is authoritative up to its last entry. */
			if (tz->timecnt > 0 && s < tz->trans[tz->timecnt - 1])
				s = tz->trans[tz->timecnt - 1];
		} else {
			off = tz->utoff[tz->timecnt ? tz->idx[tz->timecnt - 1]
						    : 0];
			if (tz->timecnt)
				s = tz->trans[tz->timecnt - 1];
		}
	} else if (t < tz->trans[0]) {
		off = tz->utoff[0];
		e = tz->trans[0];
	} else {
		/* The last transition <= t. */
		lo = 0;
		hi = tz->timecnt - 1;
		while (lo + 1 < hi) {
			mid = lo + (hi - lo) / 2;
			if (tz->trans[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		off = tz->utoff[tz->idx[lo]];
		s = tz->trans[lo];
		e = tz->trans[lo + 1];
	}
	if (start)
		*start = s;
	if (end)
		*end = e;
	return off;
}

void sched_tz_local(struct sched_civil *out, const struct sched_tz *tz,
		    int64_t t)
{
	int64_t wall = t + sched_tz_offset(tz, t, NULL, NULL);
	int64_t days = floor_div(wall, 86400);
	int64_t secs = wall - days * 86400;

	sched_civil_from_days(days, &out->year, &out->month, &out->day);
	out->hour = (int)(secs / 3600);
	out->minute = (int)(secs / 60 % 60);
	out->second = (int)(secs % 60);
	out->wday = sched_weekday(days);
}

void sched_tz_resolve(int64_t out[2], int *n, int64_t *gap_end,
		      const struct sched_tz *tz, int64_t wall)
{
	/* Walk the offset intervals that can contain `wall` (offsets are
	 * under 26 hours either way) and see which map onto it. */
	int64_t t = wall - 2 * TZ_UTOFF_LIMIT, start, end;
	int32_t off, next_off;
	int guard;

	*n = 0;
	*gap_end = INT64_MIN;
	for (guard = 0; guard < 64; guard++) {
		off = sched_tz_offset(tz, t, &start, &end);
		if (t + off > wall)
			break;
		if (end == INT64_MAX || wall < end + off) {
			if (*n < 2 && (*n == 0 || out[*n - 1] != wall - off))
				out[(*n)++] = wall - off;
			if (end == INT64_MAX)
				break;
		} else {
			next_off = sched_tz_offset(tz, end, NULL, NULL);
			if (wall >= end + off && wall < end + next_off &&
			    *n == 0)
				*gap_end = end;
		}
		t = end;
	}
	if (*n == 2 && out[0] > out[1]) {
		int64_t tmp = out[0];

		out[0] = out[1];
		out[1] = tmp;
	}
}

int64_t sched_tz_wall_to_utc_go(const struct sched_tz *tz, int64_t wall)
{
	int64_t start, end, utc;
	int32_t off = sched_tz_offset(tz, wall, &start, &end);

	if (off != 0) {
		utc = wall - off;
		if (utc < start || utc >= end)
			off = sched_tz_offset(tz, utc, NULL, NULL);
	}
	return wall - off;
}
