/* pmon_dhcp.c: dnsmasq as a network's DHCP server on one host: its configuration, its
 * static hosts (re-read on SIGHUP), its leases, and the leftovers of a lego-pmon that died. */
#include "pmon_dhcp.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/log.h"
#include "lib/mono_clock.h"
#include "lib/strbuf.h"

#define READY_MS 30000 /* dnsmasq writes its pid file once it serves (a loaded host: slow) */

int pmon_dhcp_dir(const char *dir, char *err, size_t errlen)
{
	char path[PMON_DHCP_PATH_MAX];
	struct stat sb;

	if (strlen(dir) + 80 >= sizeof(path)) {
		snprintf(err, errlen, "DHCP directory '%s' is too long", dir);
		return -1;
	}
	if ((mkdir(dir, 0755) && errno != EEXIST) || chmod(dir, 0755)) {
		snprintf(err, errlen, "cannot create DHCP directory '%s': %s", dir,
			 strerror(errno));
		return -1;
	}
	/* dnsmasq re-reads the hosts file as nobody: every directory on the way must let it. */
	snprintf(path, sizeof(path), "%s", dir);
	for (char *slash = path + strlen(path); slash; slash = strrchr(path, '/')) {
		*slash = '\0';
		if (stat(path[0] ? path : "/", &sb) || !(sb.st_mode & S_IXOTH)) {
			snprintf(err, errlen,
				 "DHCP directory '%s': '%s' cannot be passed by dnsmasq's user "
				 "nobody (give --dhcp-dir a path others may enter)",
				 dir, path[0] ? path : "/");
			return -1;
		}
		if (!path[0])
			break;
	}
	return 0;
}

static void paths(struct pmon_dhcp *d, const char *dir, const char *net)
{
	snprintf(d->conf, sizeof(d->conf), "%s/%s.conf", dir, net);
	snprintf(d->hosts, sizeof(d->hosts), "%s/%s.hosts", dir, net);
	snprintf(d->leases, sizeof(d->leases), "%s/%s.leases", dir, net);
	snprintf(d->pidfile, sizeof(d->pidfile), "%s/%s.pid", dir, net);
}

/* path replaced by text (mode 0644: dnsmasq reads it as nobody). */
static int put_file(const char *path, const char *text, char *err, size_t errlen)
{
	char tmp[PMON_DHCP_PATH_MAX + 8];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || fdio_write_all(fd, text, strlen(text)) || fchmod(fd, 0644) || close(fd) ||
	    rename(tmp, path)) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		return -1;
	}
	return 0;
}

/* A vNode name that is also a host name (letters, digits, inner hyphens). */
static bool hostname_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > NET_PROTO_HOSTNAME_LEN || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

static int write_hosts(const struct pmon_dhcp *d, const struct pmon_dhcp_host *h, int n, char *err,
		       size_t errlen)
{
	struct strbuf b;
	int rc;

	strbuf_init(&b, 0);
	strbuf_printf(&b, "%s", ""); /* an empty file for no hosts */
	for (int i = 0; i < n; i++) {
		char mac[18], ip[16];

		net_proto_mac_format(h[i].mac, mac);
		net_proto_ip_format(h[i].ip, ip);
		strbuf_printf(&b, "%s,%s%s%s\n", mac, ip, hostname_ok(h[i].name) ? "," : "",
			      hostname_ok(h[i].name) ? h[i].name : "");
	}
	if (b.failed) {
		snprintf(err, errlen, "out of memory");
		strbuf_free(&b);
		return -1;
	}
	rc = put_file(d->hosts, b.p, err, errlen);
	strbuf_free(&b);
	return rc;
}

static int write_conf(const struct pmon_dhcp *d, const struct net_proto_net *net, unsigned mtu,
		      char *err, size_t errlen)
{
	char addr[16], mask[16];
	struct strbuf b;
	int rc;

	net_proto_ip_format(net->addr, addr);
	net_proto_ip_format(net_proto_net_mask(net->prefix), mask);
	strbuf_init(&b, 0);
	strbuf_printf(&b,
		      "# lego-pmon: DHCP of network %s (VNI %u) for this host's vNodes\n"
		      "port=0\ninterface=%s\nbind-dynamic\nexcept-interface=lo\n"
		      "dhcp-range=%s,static,%s,%d\ndhcp-no-override\ndhcp-authoritative\n"
		      "dhcp-lease-max=65535\ndhcp-hostsfile=%s\ndhcp-leasefile=%s\n"
		      "pid-file=%s\ndhcp-option=option:router\ndhcp-option=option:dns-server\n"
		      "dhcp-option-force=option:mtu,%u\n",
		      net->name, net->vni, d->bridge, addr, mask, PMON_DHCP_LEASE_SECONDS, d->hosts,
		      d->leases, d->pidfile, mtu);
	rc = b.failed ? -1 : put_file(d->conf, b.p, err, errlen);
	strbuf_free(&b);
	return rc;
}

static void child(const char *path, const char *conf, int log_fd)
{
	char arg[PMON_DHCP_PATH_MAX + 16];
	sigset_t none;
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	setsid();
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0)
		_exit(127);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	snprintf(arg, sizeof(arg), "--conf-file=%s", conf);
	execl(path, path, "--keep-in-foreground", "--log-facility=-", arg, (char *)NULL);
	_exit(127);
}

static pid_t pid_in(const char *pidfile)
{
	char text[32] = "";
	FILE *f = fopen(pidfile, "re");
	long pid = 0;

	if (f) {
		if (fgets(text, sizeof(text), f))
			pid = strtol(text, NULL, 10);
		fclose(f);
	}
	return pid > 1 && pid < 1L << 30 ? (pid_t)pid : 0;
}

