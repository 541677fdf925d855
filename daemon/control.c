/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "control.h"
#include "util.h"

#define REQUEST_MAX 256
#define HOLDS_SHOWN 50

char *control_socket_path(const char *state_dir)
{
	char *p;
	return asprintf(&p, "%s/staffsyncd.sock", state_dir) < 0 ? NULL : p;
}

static int make_addr(const char *path, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa->sun_path)
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int control_listen(const char *path)
{
	struct sockaddr_un sa;
	int r = make_addr(path, &sa);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	mode_t old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0 || listen(fd, 16) < 0)
		return -errno;
	r = fd;
	fd = -1;
	return r;
}

static void serve_one(int cfd, control_handler handler, void *ud)
{
	struct timeval tv = { .tv_sec = 1 };
	char req[REQUEST_MAX];
	size_t n = 0;
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	while (n < sizeof req - 1 && !memchr(req, '\n', n)) {
		ssize_t k = read(cfd, req + n, sizeof req - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	req[n] = '\0';
	req[strcspn(req, "\r\n")] = '\0';
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	handler(ud, req, f);
	if (fclose(f) != 0)
		return;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(cfd, buf + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

void control_serve(int listen_fd, control_handler handler, void *ud)
{
	for (;;) {
		_cleanup_close_ int cfd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			return;
		/* The listening socket is non-blocking; the accepted one must not be. */
		int fl = fcntl(cfd, F_GETFL);
		if (fl >= 0)
			fcntl(cfd, F_SETFL, fl & ~O_NONBLOCK);
		serve_one(cfd, handler, ud);
	}
}

int control_call(const char *path, const char *request, FILE *out)
{
	struct sockaddr_un sa;
	int r = make_addr(path, &sa);
	if (r < 0)
		return r;
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -errno;
	if (dprintf(fd, "%s\n", request) < 0)
		return -errno;
	shutdown(fd, SHUT_WR);
	char buf[4096];
	ssize_t k;
	while ((k = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, (size_t)k, out);
	return k < 0 ? -errno : 0;
}

int control_print_holds(state *st, FILE *out)
{
	struct state_hold *v;
	size_t n, total;
	int r = state_holds_list(st, HOLDS_SHOWN, &v, &n, &total);
	if (r < 0)
		return r;
	if (total == 0)
		fputs("held persons: none\n", out);
	else
		fprintf(out, "held persons (run %ld): %zu\n", v[0].run_id, total);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %s (source %s) in %s: %s\n", strempty(v[i].person), strempty(v[i].source),
			v[i].facility ? v[i].facility : "no facility", strempty(v[i].reason));
	if (total > n)
		fprintf(out, "  ... and %zu more (staffsyncctl explain PERSON tells why)\n", total - n);
	state_holds_free(v, n);
	return 0;
}
