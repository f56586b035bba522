/* vmm_ask.c: send one command to a lego-vmm control socket and print its answer, for tests
 * (a python3 per request costs seconds in the emulated test bed).
 *
 *   vmm_ask [--field NAME] [--until VALUE] [--timeout-ms N] SOCKET COMMAND
 *
 * SOCKET is a path or @NAME (abstract). --field prints one top-level field of the JSON
 * answer (strings without quotes, null as empty). --until repeats the command every 50 ms
 * until the field equals one of the |-separated VALUEs (exit 0) or the timeout passes
 * (exit 1, printing the last value). Exit 2: no answer at all.
 */
#include <getopt.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/mono_clock.h"

static int ask(const char *path, const char *cmd, char *out, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t sl;
	size_t got = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) +
			 (path[0] == '@' ? 0 : 1));
	if (connect(fd, (struct sockaddr *)&sa, sl) || write(fd, cmd, strlen(cmd)) < 0 ||
	    write(fd, "\n", 1) != 1) {
		close(fd);
		return -1;
	}
	while (got + 1 < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 60000) <= 0)
			break;
		n = read(fd, out + got, len - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (out[got - 1] == '\n')
			break;
	}
	close(fd);
	out[got] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return got ? 0 : -1;
}

/* The value of top-level "name": in a flat-enough JSON object. */
static void field(const char *json, const char *name, char *out, size_t len)
{
	char key[128];
	const char *p;
	size_t n = 0;

	out[0] = '\0';
	snprintf(key, sizeof(key), "\"%s\": ", name);
	p = strstr(json, key);
	if (!p)
		return;
	p += strlen(key);
	if (*p == '"') {
		for (p++; *p && *p != '"' && n + 1 < len; p++) {
			if (*p == '\\' && p[1])
				p++;
			out[n++] = *p;
		}
	} else if (strncmp(p, "null", 4)) {
		while (*p && *p != ',' && *p != '}' && n + 1 < len)
			out[n++] = *p++;
	}
	out[n] = '\0';
}

static int matches(const char *v, const char *alts)
{
	size_t vl = strlen(v);

	for (const char *p = alts;;) {
		size_t l = strcspn(p, "|");

		if (l == vl && !strncmp(p, v, l))
			return 1;
		if (!p[l])
			return 0;
		p += l + 1;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"field", required_argument, NULL, 'f'},
					     {"until", required_argument, NULL, 'u'},
					     {"timeout-ms", required_argument, NULL, 't'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *name = NULL, *until = NULL;
	long timeout = 30000;
	char out[8192], val[4096];
	int64_t deadline_ms;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			name = optarg;
			break;
		case 'u':
			until = optarg;
			break;
		case 't':
			timeout = strtol(optarg, NULL, 10);
			break;
		case 'h':
			printf("Usage: vmm_ask [--field NAME] [--until VALUE[|VALUE...]] "
			       "[--timeout-ms N] SOCKET COMMAND\n");
			return 0;
		default:
			return 2;
		}
	}
	if (argc - optind != 2 || (until && !name)) {
		fprintf(stderr, "vmm_ask: need SOCKET COMMAND (and --field with --until)\n");
		return 2;
	}
	deadline_ms = mono_clock_ms() + timeout;
	for (;;) {
		int rc = ask(argv[optind], argv[optind + 1], out, sizeof(out));

		if (name)
			field(out, name, val, sizeof(val));
		if (!until) {
			if (rc)
				return 2;
			puts(name ? val : out);
			return 0;
		}
		if (!rc && matches(val, until)) {
			puts(val);
			return 0;
		}
		if (mono_clock_ms() > deadline_ms) {
			puts(val);
			return 1;
		}
		usleep(50000);
	}
}
