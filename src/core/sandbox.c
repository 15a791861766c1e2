#include "config.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "chan.h"
#include "log.h"
#include "sandbox.h"
#include "util.h"

int
sandbox_drop_privileges(const struct conf *c, char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;
	gid_t gid;

	if (geteuid() != 0)
		return 0;	/* not root: nothing to drop */
	if ((pw = getpwnam(*c->user ? c->user : "nobody")) == NULL) {
		snprintf(err, errlen, "no such user \"%s\"", c->user);
		return -1;
	}
	gid = pw->pw_gid;
	if (*c->group) {
		if ((gr = getgrnam(c->group)) == NULL) {
			snprintf(err, errlen, "no such group \"%s\"", c->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "server.user must not be root");
		return -1;
	}
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		snprintf(err, errlen, "cannot switch to user %s: %s", pw->pw_name,
		    strerror(errno));
		return -1;
	}
	if (setresuid(0, 0, 0) != -1) {
		snprintf(err, errlen, "could regain root after dropping it");
		return -1;
	}
#ifdef PCM_SANITIZERS
	/* LeakSanitizer reads /proc/self, which a uid change made private. */
	(void)prctl(PR_SET_DUMPABLE, 1);
#endif
	return 0;
}

int
sandbox_rlimits(const struct conf *c, int worker)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)c->max_connections + 64;

	rl.rlim_cur = rl.rlim_max = 0;
	(void)setrlimit(RLIMIT_CORE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && want < rl.rlim_max) {
		rl.rlim_cur = want;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	} else if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
#ifndef PCM_SANITIZERS
	/* LeakSanitizer stops the world with a helper thread; elsewhere: */
	if (worker) {
		/* Workers never create processes. */
		rl.rlim_cur = rl.rlim_max = 0;
		(void)setrlimit(RLIMIT_NPROC, &rl);
	}
#else
	(void)worker;
#endif
	return 0;
}

/* --- the SIGSYS handler: async-signal-safe only --------------------------- */

static int	 sys_report_fd = -1;
static int	 sys_mode;

static size_t
fmt_uint(char *p, unsigned long v)
{
	char tmp[24];
	size_t n = 0, i;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static void
on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[96];
	size_t n = 0;
	int nr = si->si_syscall;

	(void)sig;
	(void)uc;
	memcpy(line, "blocked syscall ", 16);
	n = 16;
	n += fmt_uint(line + n, (unsigned long)nr);
	memcpy(line + n, " (arch 0x", 9);
	n += 9;
	{
		static const char hex[] = "0123456789abcdef";
		unsigned a = si->si_arch;
		int s;

		for (s = 28; s >= 0; s -= 4)
			line[n++] = hex[(a >> s) & 0xf];
	}
	line[n++] = ')';
	line[n++] = '\n';
	(void)!write(2, line, n);
	if (sys_report_fd >= 0)
		(void)chan_send(sys_report_fd, MSG_VIOLATION, 0, -1, &nr,
		    sizeof(nr), -1);
	if (sys_mode == SANDBOX_TRAP)
		_exit(EXIT_SANDBOX_TRAP);
	/*
	 * enforce: the handler was installed with SA_RESETHAND|SA_NODEFER,
	 * so SIGSYS is back to its default action.  Issuing the blocked
	 * call again makes the kernel kill us with SIGSYS, as a plain
	 * kill filter would, now that the master knows which call it was.
	 */
	syscall(nr, 0, 0, 0, 0, 0, 0);
	_exit(EXIT_SANDBOX_TRAP);
}

/* --- the filter ----------------------------------------------------------- */

/* Plain allow-list: the event loop, I/O on fds we already hold, memory,
 * time, and process basics.  Foreign names (mmap2 on x86_64) are no-ops. */
static const char *const allow_plain[] = {
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
	"poll", "ppoll",
	"accept4", "accept", "read", "readv", "write", "writev", "pread64",
	"recvfrom", "sendto", "recvmsg", "sendmsg", "shutdown", "close",
	"getsockname", "getpeername", "getsockopt",
	"brk", "munmap", "mremap",
	"futex", "sched_yield",
	"clock_gettime", "clock_getres", "gettimeofday", "time", "getrandom",
	"nanosleep", "clock_nanosleep",
	"getpid", "gettid", "getuid", "geteuid", "getgid", "getegid",
	"rt_sigreturn", "rt_sigprocmask", "restart_syscall", "exit",
	"exit_group",
	"fstat", "newfstatat", "lseek",
};

/* Lazy probes (syslog's socket, a stray open) fail cleanly, not fatally. */
static const char *const deny_eacces[] = {
	"open", "openat", "openat2", "stat", "lstat", "statx", "access",
	"faccessat", "faccessat2", "readlink", "readlinkat",
	"socket", "connect", "shmget", "shmat", "shmdt", "ipc",
};

/* An argument comparison with every field named (clang's
 * -Wmissing-field-initializers rejects libseccomp's short macros). */
