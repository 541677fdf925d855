/* SPDX-License-Identifier: MIT */
/* The daemon's control socket, state_dir/staffsyncd.sock (mode 0600, so
 * only the service user and root reach it): a client writes one request
 * line ("status", "run", "run full"), the daemon writes its reply and closes. */
#pragma once

#include <stdio.h>
#include "state.h"

char *control_socket_path(const char *state_dir);

/* A listening socket (non-blocking, close-on-exec) at path; a stale socket
 * file is replaced. Returns the fd or a negative errno. */
int control_listen(const char *path);

/* Serve every connection waiting on the listening fd; never blocks on the
 * accept, waits at most a second for a client's request line. */
typedef void (*control_handler)(void *ud, const char *request, FILE *reply);
void control_serve(int listen_fd, control_handler handler, void *ud);

/* Client: send request, copy the reply to out. */
int control_call(const char *path, const char *request, FILE *out);

/* The held persons the last applied run recorded in the state (the holds
 * table), as staffsyncctl status shows them whether the daemon runs or not. */
int control_print_holds(state *st, FILE *out);
