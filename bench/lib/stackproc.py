"""The local stack's server processes, read from /proc: shared by bench/run (bench/lib/bench.py)
and bench/cql/run (bench/cql/bench.py), so both find the node and the broker the same way.

A server is found by its pid file in the stack directory (scripts/stack writes them) and taken
only while its command line still names that directory, as scripts/stack itself checks, so a
recycled pid is never measured. Standard library only: bench/cql/run's Python has no psutil."""

import os

ROOT = os.environ.get("BENCH_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
CLK = os.sysconf("SC_CLK_TCK")


def stack_dir(env):
    """The stack directory: `scripts/stack env`'s STACK_DIR, else RTETL_STACK_DIR, else .stack."""
    return env.get("STACK_DIR") or os.environ.get("RTETL_STACK_DIR") or os.path.join(ROOT, ".stack")


def proc_cpu(pid):
    """utime+stime of pid in seconds (OSError when it is gone)."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLK


def server_pid(state, name):
    """The pid of the stack's server `name` (cassandra, kafka), or None."""
    try:
        with open(os.path.join(state, name + ".pid")) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return pid if state.encode() in f.read() else None
    except (OSError, ValueError):
        return None


def server_pids(env):
    """{"node": pid, "broker": pid} of the stack's first Cassandra node and Kafka broker, for
    those that are running."""
    state = stack_dir(env)
    pids = {key: server_pid(state, name) for key, name in (("node", "cassandra"), ("broker", "kafka"))}
    return {k: p for k, p in pids.items() if p is not None}


def servers_cpu(pids):
    """{key: utime+stime seconds} of the server processes that are still there."""
    out = {}
    for key, pid in pids.items():
        try:
            out[key] = proc_cpu(pid)
        except (OSError, IndexError, ValueError):
            pass
    return out
