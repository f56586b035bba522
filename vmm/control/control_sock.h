/* control_sock.h: lego-vmm's control socket (--control PATH, or @NAME for an abstract
 * socket): a UNIX stream socket that answers one-line commands with one line of JSON while
 * the vNode runs. Any failure is answered {"error": "..."}.
 *
 *   stats   {"vnode": ID, "state": "running"|"paused", "vcpus": N, "mem_bytes": guest RAM,
 *            "cpu_time_ns": CPU time of the vCPU threads so far, "console_bytes": bytes
 *            the guest wrote to its console, "console_in_bytes": bytes it read from it,
 *            "pager": {...pager statistics...} or null;
 *            and, for a vNode with NICs, "net": [{"mac": "52:54:...", "tap": IFNAME,
 *            "rx_bytes": N, "rx_packets": N, "tx_bytes": N, "tx_packets": N,
 *            "rx_drops": N, "tx_drops": N}, ...] per NIC,
 *            in --net's order, counted by the tap from the guest's side (rx: received);
 *            a NIC whose counters cannot be read has "error": "..." instead of them}
 *   flush   {"flushed_pages": N}   write every dirty ExCache page back to its server
 *   pause   {"state": "paused"}    once every vCPU is out of KVM_RUN and parked (asleep);
 *                                  an error if already paused
 *   resume  {"state": "running"}   the vCPUs carry on; an error if not paused
 *   migrate HOST:PORT      live-migrate to the lego-vmm --incoming there (migrate.h);
 *                          answers {"migration": "started"} at once
 *   migration              the migration's role, phase and progress (migrate.h)
 *   migrate-cancel         give up before the destination is told to run
 *   migrate-resolve commit|abort  after the connection broke once the destination was told
 *                          to run: the control plane says whether it runs
 *   regions                the vRegions' copies (control_json_regions, remote_mem.h)
 *   region-add IDX@HOST:PORT   a new copy of vRegion IDX joins on that server: from the
 *                          answer on, every write-back goes there too (it is filled by
 *                          its server, then made live)
 *   region-live IDX@HOST:PORT  that copy is filled: it counts, and serves reads
 *   region-drop IDX@HOST:PORT  forget that copy (never the last live one)
 *   server-lost HOST:PORT  the control plane lost the server: its copies fail at once,
 *                          but a vRegion's last live copy stays (this VMM's own requests
 *                          decide: a server really gone fails them, and a vRegion left
 *                          without a copy stops the vNode, exit 125, naming the server);
 *                          answered with how many failed and stayed (`regions`: which)
 *   console-in HEX  input for the guest's console: 1 to CONTROL_SOCK_CONSOLE_IN_MAX bytes as
 *          pairs of hex digits, into the UART's receive FIFO as far as it has room:
 *          {"accepted": N, "queued": bytes waiting for the guest} (N < the bytes given:
 *          the rest is the sender's to retry), with "held": why, when a migration
 *          carries the console's state (nothing is taken meanwhile)
 *   help    the commands
 * pause, resume and the region changes are refused while a migration is under way.
 */
#ifndef LEGO_CONTROL_SOCK_H
#define LEGO_CONTROL_SOCK_H

#include <stdint.h>

#define CONTROL_SOCK_CONSOLE_IN_MAX 128 /* bytes per console-in (256 hex digits) */

struct migrate;
struct net_nics;
struct pager;
struct remote_mem;
struct serial;
struct vm;
struct control_sock;

/* What the socket reports on and acts upon; it must outlive control_sock_stop. */
struct cap_holder;

struct control_sock_target {
	uint64_t vnode;
	int vcpus;
	uint64_t mem_bytes;
	struct vm *vm;
	struct pager *pg;      /* NULL without remote memory */
	struct remote_mem *rm; /* likewise */
	struct serial *serial; /* the console's UART: its byte counts, and input */
	struct migrate *mig;
	struct cap_holder *holder;   /* the vNode's capabilities (renewals), or NULL */
	const struct net_nics *nics; /* NICs appear as they are made */
};

int control_sock_start(struct control_sock **out, const char *path,
		       const struct control_sock_target *t);
void control_sock_stop(struct control_sock *cs);

#endif
