/* cmd_daemon.c - regvault daemon: the schedules, run in the foreground.
 *
 * A loop: run what is due (the same pass as `schedule run-due`), then sleep
 * until the next firing of any schedule, at most 60 s (so a changed clock
 * or a pass skipped because another one held the scheduler lock is caught
 * up within a minute; a wake-up that finds nothing due costs a catalog
 * open and a few indexed reads).
 *
 * Signals: the handlers only set bits in one sig_atomic_t (the one global
 * besides the program name). The loop reads them with the signals blocked
 * and sleeps in pselect(), which unblocks them atomically, so a signal is
 * never lost between the check and the sleep. While a job runs they are
 * unblocked: SIGTERM/SIGINT let the job finish, start no other, and exit
 * 0; a second one abandons the job (default action: the process dies).
 * That is safe: the job's run lock is a flock that dies with the process,
 * packs and records are written atomically, and the next backup adopts or
 * cleans what was left (README, "What a failed backup leaves"); the
 * schedule's slot stays claimed and the next pass records the job as
 * interrupted. SIGHUP ends the pass between jobs, the config is read
 * again (an invalid file is logged and the previous config kept), and the
 * pass resumes with the new schedules.
 */
#include "cli/cli.h"

#include "schedules/runner.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#define DAEMON_WAKE_MAX 60 /* seconds between checks, at most */

enum { DAEMON_STOP = 1, DAEMON_RELOAD = 2 };

static volatile sig_atomic_t daemon_signals;

static void on_signal(int sig)
{
	static const char abandon[] =
	    "regvault: second signal: abandoning the current job\n";

	if (sig == SIGHUP) {
		daemon_signals |= DAEMON_RELOAD;
		return;
	}
	if (daemon_signals & DAEMON_STOP) {
		/* async-signal-safe only: write, signal, raise */
		ssize_t w = write(STDERR_FILENO, abandon, sizeof(abandon) - 1);
		(void)w;
		signal(sig, SIG_DFL);
		raise(sig); /* delivered when this handler returns */
		return;
	}
	daemon_signals |= DAEMON_STOP;
}

static int pass_should_stop(void *arg)
{
	(void)arg;
	return daemon_signals != 0;
}

static int install_handlers(sigset_t *ours)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	struct sigaction sa;

	sigemptyset(ours);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(ours, sigs[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	/* one handler at a time: the bit updates cannot interleave */
	sa.sa_mask = *ours;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return rv_err_errno(RV_ERROR, errno,
					    "cannot install a signal handler");
	return 0;
}

static void reload(struct app *a)
{
	struct config *fresh = NULL;
	int rc = cfg_load(&fresh, a->cfg->path);

	if (rc) {
		rv_log(RV_LOG_ERROR,
		       "SIGHUP: cannot reload the config: %s; keeping the "
		       "previous one (%zu schedule(s))",
		       rv_err_msg(), a->cfg->n_schedules);
		return;
	}
	cfg_free(a->cfg);
	a->cfg = fresh;
	rv_info("SIGHUP: config '%s' reloaded: %zu schedule(s)", a->cfg->path,
		a->cfg->n_schedules);
}

/* Seconds to sleep: until the next firing, 1 to DAEMON_WAKE_MAX. */
static int next_wait(const struct config *cfg)
{
	struct sched_entry *es =
	    calloc(cfg->n_schedules ? cfg->n_schedules : 1, sizeof(*es));
	int64_t now = 0, when = 0, wait = DAEMON_WAKE_MAX;
	size_t which = 0;
	char at[32];

	if (!es || sched_now(&now))
		goto done;
	for (size_t i = 0; i < cfg->n_schedules; i++) {
		es[i].name = cfg->schedules[i].name;
		es[i].job = cfg->schedules[i].job;
		es[i].cron = cfg->schedules[i].parsed;
		es[i].timing = "";
	}
	if (sched_next_any(&when, &which, es, cfg->n_schedules, now) == 0) {
		cli_time(at, sizeof(at), when);
		rv_debug("next: schedule '%s' (%s) at %s", es[which].name,
			 es[which].job, at);
		if (when - now < wait)
			wait = when - now;
	}
	if (wait < 1)
		wait = 1;
done:
	rv_err_clear();
	free(es);
	return (int)wait;
}

int cmd_daemon(struct app *a, int argc, char **argv)
{
	sigset_t ours, orig;
	int rc, code = 0, stopped = 0;

	if (argc > 1)
		return cli_usage(cli_command("daemon"),
				 "unexpected argument '%s'", argv[1]);
	rc = app_load_config(a);
	if (!rc)
		rc = install_handlers(&ours);
	if (rc)
		return cli_fail(rc);
	sigprocmask(SIG_BLOCK, &ours, &orig);
	rv_info("daemon: %zu schedule(s) from '%s'", a->cfg->n_schedules,
		a->cfg->path);
	if (!a->cfg->n_schedules)
		rv_warn("config '%s' has no schedules: nothing will run until "
			"it has some and the daemon gets SIGHUP",
			a->cfg->path);
	for (;;) {
		struct timespec ts;
		int flags = daemon_signals;

		/* signals are blocked here: the read and the clear are ours */
		daemon_signals = flags & ~DAEMON_RELOAD;
		if (flags & DAEMON_STOP)
			break;
		if (flags & DAEMON_RELOAD)
			reload(a);
		sigprocmask(SIG_SETMASK, &orig, NULL);
		rc = 0;
		stopped = 0;
		if (a->cfg->n_schedules)
			rc = cli_schedule_pass(&code, &stopped, a->cfg, 0,
					       pass_should_stop, NULL);
		sigprocmask(SIG_BLOCK, &ours, NULL);
		if (rc == RV_LOCKED)
			rv_debug("%s", rv_err_msg());
		else if (rc)
			rv_log(RV_LOG_ERROR,
			       "scheduler: %s (retrying within "
			       "a minute)",
			       rv_err_msg());
		if (stopped || daemon_signals)
			continue;
		ts.tv_sec = next_wait(a->cfg);
		ts.tv_nsec = 0;
		/* returns early (EINTR) when a signal comes */
		pselect(0, NULL, NULL, NULL, &ts, &orig);
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	rv_info("daemon: stopping on a signal (no job is running)");
	return EXIT_OK;
}
