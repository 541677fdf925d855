/* SPDX-License-Identifier: MIT */
/* The service loop. Runs are synchronous inside the loop (never two at
 * once); during a run the progress hook keeps the watchdog fed, keeps
 * STATUS= current, answers the control socket and notices a pending
 * SIGTERM/SIGINT, which stops the run before it writes anything. SIGHUP
 * stays pending during a run: a reload never cuts a run in half. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include "config-open.h"
#include "control.h"
#include "log.h"
#include "metrics.h"
#include "plan.h"
#include "run.h"
#include "run-log.h"
#include "service.h"
#include "state.h"
#include "util.h"

#ifndef USEC_PER_SEC
#define USEC_PER_SEC 1000000ULL
#endif
#define RETRY_BASE (30 * USEC_PER_SEC)     /* the first retry after a failure */
#define RETRY_CAP (3600 * USEC_PER_SEC)    /* retries never wait longer (unless the interval does) */
#define STATUS_EVERY (1 * USEC_PER_SEC)
#define PROGRESS_LOG_EVERY (30 * USEC_PER_SEC)

struct service {
	const struct service_options *o;
	sd_event *ev;
	struct config *cfg;
	sd_event_source *timer;
	int control_fd;
	sd_event_source *control;
	uint64_t watchdog_usec, last_ping, last_status, last_progress_log;
	uint64_t last_full, next_mono;
	int64_t next_wall;
	unsigned failures;
	bool full_requested, run_requested, running, stopping;
	long run_id;
	uint64_t run_started;
	char doing[160];
	char last[200];
	struct metrics metrics;
};

static uint64_t mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static void format_wall(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%SZ", &tm))
		snprintf(buf, n, "-");
}

/* STATUS= always says what the daemon does, the last outcome, the next run. */
static void notify_status(struct service *S, const char *extra)
{
	char next[32] = "-";
	if (!S->running && !S->stopping)
		format_wall(S->next_wall, next, sizeof next);
	sd_notifyf(false, "%s%sSTATUS=%s; last run: %s; next run: %s", strempty(extra),
		   extra ? "\n" : "", S->doing, S->last[0] ? S->last : "none yet", next);
	S->last_status = mono_now();
}

static void watchdog_ping(struct service *S, uint64_t now)
{
	if (S->watchdog_usec && now - S->last_ping >= S->watchdog_usec / 4) {
		sd_notify(false, "WATCHDOG=1");
		S->last_ping = now;
	}
}

static uint64_t random_below(uint64_t n)
{
	uint64_t v = 0;
	if (n == 0 || getrandom(&v, sizeof v, 0) != sizeof v)
		return 0;
	return v % (n + 1);
}

static void schedule(struct service *S, uint64_t delay)
{
	S->next_mono = mono_now() + delay;
	S->next_wall = (int64_t)time(NULL) + (int64_t)(delay / USEC_PER_SEC);
	sd_event_source_set_time(S->timer, S->next_mono);
	sd_event_source_set_enabled(S->timer, SD_EVENT_ONESHOT);
}

/* After a failure: RETRY_BASE doubled per failure in a row, up to the cap. */
static uint64_t next_delay(const struct service *S)
{
	const struct cfg_schedule *s = &S->cfg->schedule;
	if (S->failures == 0)
		return s->interval + (s->jitter == DURATION_NEVER ? 0 : random_below(s->jitter));
	uint64_t cap = s->interval > RETRY_CAP ? s->interval : RETRY_CAP;
	unsigned shift = S->failures - 1 < 20 ? S->failures - 1 : 20;
	uint64_t d = RETRY_BASE << shift;
	return d < cap ? d : cap;
}

/* Why the next run lists its sources completely, or NULL: incremental.
 * Only complete listings may deactivate leavers, so the journal says which
 * kind each run is and why. */
static const char *full_reason(const struct service *S)
{
	uint64_t every = S->cfg->schedule.full_every;
	if (S->full_requested)
		return "asked for with staffsyncctl run --full";
	if (every == DURATION_NEVER)
		return NULL;
	if (every == 0)
		return "schedule.full_every is 0: every run is complete";
	if (S->last_full == 0)
		return "no complete listing since the daemon started";
	if (mono_now() - S->last_full >= every)
		return "schedule.full_every has passed since the last complete listing";
	return NULL;
}

