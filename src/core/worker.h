#ifndef PCM_WORKER_H
#define PCM_WORKER_H

struct child_args;
int	 worker_main(const struct child_args *);

#endif
