/* SPDX-License-Identifier: MIT */
/* staffsyncctl: the operator tool. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "config.h"
#include "control.h"
#include "domain.h"
#include "log.h"
#include "config-open.h"
#include "run.h"
#include "state.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/staffsync/staffsync.yaml"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: staffsyncctl [-c FILE] COMMAND\n\n"
		"Commands:\n"
		"  status           is the daemon up, what it does, the last and next run,\n"
		"                   held persons and runs waiting for an approval\n"
		"  history          the last runs with their counts\n"
		"  run [--full]     ask the daemon for a run now (--full: complete listings)\n"
		"  plan             what a run would do now (nothing is written)\n"
		"  explain PERSON   the person's record, each rule, the resulting memberships\n"
		"  approve RUN      let the next run apply the plan a safety gate stopped\n"
		"  retry PERSON     forget what the target refused for the person: the next\n"
		"                   run tries it again (after the conflict is fixed there)\n");
}

static void format_time(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%SZ", &tm))
		snprintf(buf, n, "-");
}

static void print_run(const struct state_run *r)
{
	char started[32];
	format_time(r->started_at, started, sizeof started);
	printf("%6ld  %-20s  %-8s  create %lu, invite %lu, resend %lu, update %lu, move %lu, "
	       "deactivate %lu, reactivate %lu, adopt %lu, hold %lu, failed %lu%s%s\n",
	       r->id, started, strempty(r->status), r->counts[SS_OP_CREATE], r->counts[SS_OP_INVITE],
	       r->counts[SS_OP_RESEND_INVITE], r->counts[SS_OP_UPDATE], r->counts[SS_OP_MOVE],
	       r->counts[SS_OP_DEACTIVATE], r->counts[SS_OP_REACTIVATE], r->counts[SS_OP_ADOPT],
	       r->counts[SS_OP_HOLD], r->failed, r->message ? "  " : "", strempty(r->message));
}

static int cmd_history(struct config *cfg, unsigned limit)
{
	_cleanup_(state_closep) state *st = NULL;
	struct state_run *runs;
	size_t n;
	int r = state_open(cfg->state_dir, true, &st);
	if (r < 0 || (r = state_runs_list(st, limit, &runs, &n)) < 0) {
		fprintf(stderr, "cannot read the state in %s: %s\n", cfg->state_dir, strerror(-r));
		return 1;
	}
	if (n == 0)
		puts("no runs yet");
	for (size_t i = 0; i < n; i++) {
		print_run(&runs[i]);
		state_run_clear(&runs[i]);
	}
	free(runs);
	return 0;
}

static int print_failed_mail(void *ud, const struct state_mail *m)
{
	bool *any = ud;
	if (!*any)
		puts("invite e-mails that failed for good (accounts.smtp.max_attempts):");
	printf("  %s e-mail to %s (%s in %s), %lu attempts: %s\n", m->kind, m->email, m->person,
	       m->facility, m->attempts, strempty(m->error));
	*any = true;
	return 0;
}

/* Runs a safety gate stopped since the last run that got through. */
static void print_gated(state *st)
{
	struct state_run *runs;
	size_t n;
	bool any = false, passed = false;
	if (state_runs_list(st, 20, &runs, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *s = strempty(runs[i].status);
		passed |= streq(s, "ok") || streq(s, "partial");
		if (!passed && streq(s, "gated")) {
			if (!any)
				puts("runs stopped by a safety gate (review: staffsyncctl plan):");
			if (state_approval_pending(st, runs[i].id) > 0)
				printf("  run %ld: %s; approved: the next run applies it if the plan is unchanged\n",
				       runs[i].id, strempty(runs[i].message));
			else
				printf("  run %ld: %s; approve with: staffsyncctl approve %ld\n", runs[i].id,
				       strempty(runs[i].message), runs[i].id);
			any = true;
		}
		state_run_clear(&runs[i]);
	}
	free(runs);
}

static int cmd_status(struct config *cfg)
{
	_cleanup_free_ char *sock = control_socket_path(cfg->state_dir);
	_cleanup_(state_closep) state *st = NULL;
	int r = sock ? control_call(sock, "status", stdout) : -ENOMEM;
	bool up = r >= 0;
	if (!up)
		printf("daemon: not running (%s: %s)\n", strempty(sock), strerror(-r));
	if ((r = state_open(cfg->state_dir, true, &st)) < 0) {
		fprintf(stderr, "cannot read the state in %s: %s\n", cfg->state_dir, strerror(-r));
		return 1;
	}
	puts("last run in the state:");
	struct state_run *runs;
	size_t n;
	if (state_runs_list(st, 1, &runs, &n) >= 0) {
		if (n == 0)
			puts("  no runs yet");
		for (size_t i = 0; i < n; i++) {
			print_run(&runs[i]);
			state_run_clear(&runs[i]);
		}
		free(runs);
	}
	/* The daemon's reply lists them already (read from the state too). */
	if (!up && (r = control_print_holds(st, stdout)) < 0)
		fprintf(stderr, "cannot read the held persons in %s: %s\n", cfg->state_dir, strerror(-r));
	print_gated(st);
	bool any_mail = false;
	state_outbox_for_each(st, "failed", print_failed_mail, &any_mail);
	return up ? 0 : 3;
}

static int cmd_run(struct config *cfg, bool full)
{
	_cleanup_free_ char *sock = control_socket_path(cfg->state_dir);
	int r = sock ? control_call(sock, full ? "run full" : "run", stdout) : -ENOMEM;
	if (r < 0) {
		fprintf(stderr, "run: cannot reach staffsyncd at %s: %s (is the service running?)\n",
			strempty(sock), strerror(-r));
		return 1;
	}
	return 0;
}

static int cmd_approve(struct config *cfg, const char *arg)
{
	_cleanup_(state_closep) state *st = NULL;
	char *end;
	long id = strtol(arg, &end, 10);
	if (*end || id <= 0) {
		fprintf(stderr, "approve: '%s' is not a run number\n", arg);
		return 2;
	}
	int r = state_open(cfg->state_dir, false, &st);
	if (r >= 0)
		r = state_approve(st, id, run_now());
	if (r == -ENOENT)
		fprintf(stderr, "approve: there is no run %ld\n", id);
	else if (r == -EINVAL)
		fprintf(stderr, "approve: run %ld was not stopped by a safety gate\n", id);
	else if (r < 0)
		fprintf(stderr, "approve: %s\n", strerror(-r));
	else
		printf("approved the plan of run %ld: the next run applies it if it is still the same plan\n", id);
	return r < 0 ? 1 : 0;
}

static int cmd_retry(struct config *cfg, const char *person)
{
	_cleanup_(state_closep) state *st = NULL;
	unsigned long n = 0;
	int r = state_open(cfg->state_dir, false, &st);
	if (r >= 0)
		r = state_refusals_forget(st, person, &n);
	if (r < 0) {
		fprintf(stderr, "retry: %s\n", strerror(-r));
		return 1;
	}
	if (n == 0) {
		printf("nothing the target refused is recorded for %s\n", person);
		return 0;
	}
	printf("forgot %lu refused operation%s of %s: the next run tries %s again\n", n, n == 1 ? "" : "s",
	       person, n == 1 ? "it" : "them");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = DEFAULT_CONFIG;
	struct config *cfg = NULL;
	int c, ret;
	log_setup();
	while ((c = getopt_long(argc, argv, "+c:h", longopts, NULL)) >= 0) {
		if (c == 'c')
			path = optarg;
		else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind];
	int nargs = argc - optind - 1;
	bool needs_plugins = streq(cmd, "plan") || streq(cmd, "explain");
	bool full = streq(cmd, "run") && nargs == 1 && streq(argv[optind + 1], "--full");
	bool one_arg = streq(cmd, "explain") || streq(cmd, "approve") || streq(cmd, "retry");
	if (one_arg ? nargs != 1 : nargs != (full ? 1 : 0)) {
		usage(stderr);
		return 2;
	}
	if (config_open(path, needs_plugins, &cfg) < 0)
		return 2;
	if (streq(cmd, "history"))
		ret = cmd_history(cfg, 20);
	else if (streq(cmd, "status"))
		ret = cmd_status(cfg);
	else if (streq(cmd, "run"))
		ret = cmd_run(cfg, full);
	else if (streq(cmd, "approve"))
		ret = cmd_approve(cfg, argv[optind + 1]);
	else if (streq(cmd, "retry"))
		ret = cmd_retry(cfg, argv[optind + 1]);
	else if (streq(cmd, "plan"))
		ret = run_once(cfg, &(struct run_options){ .dry_run = true, .out = stdout });
	else if (streq(cmd, "explain"))
		ret = run_explain(cfg, argv[optind + 1], stdout) < 0 ? 1 : 0;
	else {
		fprintf(stderr, "unknown command '%s'\n", cmd);
		usage(stderr);
		ret = 2;
	}
	config_close(cfg);
	return ret;
}