static void log_run_start(const struct service *S, const char *why)
{
	uint64_t every = S->cfg->schedule.full_every, since = mono_now() - S->last_full;
	uint64_t due = since < every ? every - since : 0;   /* the clock moved on since full_reason() */
	if (why) {
		log_fields(LOG_INFO, (const char *const[]){ "STAFFSYNC_LISTINGS=complete", NULL },
			   "starting a run with complete listings: %s", why);
	} else if (every == DURATION_NEVER) {
		log_fields(LOG_INFO, (const char *const[]){ "STAFFSYNC_LISTINGS=incremental", NULL },
			   "starting an incremental run (schedule.full_every: never)");
	} else {
		log_fields(LOG_INFO, (const char *const[]){ "STAFFSYNC_LISTINGS=incremental", NULL },
			   "starting an incremental run: complete listings are due in %llu s (schedule.full_every)",
			   (unsigned long long)(due / USEC_PER_SEC));
	}
}

/* ------------------------------------------------------------ control */

/* Held persons from the state, not from this process's memory: they stay
 * true across restarts and --once runs, and staffsyncctl shows the same
 * list when the daemon is down. A read-only connection: during a run it
 * sees the last committed state. */
static void status_holds(const struct service *S, FILE *reply)
{
	_cleanup_(state_closep) state *st = NULL;
	int r = state_open(S->cfg->state_dir, true, &st);
	if (r >= 0)
		r = control_print_holds(st, reply);
	if (r < 0)
		fprintf(reply, "held persons: cannot read the state: %s\n", strerror(-r));
}

static void control_request(void *ud, const char *req, FILE *reply)
{
	struct service *S = ud;
	char next[32] = "-";
	if (streq(req, "run") || streq(req, "run full")) {
		S->full_requested |= streq(req, "run full");
		if (S->running) {
			fputs("a run is in progress: the requested run starts after it\n", reply);
			S->run_requested = true;
		} else {
			fputs("run started\n", reply);
			if (!S->stopping)
				schedule(S, 0);
		}
		return;
	}
	if (!streq(req, "status")) {
		fprintf(reply, "error: unknown request '%s'\n", req);
		return;
	}
	format_wall(S->next_wall, next, sizeof next);
	fprintf(reply, "pid: %ld\nconfig: %s\nstate: %s\nactivity: %s\nlast run: %s\n"
		"next run: %s\nfailures in a row: %u\n",
		(long)getpid(), S->cfg->file, S->cfg->state_dir, S->doing,
		S->last[0] ? S->last : "none yet", S->running ? "after this one" : next, S->failures);
	status_holds(S, reply);
}

static int on_control(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
	(void)s; (void)revents;
	control_serve(fd, control_request, ud);
	return 0;
}

/* ------------------------------------------------------------ run hooks */

static bool stop_pending(void)
{
	sigset_t set;
	return sigpending(&set) == 0 && (sigismember(&set, SIGTERM) == 1 || sigismember(&set, SIGINT) == 1);
}

static int on_progress(void *ud, const char *phase, unsigned long done)
{
	struct service *S = ud;
	uint64_t now = mono_now();
	watchdog_ping(S, now);
	if (now - S->last_status >= STATUS_EVERY) {
		if (streq(phase, "applying"))
			snprintf(S->doing, sizeof S->doing, "run %ld: applying, %lu operations done", S->run_id, done);
		else
			snprintf(S->doing, sizeof S->doing, "run %ld: source %s, %lu records read",
				 S->run_id, phase, done);
		notify_status(S, NULL);
	}
	if (now - S->last_progress_log >= PROGRESS_LOG_EVERY) {
		char f_run[40];
		snprintf(f_run, sizeof f_run, "STAFFSYNC_RUN=%ld", S->run_id);
		log_fields(LOG_INFO, (const char *const[]){ SS_MID_RUN_PROGRESS, f_run, NULL },
			   "%s (running for %llu s)", S->doing,
			   (unsigned long long)((now - S->run_started) / USEC_PER_SEC));
		S->last_progress_log = now;
	}
	if (S->control_fd >= 0)
		control_serve(S->control_fd, control_request, S);
	if (stop_pending()) {
		S->stopping = true;
		return -ECANCELED;
	}
	return 0;
}

