#ifndef PCM_MASTER_H
#define PCM_MASTER_H

struct master_opts {
	const char	*conf_path;	/* NULL: embedded defaults */
	const char	*prefix;
	int		 foreground;
};

int	 master_main(const struct master_opts *);

#endif
