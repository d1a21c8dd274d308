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
void rv_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define rv_warn(...) rv_log(RV_LOG_WARN, __VA_ARGS__)
#define rv_info(...) rv_log(RV_LOG_INFO, __VA_ARGS__)
#define rv_debug(...) rv_log(RV_LOG_DEBUG, __VA_ARGS__)

#endif