static void on_planned(void *ud, long run_id, const struct plan *p)
{
	struct service *S = ud;
	S->run_id = run_id;
	metrics_plan(&S->metrics, p);
}

static void on_finished(void *ud, long run_id, const char *status)
{
	struct service *S = ud;
	S->run_id = run_id;
	snprintf(S->last, sizeof S->last, "%s", status);
}

/* ------------------------------------------------------------ runs */

static void report_overrun(struct service *S, uint64_t took)
{
	char f_run[40];
	if (took <= S->cfg->schedule.interval)
		return;
	snprintf(f_run, sizeof f_run, "STAFFSYNC_RUN=%ld", S->run_id);
	/* Tenths of seconds: an interval of a few seconds (tests, tight
	 * schedules) must not read as "took 1 s, longer than 1 s". */
	log_fields(LOG_WARNING, (const char *const[]){ SS_MID_RUN_OVERRAN, f_run, NULL },
		   "run %ld took %.1f s, longer than schedule.interval (%.1f s): the next run starts late",
		   S->run_id, (double)took / USEC_PER_SEC,
		   (double)S->cfg->schedule.interval / USEC_PER_SEC);
}

static void do_run(struct service *S)
{
	const char *why_full = full_reason(S);
	bool full = why_full != NULL;
	_cleanup_fclose_ FILE *out = fopen("/dev/null", "we");
	struct run_hooks hooks = { on_progress, on_planned, on_finished, S };
	char when[32];
	if (stop_pending())
		return;   /* the signal is dispatched next: stop rather than start */
	S->full_requested = false;
	S->run_requested = false;
	S->running = true;
	S->run_id = 0;
	S->run_started = S->last_progress_log = mono_now();
	log_run_start(S, why_full);
	snprintf(S->doing, sizeof S->doing, "running a sync%s", full ? " (complete listings)" : "");
	notify_status(S, NULL);
	int ret = run_once(S->cfg, &(struct run_options){ .full = full, .out = out ? out : stderr,
							  .hooks = &hooks });
	uint64_t took = mono_now() - S->run_started;
	S->running = false;
	const char *status = run_status_word(ret);
	if (full && (ret == RUN_EXIT_OK || ret == RUN_EXIT_INCOMPLETE))
		S->last_full = S->run_started;
	S->failures = ret == RUN_EXIT_FAILED ? S->failures + 1 : 0;
	format_wall((int64_t)time(NULL), when, sizeof when);
	snprintf(S->last, sizeof S->last, "run %ld %s at %s after %.1f s", S->run_id, status, when,
		 (double)took / USEC_PER_SEC);
	report_overrun(S, took);
	metrics_run(&S->metrics, S->run_id, status, (double)took / USEC_PER_SEC, (int64_t)time(NULL));
	if (S->o->metrics_path) {
		int r = metrics_write(&S->metrics, S->o->metrics_path);
		if (r < 0)
			log_warning("cannot write the metrics to %s: %s", S->o->metrics_path, strerror(-r));
	}
	if (S->stopping)
		return;
	uint64_t delay = next_delay(S);
	schedule(S, S->run_requested ? 0 : delay);
	if (S->failures)
		log_warning("run %ld failed (%u in a row): retrying in %llu s", S->run_id, S->failures,
			    (unsigned long long)(delay / USEC_PER_SEC));
	snprintf(S->doing, sizeof S->doing, "idle");
	notify_status(S, NULL);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *ud)
{
	(void)s; (void)usec;
	do_run(ud);
	return 0;
}

/* ------------------------------------------------------------ signals */

