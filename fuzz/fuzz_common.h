/* fuzz_common.h - helpers shared by the fuzz targets (fuzz/README.md).
 *
 * FUZZ_CHECK states an invariant: when it fails the target prints what
 * and aborts, which libFuzzer reports as a crash with the input saved. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include "util/err.h"
#include "util/log.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s (%s)\n",  \
				__FILE__, __LINE__, #cond, rv_err_msg());      \
			abort();                                               \
		}                                                              \
	} while (0)

/* A NUL-terminated copy of data (the parsers that take C strings). */
static inline char *fuzz_cstr(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		abort();
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

/* 1 when s holds a byte below 0x20 or 0x7f. */
static inline int fuzz_has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* The codes a parser may answer with: 0 or one of the listed ones. */
static inline int fuzz_code_in(int rc, const int *codes, size_t n)
{
	if (rc == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (rc == codes[i])
			return 1;
	return 0;
}
#define FUZZ_CODE_IN(rc, ...)                                                  \
	fuzz_code_in((rc), (const int[]){__VA_ARGS__},                         \
		     sizeof((const int[]){__VA_ARGS__}) / sizeof(int))

/* Quiet logs (parsers warn about skipped entries). */
#define FUZZ_QUIET_INIT()                                                      \
	int LLVMFuzzerInitialize(int *argc, char ***argv);                     \
	int LLVMFuzzerInitialize(int *argc, char ***argv)                      \
	{                                                                      \
		(void)argc;                                                    \
		(void)argv;                                                    \
		rv_log_set_level(RV_LOG_ERROR);                                \
		return 0;                                                      \
	}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
