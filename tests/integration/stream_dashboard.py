"""The live dashboard at / on rtetl stream's metrics port, in a real browser (headless Chromium
over the DevTools protocol, chromium_cdp.py), against the real stack while a producer writes:

1. The page loads (its script and stylesheet from the same server) and polls /metrics: after a
   few polls every number it shows (written, consumed, filtered, dead-lettered, lag, lag per
   partition, dead letters by reason, hosts up, in flight, write p50/p99, retries, and the
   concurrency limit when /metrics has one) equals the same sample of one /metrics text that
   this test scraped itself around that time (it scrapes every 0.1 s; the server publishes
   once a second), the shown text is that number formatted, and the health pill says what
   /healthz said.
2. Seconds later the numbers have moved on (written grew) and again match one /metrics text;
   rows/s is above zero and within a factor of two of the rate measured from the scrapes.
3. A screenshot of the page (RTETL_DASHBOARD_PNG, else <build>/dashboard.png) is a PNG of the
   window's size; docs/dashboard.png is made this way.
4. The same files, served by a stand-in with a /metrics text the test writes: the write
   concurrency limit is shown when /metrics has it, label values with escapes arrive intact,
   an unhealthy /healthz shows its reason, and a counter that goes back (a restarted process)
   restarts the rate instead of showing a negative one.
"""
import json
import os
import re
import signal
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import chromium_cdp
from rtetl_testlib import (BIN, BROKERS, SRC, Procs, check, check_true, create_topic,
                           drop_keyspace, finish, log, produce, unique, wait_for)

PARTS = 3
RATE = 200
WIDTH, HEIGHT = 1280, 560

# null until the page (about:blank before it) is parsed whole: while it loads, the elements near
# its top can exist before those further down (seen under ASan, where the server is slower).
PAGE_STATE = """document.readyState === 'complete' && document.getElementById('rate-window') &&
JSON.stringify({
  polls: +(document.body.getAttribute('data-polls') || 0),
  rate_window: document.getElementById('rate-window').textContent,
  conc_title: document.getElementById('conc-title').textContent,
  limit_hidden: document.getElementById('conc-limit').hidden,
  sparks: ['spark-rate', 'spark-lag'].map(id => {
    const p = document.querySelector('#' + id + ' polyline');
    return p ? p.getAttribute('points') : ''; }),
  health: document.getElementById('health').textContent,
  values: Object.fromEntries([...document.querySelectorAll('[data-k]')].map(
    e => [e.getAttribute('data-k'), [e.textContent, e.getAttribute('data-v')]])),
  parts: Object.fromEntries([...document.querySelectorAll('#parts tr[data-partition]')].map(
    r => [r.getAttribute('data-partition'), r.children[2].getAttribute('data-v')])),
  dlq: Object.fromEntries([...document.querySelectorAll('#dlq tr[data-reason]')].map(
    r => [r.getAttribute('data-reason'), r.children[1].getAttribute('data-v')]))})"""

# Page key -> (metric, labels, scale) of the /metrics sample it shows.
SHOWN = {
    "written": ("rtetl_stream_records_total", {"stage": "written"}, 1),
    "consumed": ("rtetl_stream_records_total", {"stage": "consumed"}, 1),
    "filtered": ("rtetl_stream_records_total", {"stage": "filtered"}, 1),
    "dead_lettered": ("rtetl_stream_records_total", {"stage": "dead_lettered"}, 1),
    "lag": ("rtetl_stream_lag", {}, 1),
    "retries": ("rtetl_stream_write_retries_total", {}, 1),
    "write_errors": ("rtetl_stream_write_errors_total", {}, 1),
    "hosts_up": ("rtetl_cassandra_hosts_up", {}, 1),
    "inflight": ("rtetl_stream_inflight", {}, 1),
    "write_p50_ms": ("rtetl_stream_write_seconds", {"quantile": "0.5"}, 1000),
    "write_p99_ms": ("rtetl_stream_write_seconds", {"quantile": "0.99"}, 1000),
    "concurrency_limit": ("rtetl_stream_write_concurrency_limit", {}, 1),
}


