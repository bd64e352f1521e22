"""rtetl cql: statements via -e, -f and stdin; cqlsh-like table, JSON lines and CSV; exit codes."""
import json
import os
import tempfile

from cql_testlib import check, check_true, keyspace, python_session, rtetl, run


def main():
    s = python_session()
    ks = keyspace(s, "cqlshell")

    rc, out, err = rtetl("cql", "-k", ks, "-e",
                         "CREATE TABLE t (k int PRIMARY KEY, name text, score double, tags set<text>);"
                         "INSERT INTO t (k, name, score, tags) VALUES (1, 'ann', 2.5, {'a', 'b'});"
                         "INSERT INTO t (k, name) VALUES (20, 'bob; ''the'' builder')")
    check("ddl+insert exit", 0, rc)
    check("ddl+insert stderr", b"", err)

    rc, out, err = rtetl("cql", "-k", ks, "-e", "SELECT k, name, score, tags FROM t WHERE k IN (1, 20)")
    check("select exit", 0, rc)
    want = (" k  | name               | score | tags\n"
            "----+--------------------+-------+------------\n"
            "  1 | ann                |   2.5 | {'a', 'b'}\n"
            " 20 | bob; 'the' builder |  null | null\n"
            "\n(2 rows)\n")
    check("table output", want, out.decode())

    rc, out, _ = rtetl("cql", "-k", ks, "--format", "json", "-e", "SELECT k, name, score FROM t WHERE k IN (1, 20)")
    rows = [json.loads(line) for line in out.decode().splitlines()]
    check("json rows", [{"k": 1, "name": "ann", "score": 2.5}, {"k": 20, "name": "bob; 'the' builder", "score": None}], rows)

    rc, out, _ = rtetl("cql", "-k", ks, "--format", "csv", "-e", "SELECT k, name FROM t WHERE k IN (1, 20)")
    check("csv", "k,name\n1,ann\n20,bob; 'the' builder\n", out.decode())

    with tempfile.NamedTemporaryFile("w", suffix=".cql", delete=False) as f:
        f.write("-- a comment; with a semicolon\nINSERT INTO t (k, name) VALUES (3, 'x;y');\n"
                "/* block; comment */ INSERT INTO t (k, name)\n VALUES (4, $$dollar;quoted$$);\n"
                "SELECT name FROM t WHERE k = 4;\n")
    rc, out, err = rtetl("cql", "-k", ks, "-f", f.name)
    os.unlink(f.name)
    check("-f exit", 0, rc)
    check_true("-f output", b"dollar;quoted" in out and b"(1 rows)" in out, out)
    check("-f row 3", "x;y", s.execute(f"SELECT name FROM {ks}.t WHERE k = 3").one().name)

    rc, out, err = rtetl("cql", "-k", ks, stdin=b"SELECT count(*)\nFROM t;\nSELECT k FROM t WHERE k = 1")
    check("stdin exit", 0, rc)
    check_true("stdin count", b"4" in out and out.count(b"rows)") == 2, out)

    rc, out, err = rtetl("cql", "-k", ks, "-e", "SELECT nope FROM t")
    check("server error exit", 1, rc)
    lines = err.decode().strip().splitlines()
    check("error is one line", 1, len(lines))
    check_true("error names the column", "nope" in err.decode(), err)

    rc, _, err = rtetl("cql", "--format", "xml", "-e", "SELECT 1")
    check("bad format exit", 2, rc)
    rc, _, err = rtetl("cql", "--consistency", "most", "-e", "SELECT 1")
    check("bad consistency exit", 2, rc)
    rc, _, err = rtetl("cql", "--port", "1", "--connect-timeout", "2s", "-e", "SELECT 1")
    check("unreachable exit", 1, rc)
    check_true("unreachable message", b"refused" in err or b"connect" in err, err)


run(main)
