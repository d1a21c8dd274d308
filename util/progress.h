/* progress.h - one redrawn status line on a terminal.
 *
 * When stderr is a terminal and the log level is at least info, each
 * update redraws a single line (at most ten times a second). Otherwise
 * nothing is drawn: logs get the plain info lines instead. */
#ifndef RV_PROGRESS_H
#define RV_PROGRESS_H

void rv_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Erase the line (call before printing anything else). */
void rv_progress_done(void);
/* "12.3 MiB" style; returns buf. */
const char *rv_human_bytes(char *buf, unsigned long bufsize,
			   unsigned long long n);

/* "42 s ago", "12 min ago", "3 h ago", "5 days ago"; a negative age is
 * "in the future (clock skew)". Returns buf. */
const char *rv_human_age(char *buf, unsigned long bufsize, long long age);

#endif
