#include "glob.h"

int rv_glob_match(const char *p, const char *s)
{
	for (;;) {
		if (*p == '\0')
			return *s == '\0';
		if (p[0] == '*' && p[1] == '*') {
			p += 2;
			/* "**" followed by '/' may also match zero folders */
			if (*p == '/' && rv_glob_match(p + 1, s))
				return 1;
			for (const char *t = s;; t++) {
				if (rv_glob_match(p, t))
					return 1;
				if (*t == '\0')
					return 0;
			}
		}
		if (*p == '*') {
			p++;
			for (const char *t = s;; t++) {
				if (rv_glob_match(p, t))
					return 1;
				if (*t == '\0' || *t == '/')
					return 0;
			}
		}
		if (*s == '\0')
			return 0;
		if (*p == '?' ? *s == '/' : *p != *s)
			return 0;
		p++;
		s++;
	}
}
