#!/usr/bin/python3
# scale_driver.py: the libvirt side of controlplane-scale.bench, through python3-libvirt (what
# virsh is built on): define N vNodes, then start each and time it (create() until the
# domain is running: placement, the processor host's VM_START, the run persisted), with
# progress on stderr; or wait until N are listed running (after a restart); or define
# vNodes one after the other against whichever of several lego-controld takes them (a
# failover), until told to stop. Prints "key value" lines.
#   scale_driver.py start URI N KERNEL      define_s, start_p50_ms, start_p99_ms, ...
#   scale_driver.py running URI N TIMEOUT_S  running N when N are, else exit 1
#   scale_driver.py defineloop URI,URI... KERNEL STOPFILE ACKED
#                   defines fo-00001, fo-00002, ... each on the first URI that takes it
#                   (a standby refuses, a killed one is not there), appending
#                   "NAME WALLCLOCK_S URI_INDEX" to ACKED once acknowledged, until
#                   STOPFILE exists (a name that already exists, stored by a leader
#                   killed before it answered, is passed over); prints "acked N",
#                   "refusals N" and "stored_unacknowledged N"
#   scale_driver.py missing URI ACKED        the acknowledged names not defined there
#                                            ("missing N", and each name)
import os
import statistics
import sys
import time

import libvirt

XML = """<domain type='lego'><name>%s</name><memory unit='MiB'>256</memory>
<vcpu>1</vcpu><os><type>hvm</type><kernel>%s</kernel></os>
<metadata><lego:vnode xmlns:lego='https://lego.dev/xmlns/vnode/1'>
<lego:excache unit='MiB'>16</lego:excache></lego:vnode></metadata></domain>"""


def progress(what, i, n, t0):
    if i % 1000 == 0 or i == n:
        print("controlplane-scale: %s %d/%d (%.0f s)" % (what, i, n, time.monotonic() - t0),
              file=sys.stderr, flush=True)


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1)]


def start(uri, n, kernel):
    conn = libvirt.open(uri)
    t0 = time.monotonic()
    doms = []
    for i in range(n):
        doms.append(conn.defineXML(XML % ("scale-%05d" % i, kernel)))
        progress("defined", i + 1, n, t0)
    define_s = time.monotonic() - t0
    times = []
    rtts = []
    t0 = time.monotonic()
    for i, dom in enumerate(doms):
        s = time.perf_counter()
        dom.create()
        if dom.state()[0] != libvirt.VIR_DOMAIN_RUNNING:
            sys.exit("%s is not running after its start" % dom.name())
        times.append((time.perf_counter() - s) * 1000)
        if i % 10 == 0:
            # The floor: one libvirt round trip that does nothing (state of a vNode).
            s = time.perf_counter()
            dom.state()
            rtts.append((time.perf_counter() - s) * 1000)
        progress("started", i + 1, n, t0)
    start_s = time.monotonic() - t0
    print("define_s %.3f" % define_s)
    print("start_all_s %.3f" % start_s)
    print("start_p50_ms %.3f" % statistics.median(times))
    print("start_p99_ms %.3f" % pct(times, 99))
    print("start_max_ms %.3f" % max(times))
    print("rtt_p50_ms %.3f" % statistics.median(rtts))


def running(uri, n, timeout_s):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn = libvirt.open(uri)
            up = len(conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_RUNNING))
            conn.close()
        except libvirt.libvirtError:
            up = -1
        if up >= n:
            print("running %d" % up)
            return
        if time.monotonic() > deadline:
            sys.exit("only %d of %d running" % (up, n))
        time.sleep(0.1)


def define_loop(uris, kernel, stop_file, acked):
    conns = [None] * len(uris)
    said = [""] * len(uris)
    i, refusals, landed = 1, 0, 0
    with open(acked, "a", buffering=1) as out:
        while not os.path.exists(stop_file):
            xml = XML % ("fo-%05d" % i, kernel)
            done = False
            for k, uri in enumerate(uris):
                try:
                    if conns[k] is None:
                        conns[k] = libvirt.open(uri)
                    conns[k].defineXML(xml)
                except libvirt.libvirtError as e:
                    if "already exists" in str(e):
                        # A define the killed leader stored but never acknowledged: the
                        # next name (it is no acknowledged define, nor a lost one).
                        print("%s: %s: fo-%05d was stored unacknowledged: %s"
                              % (time.strftime("%H:%M:%S"), uri, i, e), file=sys.stderr,
                              flush=True)
                        i, landed, done = i + 1, landed + 1, True
                        break
                    refusals += 1
                    if str(e) != said[k]:  # each new refusal once, to stderr
                        said[k] = str(e)
                        print("%s: %s: %s" % (time.strftime("%H:%M:%S"), uri, e),
                              file=sys.stderr, flush=True)
                    try:
                        if conns[k] is not None:
                            conns[k].close()
                    except libvirt.libvirtError:
                        pass
                    conns[k] = None  # a standby that leads now, or one restarted: again
                    continue
                out.write("fo-%05d %.6f %d\n" % (i, time.time(), k))
                i, done = i + 1, True
                break
            if not done:
                time.sleep(0.02)  # none leads yet: a failover in progress
    print("acked %d" % (i - 1))
    print("refusals %d" % refusals)
    print("stored_unacknowledged %d" % landed)


def missing(uri, acked):
    conn = libvirt.open(uri)
    names = set(d.name() for d in conn.listAllDomains())
    lost = [ln.split()[0] for ln in open(acked) if ln.split() and ln.split()[0] not in names]
    print("missing %d" % len(lost))
    for name in lost:
        print(name)


if __name__ == "__main__":
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    if len(sys.argv) == 5 and sys.argv[1] == "start":
        start(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "running":
        running(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif len(sys.argv) == 6 and sys.argv[1] == "defineloop":
        define_loop(sys.argv[2].split(","), sys.argv[3], sys.argv[4], sys.argv[5])
    elif len(sys.argv) == 4 and sys.argv[1] == "missing":
        missing(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: scale_driver.py start|running|defineloop|missing ...")