def parse(text):
    """{(name, ((label, value), ...)): value} of a Prometheus text."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$', line)
        if m:
            labels = tuple(sorted((k, re.sub(r"\\(.)", unescape, v)) for k, v in re.findall(
                r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def unescape(m):
    return "\n" if m.group(1) == "n" else m.group(1)


def sample(snap, name, labels):
    return snap.get((name, tuple(sorted(labels.items()))))


def scrape(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def health_pill(base):
    """What the page's health pill should say for /healthz now."""
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
            return "healthy"
    except urllib.error.HTTPError as e:
        return "unhealthy: " + e.read().decode().strip()


class Scraper(threading.Thread):
    """Scrapes /metrics and /healthz every 0.1 s and keeps each distinct /metrics text, and each
    health state, with when it was first seen."""

    def __init__(self, base):
        super().__init__(daemon=True)
        self.base, self.snaps, self.healths = base, [], []
        self.stop, self.lock = threading.Event(), threading.Lock()

    def run(self):
        last = None
        while not self.stop.is_set():
            try:
                text, health = scrape(self.base + "/metrics"), health_pill(self.base)
            except OSError:
                text = health = None
            with self.lock:
                if text and text != last:
                    self.snaps.append((time.monotonic(), parse(text)))
                if health and (not self.healths or self.healths[-1][1] != health):
                    self.healths.append((time.monotonic(), health))
            last = text or last
            self.stop.wait(0.1)

    def health_since(self, t):
        """The health states seen since t, and the one current at t."""
        with self.lock:
            before = [h for ts, h in self.healths if ts < t][-1:]
            return before + [h for ts, h in self.healths if ts >= t]

    def since(self, t):
        with self.lock:
            return [s for ts, s in self.snaps if ts >= t]

    def latest(self):
        with self.lock:
            return self.snaps[-1][1] if self.snaps else {}

    def rate(self, name, labels, window):
        """Per second, from the texts first seen over the last `window` seconds."""
        with self.lock:
            recent = [(ts, s) for ts, s in self.snaps if ts >= self.snaps[-1][0] - window]
        (t0, s0), (t1, s1) = recent[0], recent[-1]
        return (sample(s1, name, labels) - sample(s0, name, labels)) / (t1 - t0) if t1 > t0 else 0


def differences(page, snap):
    """What the page shows that is not in /metrics text `snap` ([] when it shows exactly it)."""
    diffs = []
    for key, (name, labels, scale) in SHOWN.items():
        want = sample(snap, name, labels)
        got = page["values"].get(key, [None, None])[1]
        if want is None:
            if got:
                diffs.append(f"{key}: shown {got}, not in /metrics")
        elif got in (None, "") or abs(float(got) - want * scale) > 1e-9 * max(1, abs(want * scale)):
            diffs.append(f"{key}: shown {got}, /metrics {want * scale}")
    parts = {lbl["partition"]: v for (n, l), v in snap.items()
             if n == "rtetl_stream_partition_lag" for lbl in [dict(l)]}
    if {p: float(v) for p, v in page["parts"].items()} != parts:
        diffs.append(f"partition lags: shown {page['parts']}, /metrics {parts}")
    dlq = {dict(l)["reason"]: v for (n, l), v in snap.items() if n == "rtetl_stream_dead_letters_total"}
    if {r: float(v) for r, v in page["dlq"].items()} != dlq:
        diffs.append(f"dead letters: shown {page['dlq']}, /metrics {dlq}")
    return diffs


def check_matches(what, page, scraper, since):
    """The page equals one /metrics text the scraper saw since `since`; the nearest otherwise."""
    snaps = scraper.since(since)
    best = min((differences(page, s) for s in snaps), key=len, default=["no /metrics text seen"])
    check(f"{what}: every number shown equals one /metrics text of the last seconds", [], best)


def page_state(browser, min_polls=0):
    """What the page shows, once it polled /metrics at least min_polls times (else None)."""
    text = browser.evaluate(PAGE_STATE)
    state = json.loads(text) if text else None
    return state if state and state["polls"] >= min_polls else None


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", head[16:24])


