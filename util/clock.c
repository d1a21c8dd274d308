#include "util/clock.h"

#include "util/err.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

int rv_now(int64_t *out)
{
	const char *env = getenv("REGVAULT_TEST_NOW");
	char *end = NULL;
	long long v;

	if (!env || !*env) {
		*out = (int64_t)time(NULL);
		return 0;
	}
	errno = 0;
	v = strtoll(env, &end, 10);
	if (errno || *end || v < 0 || v > RV_TIME_MAX)
		return rv_err_set(RV_INVALID,
				  "REGVAULT_TEST_NOW='%.40s' is not a number "
				  "of unix seconds (it is for tests only: "
				  "unset it)",
				  env);
	*out = (int64_t)v;
	return 0;
}
