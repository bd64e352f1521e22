"""Measurement mechanics of bench/run: process-tree sampling, contender processes, table checks.

DESIGN. A contender is one command started in its own session (so its whole process tree, JVM
and Python workers included, can be found and stopped by its process-group id). A sampler
thread walks that tree every SAMPLE_S seconds through /proc (psutil) and records
  - CPU seconds: the sum over live processes of utime+stime plus their reaped children's
    (cutime+cstime), so a child that exited is still counted; the value at the moment the
    contender is declared done is the figure reported (shutdown is not charged);
  - RSS: the sum over the tree at each sample; the peak is the maximum of those sums, or the
    root's VmHWM when larger (exact for a one-process contender such as rtetl).
When the contender exits by itself (rtetl with --max-records), os.wait4's rusage gives the exact
CPU time of the root and all reaped descendants, so nothing between samples is lost (its
ru_maxrss is not used: it includes the forked harness image from before the exec).
"Done" comes from the contender's own cheap signal (its exit, or the Spark progress file that
the micro-batch end writes) and is then checked against the table with a paged count using the
Python cassandra-driver. The first written row is found by polling `SELECT id ... LIMIT 1`.
"""

import os
import signal
import subprocess
import threading
import time

import psutil

SAMPLE_S = 0.2


def tree_sample(root):
    """(cpu_seconds, rss_bytes) summed over root and its descendants; None once root is gone."""
    try:
        procs = [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return None
    cpu = 0.0
    rss = 0
    for p in procs:
        try:
            with p.oneshot():
                t = p.cpu_times()
                cpu += t.user + t.system + t.children_user + t.children_system
                rss += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            pass
    return cpu, rss


def root_hwm(pid):
    """VmHWM (the kernel's peak RSS of the process since its exec) in bytes, 0 if unknown. For a
    one-process contender (rtetl) this is its exact peak, between samples included."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.cpu = 0.0
        self.peak_rss = 0
        self.series = []  # (t, cpu, rss)
        self._stop = threading.Event()
        self.lock = threading.Lock()

    def sample(self):
        s = tree_sample(self.root)
        if s is None:
            return None
        hwm = root_hwm(self.root.pid)
        with self.lock:
            self.cpu = max(self.cpu, s[0])
            self.peak_rss = max(self.peak_rss, s[1], hwm)
            self.series.append((time.time(), s[0], s[1]))
        return s

    def run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(SAMPLE_S)

    def stop(self):
        self._stop.set()


class Contender:
    """One started command: log file, sampler, stop, exit status with rusage."""

    live = set()  # started and not stopped yet: stop_all() ends them when the harness is stopped

    @classmethod
    def stop_all(cls):
        for c in list(cls.live):
            c.stop(timeout=10.0)

    def __init__(self, name, cmd, log_path, env=None, cwd=None):
        self.name = name
        self.cmd = cmd
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.t0 = time.time()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                                     start_new_session=True)
        self.pgid = self.proc.pid
        Contender.live.add(self)
        self.sampler = Sampler(self.proc.pid)
        self.sampler.start()
        self.exit_code = None
        self.t_exit = None
        self.rusage = None

    def poll(self):
        """True once the process has exited (reaped here with wait4, keeping its rusage)."""
        if self.exit_code is not None:
            return True
        pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
        if pid == 0:
            return False
        self.t_exit = time.time()
        self.exit_code = os.waitstatus_to_exitcode(status)
        self.proc.returncode = self.exit_code
        self.rusage = ru
        return True

    def snapshot(self):
        """A sample now; returns (cpu_seconds, peak_rss_bytes) so far."""
        self.sampler.sample()
        return self.sampler.cpu, self.sampler.peak_rss

    def figures(self):
        cpu, rss = self.sampler.cpu, self.sampler.peak_rss
        if self.rusage is not None:
            # Not ru_maxrss: it counts the forked harness image from before the exec.
            cpu = max(cpu, self.rusage.ru_utime + self.rusage.ru_stime)
        return cpu, rss

    def stop(self, timeout=30.0):
        """SIGTERM to the contender's process group, SIGKILL after timeout; reaps the root."""
        self.sampler.stop()
        if not self.poll():
            self._signal(signal.SIGTERM)
            deadline = time.time() + timeout
            while time.time() < deadline and not self.poll():
                time.sleep(0.1)
            if not self.poll():
                self._signal(signal.SIGKILL)
                while not self.poll():
                    time.sleep(0.1)
        # Whatever of the group is still around (a JVM slow to follow its parent) goes too.
        self._signal(signal.SIGTERM)
        deadline = time.time() + timeout
        while time.time() < deadline and self._group_alive():
            time.sleep(0.2)
        if self._group_alive():
            self._signal(signal.SIGKILL)
        self.log.close()
        Contender.live.discard(self)

    def _signal(self, sig):
        try:
            os.killpg(self.pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _group_alive(self):
        try:
            os.killpg(self.pgid, 0)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class FirstRowWatcher(threading.Thread):
    """Polls `SELECT id FROM ks.table LIMIT 1` until a row appears; records when."""

    def __init__(self, session, keyspace, table, interval=0.1):
        super().__init__(daemon=True)
        self.session = session
        self.query = 'SELECT id FROM "%s"."%s" LIMIT 1' % (keyspace, table)
        self.interval = interval
        self.t_first = None
        self._stop = threading.Event()

    def run(self):
        while not self._stop.is_set():
            try:
                if self.session.execute(self.query, timeout=5).one() is not None:
                    self.t_first = time.time()
                    return
            except Exception:  # noqa: BLE001 - a busy server may time out; keep polling
                pass
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()


def count_rows(session, keyspace, table, tries=3):
    """Rows in the table, counted by paging through the ids (5,000 a page) rather than with one
    count(*): on a busy server one count(*) over a million rows exceeds Cassandra's range-read
    timeout, while each page stays well within it."""
    from cassandra.query import SimpleStatement

    q = SimpleStatement('SELECT id FROM "%s"."%s"' % (keyspace, table), fetch_size=5000)
    for attempt in range(tries):
        try:
            n = 0
            for _ in session.execute(q, timeout=120):
                n += 1
            return n
        except Exception:  # noqa: BLE001
            if attempt == tries - 1:
                raise
            time.sleep(5)