static int on_stop(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	struct service *S = ud;
	(void)s;
	log_info("received %s: stopping", si->ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
	S->stopping = true;
	snprintf(S->doing, sizeof S->doing, "stopping");
	notify_status(S, "STOPPING=1");
	return sd_event_exit(S->ev, 0);
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
	struct service *S = ud;
	struct config *fresh = NULL;
	char extra[64];
	(void)s; (void)si;
	snprintf(extra, sizeof extra, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)mono_now());
	snprintf(S->doing, sizeof S->doing, "reloading %s", S->o->config_path);
	notify_status(S, extra);
	/* config_open checks everything (core and plugins) and prints each
	 * problem as FILE:LINE:COLUMN: message. */
	if (config_open(S->o->config_path, true, &fresh) < 0) {
		log_fields(LOG_ERR, (const char *const[]){ SS_MID_RELOAD_FAILED, NULL },
			   "reload: %s has errors (each listed above): still running on the configuration loaded before",
			   S->o->config_path);
	} else {
		config_close(S->cfg);
		S->cfg = fresh;
		log_notice("reloaded %s: %zu sources, %zu facilities", S->o->config_path,
			   S->cfg->n_sources, S->cfg->n_facilities);
	}
	snprintf(S->doing, sizeof S->doing, "idle");
	notify_status(S, "READY=1");
	return 0;
}

/* ------------------------------------------------------------ setup */

static int setup(struct service *S)
{
	sigset_t mask;
	int r;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -errno;
	if ((r = sd_event_default(&S->ev)) < 0 ||
	    (r = sd_event_add_signal(S->ev, NULL, SIGTERM, on_stop, S)) < 0 ||
	    (r = sd_event_add_signal(S->ev, NULL, SIGINT, on_stop, S)) < 0 ||
	    (r = sd_event_add_signal(S->ev, NULL, SIGHUP, on_reload, S)) < 0 ||
	    (r = sd_event_add_time(S->ev, &S->timer, CLOCK_MONOTONIC, 0, 0, on_timer, S)) < 0)
		return r;
	if (sd_watchdog_enabled(false, &S->watchdog_usec) > 0 &&
	    (r = sd_event_set_watchdog(S->ev, true)) < 0)
		return r;
	_cleanup_free_ char *path = control_socket_path(S->cfg->state_dir);
	if (!path)
		return -ENOMEM;
	S->control_fd = control_listen(path);
	if (S->control_fd < 0)
		log_warning("no control socket at %s (%s): staffsyncctl status/run cannot reach the daemon",
			    path, strerror(-S->control_fd));
	else if ((r = sd_event_add_io(S->ev, &S->control, S->control_fd, EPOLLIN, on_control, S)) < 0)
		return r;
	return 0;
}

int service_main(const struct service_options *o)
{
	struct service S = { .o = o, .control_fd = -1 };
	int r;
	if (config_open(o->config_path, true, &S.cfg) < 0)
		return RUN_EXIT_USAGE;
	/* The state must open before READY=1: a broken state dir fails the start. */
	state *st = NULL;
	if ((r = state_open(S.cfg->state_dir, false, &st)) < 0) {
		log_error("cannot open the state in %s: %s", S.cfg->state_dir, strerror(-r));
		r = RUN_EXIT_FAILED;
		goto out;
	}
	state_close(st);
	if ((r = setup(&S)) < 0) {
		log_error("cannot set up the service loop: %s", strerror(-r));
		r = RUN_EXIT_FAILED;
		goto out;
	}
	snprintf(S.doing, sizeof S.doing, "starting the first run");
	S.next_wall = (int64_t)time(NULL);
	notify_status(&S, "READY=1");
	log_info("staffsyncd started: %s, %zu sources, %zu facilities", o->config_path,
		 S.cfg->n_sources, S.cfg->n_facilities);
	r = sd_event_loop(S.ev) < 0 ? RUN_EXIT_FAILED : RUN_EXIT_OK;
out:
	sd_event_source_unref(S.timer);
	sd_event_source_unref(S.control);
	if (S.control_fd >= 0) {
		_cleanup_free_ char *path = control_socket_path(S.cfg->state_dir);
		if (path)
			unlink(path);
		close(S.control_fd);
	}
	sd_event_unref(S.ev);
	config_close(S.cfg);
	metrics_clear(&S.metrics);
	return r;
}
