/* clock.h - "now", the one place the process reads the wall clock for
 * timestamps that tests must be able to set.
 *
 * rv_now() is the real clock, or, FOR TESTS ONLY, the value of the
 * environment variable REGVAULT_TEST_NOW (unix seconds; the clock is then
 * frozen at that instant for the whole process). Snapshot times, schedule
 * slots, forget's "now" and lock ages all come from here, so a test can
 * simulate days of backups in seconds.
 */
#ifndef RV_CLOCK_H
#define RV_CLOCK_H

#include <stdint.h>

/* The largest time accepted: 9999-12-31T23:59:59Z. */
#define RV_TIME_MAX INT64_C(253402300799)

/* RV_INVALID when REGVAULT_TEST_NOW is set but is not a number of seconds
 * in years 1970-9999. */
int rv_now(int64_t *out);

#endif
