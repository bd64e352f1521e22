"""Runs the C driver's session scenarios and checks their effects with the Python driver."""
import os

from cql_testlib import check, driver, keyspace, python_session, run


def main():
    s = python_session()
    ks = keyspace(s, "cqlclient")
    rc, _ = driver("paging", ks, "12000")
    check("paging exit", 0, rc)
    check("rows seen by python", 12000 + 20, s.execute(f"SELECT count(*) FROM {ks}.rows").one()[0])
    rc, _ = driver("reprepare", ks)
    check("reprepare exit", 0, rc)
    check("reprepared value", "after", s.execute(f"SELECT v FROM {ks}.rp WHERE k = 1").one().v)
    rc, _ = driver("alter", ks)
    check("alter exit", 0, rc)
    ks2 = keyspace(s, "cqlclient2")
    rc, _ = driver("use", ks, ks2)
    check("use exit", 0, rc)
    rc, _ = driver("events", ks)
    check("events exit", 0, rc)
    for lz4 in (False, True):
        env_name = "CQL_DRIVER_LZ4"
        if lz4:
            os.environ[env_name] = "1"
        rc, out = driver("bench", ks, "20000")
        os.environ.pop(env_name, None)
        check(f"bench exit lz4={lz4}", 0, rc)
    check("bench rows", 20000, s.execute(f"SELECT count(*) FROM {ks}.bench").one()[0])


run(main)
