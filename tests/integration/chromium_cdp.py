"""Headless Chromium driven over the DevTools protocol on a pipe, for page tests.

--remote-debugging-pipe makes Chromium read protocol commands from fd 3 and write answers and
events to fd 4, as JSON messages ending in a NUL byte: no port to pick, no websocket client to
write, nothing reachable from outside. Chromium runs in its own session (process group) so the
browser and its helper processes are stopped together, by that group's id, even when a test
fails (and with the test process, should that be killed); its profile lives in a temporary --user-data-dir removed afterwards.
"""
import base64
import ctypes
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--no-default-browser-check", "--disable-extensions",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe"]


def _die_with_parent():
    """In the child before exec: SIGKILL when the test process dies, even by SIGKILL (Linux
    PR_SET_PDEATHSIG), so no browser outlives a test that was killed."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def find():
    """The chromium executable, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    """One headless browser (use as a context manager). open() loads a page in a new tab."""

    def __init__(self, exe, log_path, width=1280, height=900, timeout=30.0):
        self.timeout, self.width, self.height = timeout, width, height
        self.profile = tempfile.mkdtemp(prefix="rtetl-chromium-")
        # The browser's ends of the two pipes, moved above the low fds so that placing them on
        # 3 and 4 in the child cannot overwrite one with the other.
        cmd_r, self.cmd_w = os.pipe()
        self.out_r, out_w = os.pipe()
        hi_r, hi_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (cmd_r, out_w))
        os.close(cmd_r)
        os.close(out_w)
        args = [exe, *FLAGS, f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}", "about:blank"]
        self.log = open(log_path, "wb")
        # bash puts the pipe ends on fds 3 and 4 and then becomes chromium (same PID).
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{hi_r} 4>&{hi_w} {hi_r}<&- {hi_w}>&-', "bash", *args],
            pass_fds=(hi_r, hi_w), stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)
        os.close(hi_r)
        os.close(hi_w)
        self.buf, self.next_id, self.session = b"", 0, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        """Asks the browser to exit, then kills its process group; removes the profile."""
        if self.proc.poll() is None:
            try:
                self.call("Browser.close", timeout=5)
                self.proc.wait(10)
            except Exception:  # noqa: BLE001 - a hung browser is killed below
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        for fd in (self.cmd_w, self.out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium: no answer on the DevTools pipe")
            if not select.select([self.out_r], [], [], left)[0]:
                continue
            chunk = os.read(self.out_r, 1 << 20)
            if not chunk:
                raise RuntimeError(f"chromium exited (status {self.proc.poll()})")
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, params=None, session=True, timeout=None):
        """Sends one command (to the page's session once open() attached one, unless
        session=False) and returns its result; events in between are dropped."""
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            m = self._message(deadline)
            if m.get("id") != self.next_id:
                continue
            if "error" in m:
                raise RuntimeError(f"chromium: {method}: {m['error']}")
            return m["result"]

    def open(self, url):
        """Opens url in a new tab of the window's size and attaches to it; later calls go to
        that page."""
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        self.session = self.call("Target.attachToTarget", {"targetId": target["targetId"],
                                                           "flatten": True},
                                 session=False)["sessionId"]
        self.call("Emulation.setDeviceMetricsOverride", {
            "width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression):
        """The value of a JavaScript expression in the page (JSON-serialisable)."""
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"chromium: {expression[:60]}...: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path):
        """Saves the visible page as PNG; returns its size in bytes."""
        data = base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"])
        with open(path, "wb") as f:
            f.write(data)
        return len(data)
