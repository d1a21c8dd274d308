/* err.h - error codes and the per-thread error message.
 *
 * Every fallible function returns 0 on success or a negative enum rv_code.
 * The human message is set once, where the error is detected, with
 * rv_err_set(), and read once at the edge (the CLI) with rv_err_msg().
 * The slot is thread-local so that worker threads keep their own.
 */
#ifndef RV_ERR_H
#define RV_ERR_H

enum rv_code {
	RV_OK = 0,
	RV_ERROR = -1,	   /* anything not listed below */
	RV_NOTFOUND = -2,  /* the object does not exist */
	RV_CORRUPT = -3,   /* bytes do not match their digest, tag or format */
	RV_AUTH = -4,	   /* a server refused our credentials */
	RV_IO = -5,	   /* a local read/write/fsync failed */
	RV_NET = -6,	   /* connection, DNS, TLS or protocol failure */
	RV_NOSPC = -7,	   /* a target is full */
	RV_LOCKED = -8,	   /* another run holds the lock */
	RV_CANCELLED = -9, /* interrupted by a signal */
	RV_INVALID = -10,  /* bad input, argument or configuration */
	RV_NOMEM = -11,	   /* allocation failed */
	RV_KEY = -12,	   /* wrong passphrase or key */
	RV_UNSUPPORTED =
	    -13,	  /* a feature the other side or this version lacks */
	RV_TOOBIG = -14,  /* input larger than its cap */
	RV_REFUSED = -15, /* a format refused by design (Docker schema 1) */
};

/* Set the thread's error message; returns code so callers can write
 * `return rv_err_set(RV_IO, "...")`. The arguments may include
 * rv_err_msg() to wrap the previous message with context. The message is
 * one line: control characters (from quoted outside input) become '?'. */
int rv_err_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Same as rv_err_set() with strerror(errnum) appended after ": ". */
int rv_err_errno(int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Map an errno value to the code a caller must act on (ENOSPC -> RV_NOSPC,
 * ENOMEM -> RV_NOMEM, ENOENT -> RV_NOTFOUND, else RV_IO). */
int rv_err_from_errno(int errnum);

/* The last message set on this thread ("" if none). */
const char *rv_err_msg(void);
/* The code given with the last message (RV_OK if none). */
int rv_err_code(void);
void rv_err_clear(void);

/* Short lowercase name of a code: "corrupt", "not found", ... */
const char *rv_code_name(int code);

#endif
