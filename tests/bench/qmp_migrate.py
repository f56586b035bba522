#!/usr/bin/python3
"""qmp_migrate.py: migrate a QEMU guest to a waiting destination over QMP and report the figures.

Used by tests/bench/qemu-migrate.sh. The source and the destination QEMU are already running,
each with a QMP UNIX socket; the destination was started with -incoming defer. This program:
  1. makes the destination listen (migrate-incoming tcp:127.0.0.1:0; the port it got is read
     back from its query-migrate, so no port is guessed or raced for);
  2. raises the source's max-bandwidth (QEMU 7.2's default, 128 MiB/s, would throttle a
     loopback migration to a fraction of what QEMU can do) and leaves downtime-limit at
     QEMU's default;
  3. starts the migration and polls the source's query-migrate every 100 ms until it is
     "completed", failing on "failed", "cancelled" or the timeout (then it cancels);
  4. waits for the destination to report the migration completed and its VM "running".
On success it prints one line on stdout:
  total_ms=T downtime_ms=D setup_ms=S ram_transferred_mib=X ram_total_mib=Y
and details (passes, throughput, limits) on stderr. Exit status 0 on success, 1 otherwise.
Python standard library only.
"""

import argparse
import json
import socket
import sys
import time

MIB = 1024 * 1024
POLL_S = 0.1


class QMPError(Exception):
    pass


class QMP:
    """A minimal QMP client: one command at a time, events skipped."""

    def __init__(self, path, name, timeout):
        self.name = name
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(path)
                break
            except OSError as e:
                self.sock.close()
                if time.monotonic() >= deadline:
                    raise QMPError(f"{name}: cannot connect to QMP socket {path}: {e}") from e
                time.sleep(POLL_S)
        self.sock.settimeout(timeout)
        self.reader = self.sock.makefile("rb")
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError(f"{name}: no QMP greeting: {greeting}")
        self.version = greeting["QMP"].get("version", {}).get("qemu", {})
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            line = self.reader.readline()
            if not line:
                raise QMPError(f"{self.name}: QMP connection closed (QEMU exited?)")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, command, **arguments):
        req = {"execute": command}
        if arguments:
            req["arguments"] = arguments
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        reply = self._read()
        if "error" in reply:
            err = reply["error"]
            raise QMPError(f"{self.name}: {command}: {err.get('class')}: {err.get('desc')}")
        if "return" not in reply:
            raise QMPError(f"{self.name}: {command}: unexpected reply {reply}")
        return reply["return"]

    def close(self):
        self.reader.close()
        self.sock.close()


def log(msg):
    print(f"qmp_migrate: {msg}", file=sys.stderr, flush=True)


