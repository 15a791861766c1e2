/*
 * Logging.  One JSON object per line (or a text line), one write(2) per
 * line.  Only the master owns the log file: children format their lines
 * and send them over the master channel (MSG_LOG), so a sandboxed worker
 * never needs open(2) or a socket, and USR1 reopens one fd in one place.
 */
#ifndef PCM_LOG_H
#define PCM_LOG_H

#include <stdint.h>

#include <json-c/json.h>

#include "conf.h"

void	 log_init(const char *role, int slot, uint32_t gen);
void	 log_set_level(int level);
int	 log_get_level(void);
/* Whether a line at level would be written: fields need not be built if not. */
int	 log_enabled(int level);
void	 log_set_format(int text);
/* Master: send lines to output ("stdout", "stderr" or a path). */
int	 log_open(const char *output);
int	 log_reopen(void);
/* Children: send lines to the master over this channel fd. */
void	 log_set_channel(int fd);
/* Master: write a line a child sent (already formatted). */
void	 log_write_line(const char *line, size_t len);

void	 logmsg(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* fields (may be NULL) is consumed: its keys are added to the line. */
void	 logkv(int level, struct json_object *fields, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
