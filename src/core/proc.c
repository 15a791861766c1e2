#include "config.h"

#include <sys/mman.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

extern char **environ;

int
proc_open_self(void)
{
	return open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
}

int
proc_memfd_of(const char *name, const char *buf, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd == -1)
		return -1;
	if (write_all(fd, buf, len) == -1 || lseek(fd, 0, SEEK_SET) == -1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* In the child: move every fd out of the way, then into place. */
static int
place_fds(int exe_fd, const int *fds, int nfds)
{
	int exe;
	int tmp[64], i, top = 3 + nfds;

	if (nfds > (int)nitems(tmp))
		_exit(127);
	if ((exe = fcntl(exe_fd, F_DUPFD_CLOEXEC, top + 64)) == -1)
		_exit(127);
	for (i = 0; i < nfds; i++) {
		tmp[i] = -1;
		if (fds[i] >= 0 &&
		    (tmp[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, top + 64)) == -1)
			_exit(127);
	}
	for (i = 0; i < nfds; i++) {
		if (tmp[i] < 0)
			continue;
		/* dup2 clears FD_CLOEXEC on the target: it survives exec. */
		if (dup2(tmp[i], 3 + i) == -1)
			_exit(127);
	}
	for (i = 0; i < nfds; i++)
		if (fds[i] < 0)
			close(3 + i);
	if (dup3(exe, top, O_CLOEXEC) == -1)
		_exit(127);
	close_range((unsigned)top + 1, ~0U, 0);
	return top;
}

void
proc_describe_exit(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with code %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "ended with status 0x%x", status);
}

void
proc_reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

pid_t
proc_spawn(int exe_fd, char *const argv[], const int *fds, int nfds)
{
	pid_t pid;

	pid = fork();
	if (pid != 0)
		return pid;
	proc_reset_signals();
	exe_fd = place_fds(exe_fd, fds, nfds);
	fexecve(exe_fd, argv, environ);
	_exit(127);
}
