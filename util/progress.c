#include "progress.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <string.h>

/* a plain meter line at most this often where no progress line is drawn */
#define METER_LOG_EVERY_S 60

static int progress_shown;
static struct timespec progress_last;

static int progress_enabled(void)
{
	static int tty = -1;
	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	return tty && rv_log_level() >= RV_LOG_INFO &&
	       rv_log_format() == RV_LOG_TEXT;
}

void rv_progress(const char *fmt, ...)
{
	struct timespec now;
	struct winsize ws;
	char line[320];
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
	/* a line wider than the terminal would wrap, and the next \r would
	 * redraw only its last row */
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 &&
	    ws.ws_col <= sizeof(line))
		line[ws.ws_col - 1] = '\0';
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

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

void rv_meter_start(struct rv_meter *m, const char *verb, const char *unit,
		    uint64_t total, uint64_t bytes_total)
{
	memset(m, 0, sizeof(*m));
	m->verb = verb;
	m->unit = unit;
	m->total = total;
	m->bytes_total = bytes_total;
	clock_gettime(CLOCK_MONOTONIC, &m->start);
	m->logged = m->start;
}

void rv_meter_where(struct rv_meter *m, const char *where)
{
	if (where)
		snprintf(m->where, sizeof(m->where), "%s", where);
}

static void eta_text(char *buf, size_t size, double s)
{
	long long t = (long long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, size, "%lldh%02lldm", t / 3600, t % 3600 / 60);
	else if (t >= 60)
		snprintf(buf, size, "%lldm%02llds", t / 60, t % 60);
	else
		snprintf(buf, size, "%llds", t);
}

const char *rv_meter_text(char *buf, size_t size, const struct rv_meter *m,
			  double elapsed)
{
	char a[32], b[32], eta[32] = "";
	double rate = elapsed > 0 ? (double)m->bytes / elapsed : 0, left = -1;
	size_t len;

	if (m->total)
		snprintf(buf, size, "%s: %llu/%llu %s", m->verb,
			 (unsigned long long)m->done,
			 (unsigned long long)m->total, m->unit);
	else
		snprintf(buf, size, "%s: %llu %s", m->verb,
			 (unsigned long long)m->done, m->unit);
	len = strlen(buf);
	if (m->bytes_total)
		snprintf(buf + len, size - len, ", %s/%s",
			 rv_human_bytes(a, sizeof(a), m->bytes),
			 rv_human_bytes(b, sizeof(b), m->bytes_total));
	else if (m->bytes)
		snprintf(buf + len, size - len, ", %s",
			 rv_human_bytes(a, sizeof(a), m->bytes));
	len = strlen(buf);
	if (rate > 0 && elapsed >= 1)
		snprintf(buf + len, size - len, ", %s/s",
			 rv_human_bytes(a, sizeof(a), (unsigned long long)rate));
	/* the ETA by bytes when their total is known, else by items */
	if (m->bytes_total && rate > 0 && m->bytes <= m->bytes_total)
		left = (double)(m->bytes_total - m->bytes) / rate;
	else if (m->total && m->done && m->done <= m->total)
		left = elapsed * (double)(m->total - m->done) / (double)m->done;
	if (left >= 0 && elapsed >= 1) {
		eta_text(eta, sizeof(eta), left);
		len = strlen(buf);
		snprintf(buf + len, size - len, ", ETA %s", eta);
	}
	if (m->where[0]) {
		len = strlen(buf);
		snprintf(buf + len, size - len, " | %s", m->where);
	}
	return buf;
}

void rv_meter_show(struct rv_meter *m)
{
	char line[320];
	double elapsed = since(&m->start);

	if (progress_enabled()) {
		rv_progress("%s", rv_meter_text(line, sizeof(line), m, elapsed));
		return;
	}
	if (since(&m->logged) < METER_LOG_EVERY_S)
		return;
	clock_gettime(CLOCK_MONOTONIC, &m->logged);
	rv_info("%s", rv_meter_text(line, sizeof(line), m, elapsed));
}