#define CMP(n, cmp, a, b) \
	((struct scmp_arg_cmp){ .arg = (n), .op = (cmp), .datum_a = (a), .datum_b = (b) })

static int
add_rules(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	size_t i;
	int nr, r;

#define RULE(act, name, n, ...) do {					\
	nr = seccomp_syscall_resolve_name(name);			\
	if (nr == __NR_SCMP_ERROR) {					\
		snprintf(err, errlen, "unknown syscall %s", name);	\
		return -1;						\
	}								\
	if ((r = seccomp_rule_add(ctx, act, nr, n, ##__VA_ARGS__)) < 0) { \
		snprintf(err, errlen, "seccomp rule %s: %s", name,	\
		    strerror(-r));					\
		return -1;						\
	}								\
} while (0)

	for (i = 0; i < nitems(allow_plain); i++)
		RULE(SCMP_ACT_ALLOW, allow_plain[i], 0);
	for (i = 0; i < nitems(deny_eacces); i++)
		RULE(SCMP_ACT_ERRNO(EACCES), deny_eacces[i], 0);

	/* Memory: never executable. */
	RULE(SCMP_ACT_ALLOW, "mmap", 1,
	    CMP(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	RULE(SCMP_ACT_ALLOW, "mprotect", 1,
	    CMP(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	RULE(SCMP_ACT_ALLOW, "madvise", 1, CMP(2, SCMP_CMP_EQ, MADV_DONTNEED, 0));
	RULE(SCMP_ACT_ALLOW, "madvise", 1, CMP(2, SCMP_CMP_EQ, MADV_FREE, 0));
	RULE(SCMP_ACT_ALLOW, "madvise", 1, CMP(2, SCMP_CMP_EQ, MADV_NORMAL, 0));
	RULE(SCMP_ACT_ALLOW, "madvise", 1, CMP(2, SCMP_CMP_EQ, MADV_DONTDUMP, 0));

	/* libevent restores signal dispositions when the loop is freed; SIGSYS
	 * stays ours. */
	RULE(SCMP_ACT_ALLOW, "rt_sigaction", 1, CMP(0, SCMP_CMP_NE, SIGSYS, 0));

	/* ioctl: only FIONREAD (evbuffer_read). */
	RULE(SCMP_ACT_ALLOW, "ioctl", 1, CMP(1, SCMP_CMP_EQ, FIONREAD, 0));

	/* fcntl: flags only, never locks or F_DUPFD. */
	RULE(SCMP_ACT_ALLOW, "fcntl", 1, CMP(1, SCMP_CMP_EQ, F_GETFL, 0));
	RULE(SCMP_ACT_ALLOW, "fcntl", 1, CMP(1, SCMP_CMP_EQ, F_SETFL, 0));
	RULE(SCMP_ACT_ALLOW, "fcntl", 1, CMP(1, SCMP_CMP_EQ, F_GETFD, 0));
	RULE(SCMP_ACT_ALLOW, "fcntl", 1, CMP(1, SCMP_CMP_EQ, F_SETFD, 0));

	/* setsockopt: TCP_NODELAY and SO_LINGER/SO_KEEPALIVE only. */
	RULE(SCMP_ACT_ALLOW, "setsockopt", 2, CMP(1, SCMP_CMP_EQ, IPPROTO_TCP, 0),
	    CMP(2, SCMP_CMP_EQ, TCP_NODELAY, 0));
	RULE(SCMP_ACT_ALLOW, "setsockopt", 2, CMP(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
	    CMP(2, SCMP_CMP_EQ, SO_LINGER, 0));
	RULE(SCMP_ACT_ALLOW, "setsockopt", 2, CMP(1, SCMP_CMP_EQ, SOL_SOCKET, 0),
	    CMP(2, SCMP_CMP_EQ, SO_KEEPALIVE, 0));
#undef RULE
	return 0;
}

int
sandbox_enter_worker(int mode, int report_fd, char *err, size_t errlen)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	uint32_t def;
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	if (mode == SANDBOX_OFF)
		return 0;
	sys_report_fd = report_fd;
	sys_mode = mode;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO | (mode == SANDBOX_ENFORCE ?
	    SA_RESETHAND | SA_NODEFER : 0);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1) {
		snprintf(err, errlen, "sigaction SIGSYS: %s", strerror(errno));
		return -1;
	}
	def = mode == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP;
	if ((ctx = seccomp_init(def)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	if (add_rules(ctx, err, errlen) == -1) {
		seccomp_release(ctx);
		return -1;
	}
	if ((r = seccomp_load(ctx)) < 0) {
		snprintf(err, errlen, "seccomp_load: %s", strerror(-r));
		seccomp_release(ctx);
		return -1;
	}
	seccomp_release(ctx);
	return 0;
}

int
sandbox_enter_broker(char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	return 0;
}

const char *
sandbox_syscall_name(int nr)
{
	static char buf[64];
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

	if (name == NULL)
		snprintf(buf, sizeof(buf), "unknown");
	else {
		strlcpy_(buf, name, sizeof(buf));
		free(name);
	}
	return buf;
}
