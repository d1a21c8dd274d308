#include "log.h"

#include "progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static int log_level = RV_LOG_INFO;

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
	rv_progress_done();
	if (level == RV_LOG_INFO)
		fprintf(stderr, "regvault: %s\n", line);
	else
		fprintf(stderr, "regvault: %s: %s\n",
			names[level < 0 || level > 3 ? 0 : level], line);
}