int pmon_dhcp_start(struct pmon_dhcp *d, const char *path, const char *dir,
		    const struct net_proto_net *net, const char *bridge, unsigned mtu,
		    const struct pmon_dhcp_host *hosts, int n, char *err, size_t errlen)
{
	char logp[PMON_DHCP_PATH_MAX + 8];
	int log_fd;
	pid_t pid;
	int64_t deadline;

	memset(d, 0, sizeof(*d));
	snprintf(d->net, sizeof(d->net), "%s", net->name);
	snprintf(d->bridge, sizeof(d->bridge), "%s", bridge);
	paths(d, dir, net->name);
	unlink(d->pidfile);
	if (write_hosts(d, hosts, n, err, errlen) || write_conf(d, net, mtu, err, errlen))
		return -1;
	snprintf(logp, sizeof(logp), "%s/%s.log", dir, net->name);
	log_fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (log_fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", logp, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0)
		child(path, d->conf, log_fd);
	close(log_fd);
	if (pid < 0) {
		snprintf(err, errlen, "cannot fork dnsmasq: %s", strerror(errno));
		return -1;
	}
	d->pid = pid;
	d->started_ms = mono_clock_ms();
	/* Serving once its pid file names it; an exit meanwhile is reaped by the loop. */
	for (deadline = mono_clock_ms() + READY_MS; mono_clock_ms() < deadline; usleep(5000))
		if (pid_in(d->pidfile) == pid)
			return 0;
	snprintf(err, errlen, "dnsmasq (%s) did not start serving network %s on %s: see %s", path,
		 net->name, bridge, logp);
	kill(pid, SIGKILL);
	d->pid = 0;
	return -1;
}

int pmon_dhcp_hosts(struct pmon_dhcp *d, const struct pmon_dhcp_host *hosts, int n, char *err,
		    size_t errlen)
{
	if (write_hosts(d, hosts, n, err, errlen))
		return -1;
	if (d->pid > 0 && kill(d->pid, SIGHUP)) {
		snprintf(err, errlen, "cannot signal dnsmasq (pid %d): %s", (int)d->pid,
			 strerror(errno));
		return -1;
	}
	return 0;
}

void pmon_dhcp_stop(struct pmon_dhcp *d)
{
	if (d->pid > 0)
		kill(d->pid, SIGTERM);
	d->pid = 0;
	unlink(d->conf);
	unlink(d->hosts);
	unlink(d->leases);
	unlink(d->pidfile);
}

/* One lease-file line: "EXPIRY MAC IP HOSTNAME CLIENTID" (DHCPv6 lines are skipped). */
static bool lease_line(const char *line, struct net_proto_lease *l)
{
	char mac[32], ip[32], host[256];
	long long expiry;

	memset(l, 0, sizeof(*l));
	if (sscanf(line, "%lld %31s %31s %255s", &expiry, mac, ip, host) != 4 || expiry < 0 ||
	    net_proto_mac_parse(mac, l->mac) || !net_proto_mac_ok(l->mac) ||
	    net_proto_ip_parse(ip, &l->ip))
		return false;
	l->expiry = expiry;
	if (strcmp(host, "*") && strlen(host) <= NET_PROTO_HOSTNAME_LEN) {
		bool ok = true;

		for (const char *c = host; *c; c++)
			ok &= isalnum((unsigned char)*c) || *c == '-' || *c == '.';
		if (ok)
			memcpy(l->hostname, host, strlen(host) + 1);
	}
	return true;
}

int pmon_dhcp_leases(const struct pmon_dhcp *d, struct net_proto_lease **out, uint32_t *n,
		     char *err, size_t errlen)
{
	FILE *f = fopen(d->leases, "re");
	char line[512];
	struct net_proto_lease *l = NULL;
	uint32_t k = 0;

	*out = NULL;
	*n = 0;
	if (!f)
		return errno == ENOENT ? 0
				       : (snprintf(err, errlen, "cannot read %s: %s", d->leases,
						   strerror(errno)),
					  -1);
	while (fgets(line, sizeof(line), f) && k < NET_PROTO_MAX_LEASES) {
		struct net_proto_lease one, *grown;

		if (!lease_line(line, &one))
			continue;
		grown = realloc(l, (k + 1) * sizeof(*l));
		if (!grown)
			break;
		l = grown;
		l[k++] = one;
	}
	fclose(f);
	*out = l;
	*n = k;
	return 0;
}

/* Whether pid runs dnsmasq with a configuration in dir. */
static bool ours(pid_t pid, const char *dir)
{
	char path[64], cmd[4096], want[PMON_DHCP_PATH_MAX + 16];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return false;
	cmd[n] = '\0';
	snprintf(want, sizeof(want), "--conf-file=%s/", dir);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1)
		if (!strncmp(cmd + i, want, strlen(want)))
			return true;
	return false;
}

int pmon_dhcp_cleanup(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	int stopped = 0;

	while (dp && (e = readdir(dp))) {
		char path[PMON_DHCP_PATH_MAX + 256];
		size_t n = strlen(e->d_name);
		pid_t pid;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (n > 4 && !strcmp(e->d_name + n - 4, ".pid") && (pid = pid_in(path)) &&
		    ours(pid, dir) && !kill(pid, SIGTERM)) {
			for (int i = 0; i < 200 && !kill(pid, 0) && ours(pid, dir); i++)
				usleep(10000);
			if (!kill(pid, 0) && ours(pid, dir))
				kill(pid, SIGKILL);
			log_info("stopped the DHCP server (dnsmasq pid %d) a previous lego-pmon "
				 "left "
				 "(%s)",
				 (int)pid, e->d_name);
			stopped++;
		}
		if (n > 4 && strcmp(e->d_name + n - 4, ".log"))
			unlink(path);
	}
	if (dp)
		closedir(dp);
	return stopped;
}
