#include "log.h"

#include "progress.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int log_level = RV_LOG_INFO;
static int log_format = RV_LOG_TEXT;

void rv_log_set_format(int format)
{
	log_format = format;
}
int rv_log_format(void)
{
	return log_format;
}

/* One JSON object on one line; the text line when that fails. */
static int log_json(const char *level, const char *line)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	json_t *o;
	char *text;

	if (!gmtime_r(&now, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		when[0] = '\0';
	o = json_pack("{s:s, s:s, s:s, s:s}", "time", when, "level", level,
		      "program", "regvault", "msg", line);
	text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(o);
	if (!text)
		return -1;
	fprintf(stderr, "%s\n", text);
	free(text);
	return 0;
}

void rv_log_set_level(int level)
{
	log_level = level;
}
int rv_log_level(void)
{
	return log_level;
}

void rv_log(int level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info",
					    "debug"};
	char line[4096];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (char *c = line; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	rv_progress_done();
	if (log_format == RV_LOG_JSON &&
	    !log_json(names[level < 0 || level > 3 ? 0 : level], line))
		return;
	if (level == RV_LOG_INFO)
		fprintf(stderr, "regvault: %s\n", line);
	else
		fprintf(stderr, "regvault: %s: %s\n",
			names[level < 0 || level > 3 ? 0 : level], line);
}
