"""Helpers shared by the cluster tier's Python tests (tests/cluster/*.py)."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
import rtetl_testlib as tl  # noqa: E402


def create_table(cluster, session, ks, table):
    """Creates ks.table with the reference pipeline's columns (id text key, 11 text columns) and
    waits for schema agreement (the routing test's tables: it counts each node's writes from
    before the stream starts). kafka_failover leaves its table to rtetl stream's
    create_if_missing, which waits for schema agreement after its DDL."""
    cols = ", ".join(f"{c} text" for c in tl.FIELDS if c != "id")
    session.execute(f"CREATE TABLE {ks}.{table} (id text PRIMARY KEY, {cols})")
    tl.wait_for("schema agreement", lambda: cluster.control_connection.wait_for_schema_agreement(),
                timeout=60)


class Nodes:
    """One driver session on the nodes `hosts`; each virtual-table query is pinned to one node."""

    def __init__(self, hosts):
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
        from cassandra.policies import RoundRobinPolicy
        # "rr" (round-robin, not token-aware) is the routing control's; the default is token-aware.
        self.cluster = Cluster(hosts, port=tl.CQL_PORT, connect_timeout=20, execution_profiles={
            EXEC_PROFILE_DEFAULT: ExecutionProfile(request_timeout=60),
            "rr": ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=60)})
        self.s = self.cluster.connect()
        self.wait_all_up(len(hosts))
        self.hosts = {h.address: h for h in self.cluster.metadata.all_hosts()}

    def wait_all_up(self, n, timeout=60):
        tl.wait_for(f"the driver to see {n} nodes up", lambda: len(
            [h for h in self.cluster.metadata.all_hosts() if h.is_up]) == n, timeout=timeout)

    def on(self, addr, q, *params):
        return list(self.s.execute(q, params or None, host=self.hosts[addr]))

    def table_count(self, addr, vt, ks, table):
        """The count of system_views.<vt> (e.g. coordinator_write_latency) for ks.table on one
        node: since that node started (the virtual tables are in memory)."""
        rows = self.on(addr, f"SELECT count FROM system_views.{vt} "
                             "WHERE keyspace_name = %s AND table_name = %s", ks, table)
        return rows[0].count if rows else 0

    def sent(self, addr):
        return sum(r.sent_count for r in self.on(addr, "SELECT sent_count FROM system_views.internode_outbound"))


def kill_node(state, name):
    """kill -9 of stack node `name` (kafka2, cassandra1, ...) by the PID file scripts/stack keeps
    in its state dir, once /proc says the PID is that node of this state dir; returns the PID
    when the process is gone."""
    with open(os.path.join(state, f"{name}.pid")) as f:
        pid = int(f.read().strip())
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f"{state}/{name}/conf/".encode() in f.read(), f"the PID file names our {name}"
    os.kill(pid, signal.SIGKILL)

    def gone():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return f.read() == b""  # a zombie until scripts/stack's parent reaps it
        except FileNotFoundError:
            return True
    tl.wait_for(f"{name} (pid {pid}) to be gone", gone, timeout=30)
    return pid


def cleanup(cluster, session, ks, topic, more_topics=()):
    """Drops the test's keyspace and deletes its topic (and its dead-letter topic, and
    more_topics), then shuts the driver down; a failure is logged, never raised (it must not
    hide the test's result)."""
    try:
        session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=120)
    except Exception as e:
        tl.log(f"note: could not drop {ks}: {e}")
    cluster.shutdown()
    try:
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": tl.BROKERS})
        have = admin.list_topics(timeout=30).topics
        gone = [t for t in (topic, topic + ".dlq", *more_topics) if t in have]
        for f in (admin.delete_topics(gone).values() if gone else ()):
            f.result(60)
    except Exception as e:
        tl.log(f"note: could not delete topic {topic}: {e}")
