#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../core/util.h"
#include "listen.h"

/*
 * A socket file that exists is either live (someone accepts: refuse to
 * start, never steal it) or stale (ECONNREFUSED: left by a crash, remove).
 */
static int
unix_prepare(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : (snprintf(err, errlen,
		    "unix:%s: %s", path, strerror(errno)), -1);
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "unix:%s: exists and is not a socket", path);
		return -1;
	}
	if ((fd = unix_connect(path)) >= 0) {
		close(fd);
		snprintf(err, errlen, "unix:%s: another server is listening on it",
		    path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "unix:%s: cannot probe: %s", path,
		    strerror(errno));
		return -1;
	}
	if (unlink(path) == -1) {
		snprintf(err, errlen, "unix:%s: cannot remove stale socket: %s",
		    path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
unix_perms(const struct conf_listen *l, char *err, size_t errlen)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	struct passwd *pw;
	struct group *gr;

	if (l->mode != -1 && chmod(l->path, (mode_t)l->mode) == -1) {
		snprintf(err, errlen, "unix:%s: chmod: %s", l->path, strerror(errno));
		return -1;
	}
	if (l->owner && (pw = getpwnam(l->owner)) != NULL)
		uid = pw->pw_uid;
	if (l->group && (gr = getgrnam(l->group)) != NULL)
		gid = gr->gr_gid;
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(l->path, uid, gid) == -1) {
		snprintf(err, errlen, "unix:%s: chown: %s", l->path, strerror(errno));
		return -1;
	}
	return 0;
}

int
listen_open(const struct conf_listen *l, ino_t *ino, char *err, size_t errlen)
{
	struct stat st;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, on = 1;

	memset(&ss, 0, sizeof(ss));
	if (l->family == AF_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		(void)ensure_parent_dir(l->path, 0755);
		if (unix_prepare(l->path, err, errlen) == -1)
			return -1;
		sun->sun_family = AF_UNIX;
		strlcpy_(sun->sun_path, l->path, sizeof(sun->sun_path));
		sl = sizeof(*sun);
	} else if (l->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)l->port);
		inet_pton(AF_INET6, l->host, &s6->sin6_addr);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)l->port);
		inet_pton(AF_INET, l->host, &s4->sin_addr);
		sl = sizeof(*s4);
	}
	fd = socket(l->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "%s: socket: %s", l->address, strerror(errno));
		return -1;
	}
	if (l->family != AF_UNIX)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (l->family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
		snprintf(err, errlen, "%s: bind: %s", l->address, strerror(errno));
		close(fd);
		return -1;
	}
	if (l->family == AF_UNIX && unix_perms(l, err, errlen) == -1) {
		unlink(l->path);
		close(fd);
		return -1;
	}
	if (listen(fd, (int)l->backlog) == -1) {
		snprintf(err, errlen, "%s: listen: %s", l->address, strerror(errno));
		if (l->family == AF_UNIX)
			unlink(l->path);
		close(fd);
		return -1;
	}
	*ino = 0;
	if (l->family == AF_UNIX && stat(l->path, &st) == 0)
		*ino = st.st_ino;
	return fd;
}

int
listen_set_backlog(int fd, const struct conf_listen *l)
{
	return listen(fd, (int)l->backlog);
}

void
listen_unlink(const struct conf_listen *l, ino_t ino)
{
	struct stat st;

	if (l->family != AF_UNIX)
		return;
	/* Only if the path still names our socket, not a successor's. */
	if (stat(l->path, &st) == 0 && st.st_ino == ino)
		unlink(l->path);
}
