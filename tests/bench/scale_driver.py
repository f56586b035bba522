#!/usr/bin/python3
# scale_driver.py: the libvirt side of controlplane-scale.bench, through python3-libvirt (what
# virsh is built on): define N vNodes, then start each and time it (create() until the
# domain is running: placement, the processor host's VM_START, the run persisted), with
# progress on stderr; or wait until N are listed running (after a restart). Prints
# "key value" lines.
#   scale_driver.py start URI N KERNEL      define_s, start_p50_ms, start_p99_ms, ...
#   scale_driver.py running URI N TIMEOUT_S  running N when N are, else exit 1
import statistics
import sys
import time

import libvirt

XML = """<domain type='lego'><name>scale-%05d</name><memory unit='MiB'>256</memory>
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
        doms.append(conn.defineXML(XML % (i, kernel)))
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


if __name__ == "__main__":
    libvirt.registerErrorHandler(lambda ctx, err: None, None)
    if len(sys.argv) == 5 and sys.argv[1] == "start":
        start(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 5 and sys.argv[1] == "running":
        running(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__ if __doc__ else "usage: scale_driver.py start|running ...")
