/* fuzz_cron.c - cron expressions and zone names (schedules/cron.c; the
 * expression and the zone come from the config file).
 *
 * Input: byte 0 picks the zone (five fixed zones with DST oddities, or
 * a name taken from the input up to '\n'), bytes 1-8 an instant, the
 * rest the expression.
 * Invariants: documented codes only; a zone name with "..", a leading
 * '/' or a control character never loads; next(t) > t and prev(t) <= t;
 * next and prev agree on one set of firing times: prev(next(t)) ==
 * next(t), next(prev(t)) == next(t) (when both lie within the search
 * window) and there is no firing in between. There is no formatter, so
 * there is no text round trip. */
#include "fuzz_common.h"

#include "schedules/cron.h"
#include "schedules/tz.h"

FUZZ_QUIET_INIT()

static const char *const zones[] = {
    NULL,	    "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
    "Pacific/Apia", "Asia/Kolkata",
};
#define N_ZONES (sizeof(zones) / sizeof(zones[0]))
#define WINDOW ((int64_t)8 * 365 * 86400)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sched_cron *c = NULL;
	char *text, *expr, *zone_name = NULL;
	const char *zone;
	uint64_t raw = 0;
	int64_t t, next = 0, prev = 0, x = 0;
	int rc, rn, rp;

	if (size < 9 || size > 1024)
		return 0;
	for (int i = 0; i < 8; i++)
		raw = raw << 8 | data[1 + i];
	t = SCHED_TIME_MIN +
	    (int64_t)(raw % (uint64_t)(SCHED_TIME_MAX - SCHED_TIME_MIN + 1));
	text = fuzz_cstr(data + 9, size - 9);
	expr = text;
	if (data[0] % (N_ZONES + 1) == N_ZONES) {
		char *nl = strchr(text, '\n');
		if (!nl)
			goto done;
		*nl = '\0';
		zone_name = text;
		expr = nl + 1;
		zone = zone_name;
	} else {
		zone = zones[data[0] % (N_ZONES + 1)];
	}

	rc = sched_cron_parse(&c, expr, zone);
	FUZZ_CHECK(FUZZ_CODE_IN(rc, RV_INVALID, RV_NOMEM));
	FUZZ_CHECK(rc ? c == NULL : c != NULL);
	if (rc)
		goto done;
	if (zone_name) {
		FUZZ_CHECK(zone_name[0] != '/' && !strstr(zone_name, ".."));
		FUZZ_CHECK(!fuzz_has_ctl(zone_name));
		FUZZ_CHECK(!strcmp(sched_cron_zone(c),
				   *zone_name ? zone_name : "UTC"));
	}

	rn = sched_cron_next(&next, c, t);
	rp = sched_cron_prev(&prev, c, t);
	FUZZ_CHECK(FUZZ_CODE_IN(rn, RV_NOTFOUND, RV_NOMEM, RV_INVALID));
	FUZZ_CHECK(FUZZ_CODE_IN(rp, RV_NOTFOUND, RV_NOMEM, RV_INVALID));
	if (!rn) {
		FUZZ_CHECK(next > t && next <= SCHED_TIME_MAX);
		FUZZ_CHECK(sched_cron_prev(&x, c, next) == 0 && x == next);
		/* nothing fires in (t, next): prev(next - 1) <= t */
		if (sched_cron_prev(&x, c, next - 1) == 0)
			FUZZ_CHECK(x <= t);
	}
	if (!rp) {
		FUZZ_CHECK(prev <= t && prev >= SCHED_TIME_MIN);
		/* nothing fires in (prev, t]: next(prev) > t */
		if (sched_cron_next(&x, c, prev) == 0) {
			FUZZ_CHECK(x > t);
			if (!rn && next - prev <= WINDOW)
				FUZZ_CHECK(x == next);
		}
	}
done:
	sched_cron_free(c);
	free(text);
	return 0;
}
