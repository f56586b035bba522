/* log.h: one line per event, with a level, to stderr (every lego program uses this): "HH:MM:SS.mmm
 * PROG[PID] LEVEL: text" (UTC), or "<N>text" (N: the syslog priority) when stderr is the
 * systemd journal (a service's JOURNAL_STREAM), which records the time, program and pid. */
#ifndef LEGO_LOG_H
#define LEGO_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Program name shown in every line, and the lowest level printed (default LOG_INFO,
 * overridden by the LEGO_LOG environment variable: debug|info|warn|error). */
void log_init(const char *prog);
void log_set_level(enum log_level level);
/* Whether log_init found stderr to be the journal. */
bool log_to_journal(void);
enum log_level log_get_level(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether the nth event of a kind (counted from 1) is worth a line: the first 20, then
 * every 1000th, so that a flood (a client's refused requests) cannot fill the disk. */
bool log_sampled(uint64_t nth);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
