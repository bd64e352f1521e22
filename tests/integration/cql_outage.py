"""Runs the C driver's outage scenario and checks acknowledged writes with the Python driver.
The Python driver's own connections are cut by the outage too, so the check uses a new session
opened (with a deadline) after the native transport is back."""
import re
import subprocess
import time
import uuid

from cql_testlib import SRC, _cleanups, check, check_true, driver, python_session, run


def fresh_session(deadline_s=90):
    end = time.time() + deadline_s
    while True:
        try:
            return python_session()
        except Exception:
            if time.time() > end:
                raise
            time.sleep(1)


def main():
    ks = f"cqloutage_{uuid.uuid4().hex[:10]}"
    s = python_session()
    s.execute(f"CREATE KEYSPACE {ks} WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    try:
        rc, out = driver("outage", ks, timeout=600)
    finally:
        # Never leave the shared stack without its native transport.
        subprocess.run([f"{SRC}/scripts/stack", "nodetool", "enablebinary"], capture_output=True)
    s2 = fresh_session()
    _cleanups.append(lambda: s2.execute(f"DROP KEYSPACE IF EXISTS {ks}", timeout=120))
    check("outage exit", 0, rc)
    m = re.search(r"acknowledged (\d+)", out)
    check_true("driver reported", m, out[-500:])
    if m:
        rows = s2.execute(f"SELECT count(*) FROM {ks}.outage", timeout=60).one()[0]
        check_true("every acknowledged write is stored", rows >= int(m.group(1)),
                   f"rows {rows} < acknowledged {m.group(1)}")


run(main)
