"""Helpers shared by the cluster tier's Python tests (tests/cluster/*.py)."""
import os
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


def cleanup(cluster, session, ks, topic):
    """Drops the test's keyspace and deletes its topic (and its dead-letter topic), then shuts
    the driver down; a failure is logged, never raised (it must not hide the test's result)."""
    try:
        session.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=120)
    except Exception as e:
        tl.log(f"note: could not drop {ks}: {e}")
    cluster.shutdown()
    try:
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": tl.BROKERS})
        for f in admin.delete_topics([topic, topic + ".dlq"]).values():
            f.result(60)
    except Exception as e:
        tl.log(f"note: could not delete topic {topic}: {e}")