def check_rate(page, scraper, since):
    """rows/s is the rows written between two /metrics texts the page polled (shown as "N in S
    s" under it) over those seconds, a window of at most 10 s."""
    shown = float(page["values"]["rows_per_s"][1] or 0)
    m = re.fullmatch(r"([\d,]+) in ([\d.]+) s", page["rate_window"])
    check_true("rows/s says over which rows and seconds", m is not None, page["rate_window"])
    if not m:
        return
    delta, secs = int(m.group(1).replace(",", "")), float(m.group(2))
    check_true("rows/s is above 0", shown > 0, f"shown {shown}")
    check_true("rows/s = rows / seconds of its window, at most 10 s",
               0 < secs <= 10.1 and abs(shown - delta / secs) <= 0.05 * shown,
               f"{shown}/s shown, {delta} rows in {secs} s")
    base = float(page["values"]["written"][1]) - delta
    seen = {sample(s, "rtetl_stream_records_total", {"stage": "written"})
            for s in scraper.since(since)}
    check_true("the window starts at a written count /metrics had", base in seen,
               f"{base} not in {sorted(v for v in seen if v is not None)}")


def browse(procs, base, scraper):
    browser_log = os.path.join(procs.tmp, "chromium.log")
    with chromium_cdp.Chromium(chromium_cdp.find(), browser_log, WIDTH, HEIGHT) as browser:
        log(f"chromium pid {browser.proc.pid}, log {browser_log}")
        live(procs, browser, base + "/", scraper)
        with StandIn(base) as stand_in:
            synthetic(browser, stand_in)


def live(procs, browser, url, scraper):
    browser.open(url)
    t0 = time.monotonic()
    a = wait_for("the page to poll /metrics 3 times", lambda: page_state(browser, 3),
                 timeout=60)
    check_matches("first look", a, scraper, t0 - 1)
    written = a["values"]["written"]
    check("written is shown as the counter, with thousands separators",
          f"{int(float(written[1])):,}", written[0])
    check("one lag row per partition", sorted(str(p) for p in range(PARTS)), sorted(a["parts"]))
    check("dead letters by reason: the malformed messages", {"malformed_json": "2"}, a["dlq"])
    check_true("the health pill says what /healthz said (healthy, or unhealthy and why)",
               a["health"] in scraper.health_since(t0 - 1),
               f"{a['health']!r} not in {scraper.health_since(t0 - 1)}")

    t1 = time.monotonic()
    b = wait_for("the written count shown to grow", lambda: (
        lambda s: s if s and float(s["values"]["written"][1]) > float(written[1]) else None)(
        page_state(browser, a["polls"] + 2)), timeout=60)
    check_matches("second look", b, scraper, t1 - 1)
    check_rate(b, scraper, t0 - 1)
    for name, points in zip(("rows/s", "lag"), b["sparks"]):
        check_true(f"the {name} sparkline has a point per poll so far, all numbers",
                   re.fullmatch(r"(\d+\.\d,\d+\.\d ?)+", points) is not None
                   and len(points.split()) >= 5, points)

    out = os.environ.get("RTETL_DASHBOARD_PNG") or os.path.join(
        os.environ.get("RTETL_BUILD") or procs.tmp, "dashboard.png")
    n = browser.screenshot(out)
    log(f"screenshot: {out} ({n} bytes)")
    check("the screenshot is a PNG of the window's size", (WIDTH, HEIGHT), png_size(out))


SYNTHETIC = r"""# HELP rtetl_stream_records_total Records by outcome.
# TYPE rtetl_stream_records_total counter
rtetl_stream_records_total{stage="consumed"} 5010
rtetl_stream_records_total{stage="written"} 5000
rtetl_stream_records_total{stage="filtered"} 4
rtetl_stream_records_total{stage="invalid"} 3
rtetl_stream_records_total{stage="dead_lettered"} 3
rtetl_stream_write_retries_total 17
rtetl_stream_write_errors_total 1
rtetl_stream_inflight 12
rtetl_stream_write_concurrency_limit 64
rtetl_stream_lag 9
rtetl_stream_partition_lag{topic="t.1",partition="0"} 7
rtetl_stream_partition_lag{topic="t.1",partition="1"} 2
rtetl_stream_partition_committed_offset{topic="t.1",partition="0"} 100
rtetl_stream_partition_committed_offset{topic="t.1",partition="1"} -1
rtetl_stream_dead_letters_total{reason="we\"ird\\reason"} 3
rtetl_cassandra_hosts_up 0
rtetl_stream_write_seconds{quantile="0.5"} 0.0015
rtetl_stream_write_seconds{quantile="0.99"} 0.25
rtetl_stream_write_seconds_sum 12.5
rtetl_stream_write_seconds_count 5000
"""


