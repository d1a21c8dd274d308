#include "progress.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int progress_shown;
static struct timespec progress_last;

static int progress_enabled(void)
{
	static int tty = -1;
	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	return tty && rv_log_level() >= RV_LOG_INFO;
}

void rv_progress(const char *fmt, ...)
{
	struct timespec now;
	char line[160];
	va_list ap;

	if (!progress_enabled())
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (progress_shown &&
	    (now.tv_sec - progress_last.tv_sec) * 1000000000L +
		    (now.tv_nsec - progress_last.tv_nsec) <
		100000000L)
		return;
	progress_last = now;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	progress_shown = 1;
}

void rv_progress_done(void)
{
	if (progress_shown) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
		progress_shown = 0;
	}
}

const char *rv_human_bytes(char *buf, unsigned long bufsize,
			   unsigned long long n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, bufsize, "%llu B", n);
	else
		snprintf(buf, bufsize, "%.1f %s", v, units[u]);
	return buf;
}

const char *rv_human_age(char *buf, unsigned long bufsize, long long age)
{
	if (age < 0)
		snprintf(buf, bufsize, "in the future (clock skew)");
	else if (age < 120)
		snprintf(buf, bufsize, "%lld s ago", age);
	else if (age < 3 * 3600)
		snprintf(buf, bufsize, "%lld min ago", age / 60);
	else if (age < 48 * 3600)
		snprintf(buf, bufsize, "%lld h ago", age / 3600);
	else
		snprintf(buf, bufsize, "%lld days ago", age / 86400);
	return buf;
}
