/* glob.h - repository name patterns. */

/*
 * A single star matches any run of characters except '/', a double star
 * matches any run including '/', '?' one character except '/'. So
 * "team-a/" followed by a double star matches every repository below
 * team-a, and a lone double star matches everything.
 */
#ifndef RV_GLOB_H
#define RV_GLOB_H

/* 1 if name matches pattern, else 0. */
int rv_glob_match(const char *pattern, const char *name);

#endif
