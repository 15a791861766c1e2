/*
 * Least privilege for workers and the broker: rlimits, the switch to the
 * service user, PR_SET_NO_NEW_PRIVS, then a libseccomp allow-list.
 */
#ifndef PCM_SANDBOX_H
#define PCM_SANDBOX_H

#include "conf.h"

#define EXIT_SANDBOX_TRAP	70	/* trap mode: a blocked syscall */
#define EXIT_FATAL_CONFIG	2	/* do not respawn */

int	 sandbox_drop_privileges(const struct conf *, char *err, size_t errlen);
int	 sandbox_rlimits(const struct conf *, int worker);
/* Install the worker filter; report_fd receives MSG_VIOLATION. */
int	 sandbox_enter_worker(int mode, int report_fd, char *err, size_t errlen);
/* The broker is not exposed to clients: no-new-privs only, for now. */
int	 sandbox_enter_broker(char *err, size_t errlen);
/* Name of a syscall number on this architecture (static buffer). */
const char *sandbox_syscall_name(int nr);

#endif
