/* retry.c - the retry policy of the registry client: which failures are
 * worth another try, how long to wait (exponential backoff with full
 * jitter, Retry-After), Content-Range of a resumed download. Pure
 * functions but for the sleep, so they can be tested without a network. */
#include "registry/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* A Retry-After longer than this is read as this (about 31 years): keeps
 * the arithmetic far from overflow; the caller caps it much lower. */
#define RETRY_AFTER_CEIL INT64_C(1000000000)

int reg_status_retriable(long status)
{
	return status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}

int reg_curl_retriable(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

const char *reg_status_phrase(long status)
{
	switch (status) {
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "";
	}
}

int64_t reg_retry_after_parse(const char *value, time_t now)
{
	const char *p = value;
	size_t len;
	time_t when;

	if (!value)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	len = strlen(p);
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (!len || len > 64)
		return -1;
	if (isdigit((unsigned char)p[0])) {
		int64_t secs = 0;
		for (size_t i = 0; i < len; i++) {
			if (!isdigit((unsigned char)p[i]))
				return -1;
			if (secs < RETRY_AFTER_CEIL)
				secs = secs * 10 + (p[i] - '0');
		}
		return secs < RETRY_AFTER_CEIL ? secs : RETRY_AFTER_CEIL;
	}
	{
		/* an HTTP-date: IMF-fixdate, RFC 850 or asctime; they all
		 * name a month, so demand a letter after the weekday */
		char date[65];
		memcpy(date, p, len);
		date[len] = '\0';
		if (!isalpha((unsigned char)date[0]))
			return -1;
		when = curl_getdate(date, NULL);
	}
	if (when == (time_t)-1)
		return -1;
	if (when <= now)
		return 0;
	if ((int64_t)when - (int64_t)now > RETRY_AFTER_CEIL)
		return RETRY_AFTER_CEIL;
	return (int64_t)when - (int64_t)now;
}

uint64_t reg_backoff_ms(int retry, int base_ms, int max_ms, uint64_t rnd)
{
	uint64_t cap, delay;

	if (base_ms <= 0 || max_ms <= 0)
		return 0;
	cap = (uint64_t)max_ms;
	delay = (uint64_t)base_ms;
	for (int i = 0; i < retry && delay < cap; i++)
		delay *= 2;
	if (delay > cap)
		delay = cap;
	/* full jitter: anywhere in [0, delay] */
	return rnd % (delay + 1);
}

uint64_t reg_rand(uint64_t *state)
{
	/* splitmix64: plenty for jitter, and needs no lock or global */
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

uint64_t reg_rand_seed(void)
{
	uint64_t seed = 0;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
	       (uint64_t)getpid();
}

void reg_sleep_ms(uint64_t ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* One number of a Content-Range; the end of it in *end. */
static int range_num(int64_t *out, const char *p, const char **end)
{
	int64_t v = 0;
	const char *s = p;

	while (isdigit((unsigned char)*p)) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
		p++;
	}
	if (p == s || p - s > 19)
		return -1;
	*out = v;
	*end = p;
	return 0;
}

int reg_content_range_parse(int64_t *start, int64_t *last, int64_t *total,
			    const char *value)
{
	const char *p = value;

	if (!p)
		return -1;
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "bytes", 5))
		return -1;
	p += 5;
	if (*p != ' ' && *p != '=')
		return -1;
	while (*p == ' ' || *p == '=')
		p++;
	if (range_num(start, p, &p) || *p++ != '-' || range_num(last, p, &p) ||
	    *p++ != '/')
		return -1;
	if (*p == '*') {
		*total = -1;
		p++;
	} else if (range_num(total, p, &p)) {
		return -1;
	}
	while (*p == ' ')
		p++;
	if (*p)
		return -1;
	if (*last < *start || (*total >= 0 && *last >= *total))
		return -1;
	return 0;
}
