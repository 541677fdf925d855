/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sys/stat.h>
#include "domain.h"
#include "metrics.h"
#include "util.h"

static const char *const status_names[] = { "ok", "partial", "failed", "gated", "stopped" };

void metrics_clear(struct metrics *m)
{
	free(m->facilities);
	*m = (struct metrics){0};
}

static void print_ops(FILE *f, const char *facility, const unsigned long *n)
{
	for (int k = 0; k < _SS_OP_MAX; k++)
		fprintf(f, "staffsync_last_run_operations{facility=\"%s\",op=\"%s\"} %lu\n",
			facility, ss_op_kind_name(k), n[k]);
}

int metrics_plan(struct metrics *m, const struct plan *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0, end; i < p->n_ops; i = end) {
		unsigned long n[_SS_OP_MAX] = {0};
		const char *fac = p->ops[i].op.facility;
		for (end = i; end < p->n_ops && streq_ptr(p->ops[end].op.facility, fac); end++)
			n[p->ops[end].op.kind]++;
		print_ops(f, strempty(fac), n);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	free(m->facilities);
	m->facilities = buf;
	memcpy(m->ops, p->counts, sizeof m->ops);
	return 0;
}

void metrics_run(struct metrics *m, long run_id, const char *status, double seconds, int64_t now)
{
	for (size_t i = 0; i < ELEMENTSOF(status_names); i++)
		if (streq(status, status_names[i]))
			m->runs[i]++;
	m->gate_trips += streq(status, "gated");
	m->last_duration = seconds;
	m->last_run_at = now;
	m->last_run_id = run_id;
	if (streq(status, "ok") || streq(status, "partial"))
		m->last_success_at = now;
}

static void render(FILE *f, const struct metrics *m)
{
	fputs("# HELP staffsync_runs_total Sync runs since the daemon started, by outcome.\n"
	      "# TYPE staffsync_runs_total counter\n", f);
	for (size_t i = 0; i < ELEMENTSOF(status_names); i++)
		fprintf(f, "staffsync_runs_total{status=\"%s\"} %lu\n", status_names[i], m->runs[i]);
	fprintf(f, "# HELP staffsync_gate_trips_total Runs a safety gate stopped.\n"
		"# TYPE staffsync_gate_trips_total counter\n"
		"staffsync_gate_trips_total %lu\n"
		"# HELP staffsync_last_run_duration_seconds How long the last run took.\n"
		"# TYPE staffsync_last_run_duration_seconds gauge\n"
		"staffsync_last_run_duration_seconds %.3f\n"
		"# HELP staffsync_last_run_timestamp_seconds When the last run ended.\n"
		"# TYPE staffsync_last_run_timestamp_seconds gauge\n"
		"staffsync_last_run_timestamp_seconds %lld\n"
		"# HELP staffsync_last_success_timestamp_seconds When the last successful run ended.\n"
		"# TYPE staffsync_last_success_timestamp_seconds gauge\n"
		"staffsync_last_success_timestamp_seconds %lld\n"
		"# HELP staffsync_last_run_id The number of the last run.\n"
		"# TYPE staffsync_last_run_id gauge\n"
		"staffsync_last_run_id %ld\n"
		"# HELP staffsync_last_run_operations Operations of the last run's plan, by facility and kind.\n"
		"# TYPE staffsync_last_run_operations gauge\n",
		m->gate_trips, m->last_duration, (long long)m->last_run_at,
		(long long)m->last_success_at, m->last_run_id);
	print_ops(f, "", m->ops);
	fputs(strempty(m->facilities), f);
}

int metrics_write(const struct metrics *m, const char *path)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	render(f, m);
	if (fclose(f) != 0)
		return -ENOMEM;
	int r = write_file_atomic(path, buf, len);
	/* node_exporter runs as another user. */
	if (r >= 0 && chmod(path, 0644) < 0)
		r = -errno;
	return r;
}