def migrate(args):
    src = QMP(args.src, "source", args.connect_timeout)
    dst = QMP(args.dst, "destination", args.connect_timeout)

    status = dst.cmd("query-status")["status"]
    if status != "inmigrate":
        raise QMPError(f"destination: status is '{status}', not 'inmigrate' (not started with -incoming defer?)")
    dst.cmd("migrate-incoming", uri="tcp:127.0.0.1:0")
    addrs = dst.cmd("query-migrate").get("socket-address", [])
    ports = [a["port"] for a in addrs if a.get("type") == "inet" and a.get("host") == "127.0.0.1"]
    if not ports:
        raise QMPError(f"destination: no 127.0.0.1 listening address in query-migrate: {addrs}")
    uri = f"tcp:127.0.0.1:{ports[0]}"

    # QEMU 7.2 limits a migration to max-bandwidth, 128 MiB/s by default: left there, the peer
    # would look artificially slow on loopback. downtime-limit stays at QEMU's default
    # (300 ms): the last pass starts once QEMU expects to send the rest within it.
    src.cmd("migrate-set-parameters", **{"max-bandwidth": args.max_bandwidth})
    params = src.cmd("query-migrate-parameters")
    if params.get("max-bandwidth") != args.max_bandwidth:
        raise QMPError(f"source: max-bandwidth is {params.get('max-bandwidth')} after setting it")
    caps = [c["capability"] for c in src.cmd("query-migrate-capabilities") if c["state"]]
    log(f"QEMU {src.version.get('major')}.{src.version.get('minor')}.{src.version.get('micro')}, "
        f"destination listening on {uri}; max-bandwidth {args.max_bandwidth // MIB} MiB/s, "
        f"downtime-limit {params.get('downtime-limit')} ms (default), "
        f"capabilities on: {', '.join(caps) or 'none'}")

    src.cmd("migrate", uri=uri)
    deadline = time.monotonic() + args.timeout
    info = {}
    while True:
        info = src.cmd("query-migrate")
        state = info.get("status")
        if state == "completed":
            break
        if state in ("failed", "cancelled", "cancelling"):
            raise QMPError(f"source: migration {state}: {info.get('error-desc', 'no error-desc')}")
        if time.monotonic() >= deadline:
            ram = info.get("ram", {})
            try:
                src.cmd("migrate_cancel")
            except QMPError:
                pass
            raise QMPError(f"source: migration not completed after {args.timeout} s "
                           f"(status {state}, {ram.get('transferred', 0) // MIB} MiB sent, "
                           f"{ram.get('remaining', 0) // MIB} MiB remaining, "
                           f"dirty-sync-count {ram.get('dirty-sync-count')})")
        time.sleep(POLL_S)

    # The destination finishes loading the device state and starts the VM after the source
    # has declared completion.
    deadline = time.monotonic() + args.dst_timeout
    while True:
        dstate = dst.cmd("query-migrate").get("status")
        vmstate = dst.cmd("query-status")["status"]
        if dstate == "completed" and vmstate == "running":
            break
        if dstate in ("failed", "cancelled") or vmstate not in ("inmigrate", "running", "paused"):
            raise QMPError(f"destination: migration {dstate}, VM status '{vmstate}'")
        if time.monotonic() >= deadline:
            raise QMPError(f"destination: migration {dstate}, VM status '{vmstate}' "
                           f"{args.dst_timeout} s after the source completed")
        time.sleep(POLL_S)

    ram = info["ram"]
    for key in ("total-time", "downtime", "setup-time"):
        if key not in info:
            raise QMPError(f"source: query-migrate has no '{key}' after completion: {info}")
    log(f"completed: {ram.get('dirty-sync-count')} dirty-bitmap syncs, "
        f"{ram.get('normal', 0)} full pages, {ram.get('duplicate', 0)} zero pages, "
        f"{ram.get('mbps', 0):.0f} Mbit/s in the last pass; destination running")
    print(f"total_ms={info['total-time']} downtime_ms={info['downtime']} "
          f"setup_ms={info['setup-time']} "
          f"ram_transferred_mib={ram['transferred'] / MIB:.1f} ram_total_mib={ram['total'] / MIB:.1f}",
          flush=True)
    src.close()
    dst.close()


def main():
    p = argparse.ArgumentParser(description="Migrate a QEMU guest to a destination started with "
                                "-incoming defer, over QMP; print query-migrate's figures.")
    p.add_argument("--src", required=True, help="the source QEMU's QMP UNIX socket")
    p.add_argument("--dst", required=True, help="the destination QEMU's QMP UNIX socket")
    p.add_argument("--timeout", type=float, default=300, help="seconds the migration may take (300)")
    p.add_argument("--dst-timeout", type=float, default=30,
                   help="seconds the destination may take to run after the source completed (30)")
    p.add_argument("--connect-timeout", type=float, default=30,
                   help="seconds to wait for the QMP sockets and replies (30)")
    p.add_argument("--max-bandwidth", type=int, default=100 * 1024 * MIB,
                   help="the source's max-bandwidth in bytes/s (default 100 GiB/s: unlimited)")
    args = p.parse_args()
    try:
        migrate(args)
    except (QMPError, OSError, ValueError) as e:
        print(f"qmp_migrate: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
