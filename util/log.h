/* log.h - log lines on stderr.
 *
 * The level is process-wide (set once by the CLI). Lines carry no secrets:
 * callers never pass passwords, tokens or keys.
 */
#ifndef RV_LOG_H
#define RV_LOG_H

enum rv_log_level {
	RV_LOG_ERROR = 0,
	RV_LOG_WARN = 1,
	RV_LOG_INFO = 2,
	RV_LOG_DEBUG = 3,
};

void rv_log_set_level(int level);
int rv_log_level(void);

/* How a line looks: text "regvault: warning: ..." (the default), or one
 * JSON object per line for log shippers:
 *   {"time":"2026-11-28T23:00:00Z","level":"warning","program":"regvault",
 *    "msg":"..."}
 * Either way a line is one line: control characters become '?'. */
enum rv_log_format {
	RV_LOG_TEXT = 0,
	RV_LOG_JSON = 1,
};
void rv_log_set_format(int format);
int rv_log_format(void);
void rv_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define rv_warn(...) rv_log(RV_LOG_WARN, __VA_ARGS__)
#define rv_info(...) rv_log(RV_LOG_INFO, __VA_ARGS__)
#define rv_debug(...) rv_log(RV_LOG_DEBUG, __VA_ARGS__)

#endif
