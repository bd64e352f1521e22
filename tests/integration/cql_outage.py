"""Runs the C driver's outage scenario and checks acknowledged writes with the Python driver."""
import re
import subprocess

from cql_testlib import SRC, check, check_true, driver, keyspace, python_session, run


def main():
    s = python_session()
    ks = keyspace(s, "cqloutage")
    try:
        rc, out = driver("outage", ks, timeout=600)
    finally:
        # Never leave the shared stack without its native transport.
        subprocess.run([f"{SRC}/scripts/stack", "nodetool", "enablebinary"], capture_output=True)
    check("outage exit", 0, rc)
    m = re.search(r"acknowledged (\d+)", out)
    check_true("driver reported", m, out[-500:])
    if m:
        rows = s.execute(f"SELECT count(*) FROM {ks}.outage", timeout=60).one()[0]
        check_true("every acknowledged write is stored", rows >= int(m.group(1)),
                   f"rows {rows} < acknowledged {m.group(1)}")


run(main)
