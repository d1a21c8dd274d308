/* progress.h - one redrawn status line on a terminal.
 *
 * When stderr is a terminal and the log level is at least info, each
 * update redraws a single line (at most ten times a second). Otherwise
 * nothing is drawn: logs get the plain info lines instead. */
#ifndef RV_PROGRESS_H
#define RV_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

void rv_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Erase the line (call before printing anything else). */
void rv_progress_done(void);
/* A meter for a long command: items and bytes done (of a total when it is
 * known), the rate, an ETA and where the work is. rv_meter_show draws it
 * as the progress line on a terminal ("restore: 12/340 tags, 1.2/3.4 GiB,
 * 45.6 MiB/s, ETA 1m20s | team-a/api"); elsewhere (cron, systemd, a pipe)
 * it logs the same text as a plain info line at most once a minute, so a
 * long run leaves a trace without flooding the log. Not thread-safe: the
 * thread that owns the command updates and shows it. */
struct rv_meter {
	const char *verb;     /* "restore" */
	const char *unit;     /* "tags" */
	uint64_t done, total; /* total 0: not known */
	uint64_t bytes, bytes_total; /* bytes_total 0: not known */
	char where[128];      /* the current repository or object */
	struct timespec start;
	struct timespec logged; /* the last plain line */
};
void rv_meter_start(struct rv_meter *m, const char *verb, const char *unit,
		    uint64_t total, uint64_t bytes_total);
/* Set where (NULL keeps it). */
void rv_meter_where(struct rv_meter *m, const char *where);
/* Draw (terminal) or maybe log (otherwise) the meter as it is now. */
void rv_meter_show(struct rv_meter *m);
/* The meter's text into buf (what rv_meter_show draws); returns buf. */
const char *rv_meter_text(char *buf, size_t size, const struct rv_meter *m,
			  double elapsed);

/* "12.3 MiB" style; returns buf. */
const char *rv_human_bytes(char *buf, unsigned long bufsize,
			   unsigned long long n);

/* "42 s ago", "12 min ago", "3 h ago", "5 days ago"; a negative age is
 * "in the future (clock skew)". Returns buf. */
const char *rv_human_age(char *buf, unsigned long bufsize, long long age);

#endif
