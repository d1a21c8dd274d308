#include "httphdr.h"

#include <string.h>
#include <strings.h>

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int rv_hdr_parse(struct rv_hdr *h, const char *p, size_t len)
{
	const char *end = p + len, *colon, *v;

	memset(h, 0, sizeof(*h));
	while (end > p && (end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (end - p >= 5 && !strncmp(p, "HTTP/", 5)) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		h->is_status = 1;
		if (sp && end - sp >= 4 && is_digit(sp[1]) && is_digit(sp[2]) &&
		    is_digit(sp[3]))
			h->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 +
				    (sp[3] - '0');
		return 0;
	}
	colon = memchr(p, ':', (size_t)(end - p));
	if (!colon)
		return -1;
	h->name = p;
	h->name_len = (size_t)(colon - p);
	v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	h->value = v;
	h->value_len = (size_t)(end - v);
	return 0;
}

int rv_hdr_is(const struct rv_hdr *h, const char *name)
{
	size_t n = strlen(name);
	return !h->is_status && h->name_len == n &&
	       !strncasecmp(h->name, name, n);
}