class StandIn:
    """A metrics server on 127.0.0.1 serving the dashboard's files as rtetl serves them and a
    /metrics text and /healthz answer the test sets."""

    def __init__(self, base):
        self.files = {}
        for path in ("/", "/dashboard.js", "/dashboard.css"):
            with urllib.request.urlopen(base + path, timeout=5) as r:
                self.files[path] = (r.headers["Content-Type"], r.read())
        self.metrics, self.health = SYNTHETIC, (503, "no Cassandra host is up: refused\n")
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server name
                path = self.path.split("?")[0]
                if path in stand_in.files:
                    status, (ctype, body) = 200, stand_in.files[path]
                elif path == "/metrics":
                    status, ctype, body = 200, "text/plain", stand_in.metrics.encode()
                elif path == "/healthz":
                    status, ctype, body = stand_in.health[0], "text/plain", stand_in.health[1].encode()
                else:
                    status, ctype, body = 404, "text/plain", b"not found\n"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        return False


def synthetic(browser, stand_in):
    browser.open(stand_in.url)
    page = wait_for("the page to poll the stand-in twice", lambda: page_state(browser, 2),
                    timeout=60)
    check("stand-in: every number shown equals its /metrics text", [],
          differences(page, parse(SYNTHETIC)))
    check("stand-in: the concurrency limit is shown next to in flight",
          (False, "In flight / concurrency limit", "64"),
          (page["limit_hidden"], page["conc_title"], page["values"]["concurrency_limit"][0]))
    check("stand-in: a reason with an escaped quote and backslash arrives intact",
          {'we"ird\\reason': "3"}, page["dlq"])
    check("stand-in: /healthz 503 shows its reason", "unhealthy: no Cassandra host is up: refused",
          page["health"])
    stand_in.metrics = SYNTHETIC.replace('stage="written"} 5000', 'stage="written"} 100')
    page = wait_for("the page to show the restarted counter", lambda: (
        lambda s: s if s and s["values"]["written"][1] == "100" else None)(page_state(browser)),
        timeout=30)
    check("stand-in: after a counter went back, rows/s restarts (no negative rate)",
          ["-", ""], page["values"]["rows_per_s"])


def main():
    topic, keyspace, group = unique("dash"), unique("ks_dash"), unique("g_dash")
    create_topic(topic, PARTS)
    try:
        produce(topic, [b"not json", b"{"])
        with Procs() as procs:
            run(procs, topic, keyspace, group)
    finally:
        drop_keyspace(keyspace)
        for t in (topic, topic + ".dlq"):
            subprocess.run([os.path.join(SRC, "scripts", "stack"), "topics", "--delete",
                            "--if-exists", "--topic", t], capture_output=True, timeout=120)


def run(procs, topic, keyspace, group):
    procs.start("ingest", [BIN, "ingest", "--topic", topic, "--brokers", BROKERS, "--rate",
                           f"{RATE}/s", "--duration", "300s", "--progress-interval", "0"])
    stream = procs.start("stream", [
        BIN, "stream", "--mode", "initial", "--topic", topic, "--group", group, "--keyspace",
        keyspace, "--brokers", BROKERS, "--metrics-port", "0", "--status-interval", "1s"])
    m = wait_for("the stream's metrics address", lambda: re.search(
        r'msg="serving metrics" addr=127\.0\.0\.1:(\d+)', procs.output(stream))
        or stream.poll() is not None, timeout=120)
    check_true("rtetl stream serves metrics", m is not True, procs.output(stream)[-2000:])
    if m is True:
        return
    base = f"http://127.0.0.1:{m.group(1)}"
    scraper = Scraper(base)
    scraper.start()
    try:
        wait_for("rows written and the dead letters counted", lambda: (
            lambda s: (sample(s, "rtetl_stream_records_total", {"stage": "written"}) or 0) > 0
            and sample(s, "rtetl_stream_dead_letters_total", {"reason": "malformed_json"})
            == 2)(scraper.latest()), timeout=120)
        browse(procs, base, scraper)
    finally:
        scraper.stop.set()
        scraper.join()
    check("rtetl stream stops with 0 on SIGTERM", 0, procs.stop(stream, signal.SIGTERM))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        check("the test ran to its end", None, repr(e))
    finish()
