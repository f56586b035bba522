/* log.c: leveled, single-write log lines (safe across threads): timestamped on a terminal
 * or file, syslog-priority prefixed ("<6>...") when stderr is the systemd journal. */
#include "log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "lego";
static enum log_level log_min = LOG_INFO;
static bool log_journal;

static const char *const level_names[] = {"debug", "info", "warn", "error"};
/* syslog(3) priorities of the levels: LOG_DEBUG 7, LOG_INFO 6, LOG_WARNING 4, LOG_ERR 3. */
static const char level_prio[] = {'7', '6', '4', '3'};

/* systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr is the journal; it is
 * inherited by children whose stderr may be elsewhere (lego-vmm's goes to a file), hence
 * the check that stderr is that very stream (systemd.exec(5)). */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	char end;

	if (!env || sscanf(env, "%ju:%ju%c", &dev, &ino, &end) != 2)
		return false;
	return !fstat(STDERR_FILENO, &st) && (uintmax_t)st.st_dev == dev &&
	       (uintmax_t)st.st_ino == ino;
}

void log_init(const char *prog)
{
	const char *env = getenv("LEGO_LOG");

	if (prog) {
		const char *slash = strrchr(prog, '/');
		log_prog = slash ? slash + 1 : prog;
	}
	log_journal = stderr_is_journal();
	if (!env)
		return;
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
		if (!strcasecmp(env, level_names[i]))
			log_min = (enum log_level)i;
}

bool log_to_journal(void)
{
	return log_journal;
}

void log_set_level(enum log_level level)
{
	log_min = level;
}

enum log_level log_get_level(void)
{
	return log_min;
}

/* The line's head: the journal records the time, the program and its pid itself. */
static int head(char *line, size_t len, enum log_level level)
{
	struct timespec ts;
	struct tm tm;

	if (log_journal)
		return snprintf(line, len, "<%c>", level_prio[level]);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	return snprintf(line, len, "%02d:%02d:%02d.%03ld %s[%d] %s: ", tm.tm_hour, tm.tm_min,
			tm.tm_sec, ts.tv_nsec / 1000000, log_prog, (int)getpid(),
			level_names[level]);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, start;

	if (level < log_min)
		return;
	n = start = head(line, sizeof(line), level);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0 || start < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	/* One event, one line: a line break in a peer's text must not start a line that
	 * reads as an event of its own (nor, in the journal, one without a priority). */
	for (char *c = line + start; c < line + n; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	line[n++] = '\n';
	/* One write(2) per line so lines from threads and processes never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

bool log_sampled(uint64_t nth)
{
	return nth <= 20 || nth % 1000 == 0;
}
