#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_msg[2048];
static _Thread_local int err_code;

static int err_vset(int code, int errnum, const char *fmt, va_list ap)
{
	/* format into a copy first: the arguments may include rv_err_msg()
	 * itself, to wrap the previous message with more context */
	char msg[sizeof(err_msg)];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		msg[0] = '\0';
	if (errnum) {
		size_t len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s",
			 strerror(errnum));
	}
	/* one line of text, whatever the arguments quoted (a target's file,
	 * a registry's answer): a control character could forge a log line
	 * or drive the terminal */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	memcpy(err_msg, msg, sizeof(err_msg));
	err_code = code;
	return code;
}

int rv_err_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(code, 0, fmt, ap);
	va_end(ap);
	return code;
}

int rv_err_errno(int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(code, errnum, fmt, ap);
	va_end(ap);
	return code;
}

int rv_err_from_errno(int errnum)
{
	switch (errnum) {
	case ENOSPC:
	case EDQUOT:
		return RV_NOSPC;
	case ENOMEM:
		return RV_NOMEM;
	case ENOENT:
		return RV_NOTFOUND;
	default:
		return RV_IO;
	}
}

const char *rv_err_msg(void)
{
	return err_msg;
}
int rv_err_code(void)
{
	return err_code;
}

void rv_err_clear(void)
{
	err_msg[0] = '\0';
	err_code = RV_OK;
}

const char *rv_code_name(int code)
{
	switch (code) {
	case RV_OK:
		return "ok";
	case RV_NOTFOUND:
		return "not found";
	case RV_CORRUPT:
		return "corrupt";
	case RV_AUTH:
		return "authentication failed";
	case RV_IO:
		return "i/o error";
	case RV_NET:
		return "network error";
	case RV_NOSPC:
		return "no space left";
	case RV_LOCKED:
		return "locked";
	case RV_CANCELLED:
		return "cancelled";
	case RV_INVALID:
		return "invalid";
	case RV_NOMEM:
		return "out of memory";
	case RV_KEY:
		return "wrong key";
	case RV_UNSUPPORTED:
		return "unsupported";
	case RV_TOOBIG:
		return "too large";
	case RV_REFUSED:
		return "refused format";
	default:
		return "error";
	}
}
