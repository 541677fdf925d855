/* SPDX-License-Identifier: MIT */
/* staffsyncd as a systemd service: the sd-event loop that runs syncs on the
 * configured schedule, talks sd_notify (READY, STATUS, WATCHDOG, RELOADING,
 * STOPPING), reloads on SIGHUP and stops cleanly on SIGTERM/SIGINT. */
#pragma once

struct service_options {
	const char *config_path;
	const char *metrics_path;    /* Prometheus textfile, NULL: none */
};

/* Returns the process exit code. */
int service_main(const struct service_options *o);
