"""bench/run's report: the results Markdown, the raw JSON, the PNG chart and the ratio lines."""

import datetime
import json
import os

TARGETS = [
    # (figure, how rtetl/Spark must compare, bound, explanation)
    ("throughput", ">=", 10.0, "rows/s, rtetl / Spark connector"),
    ("cpu_per_row", "<=", 1 / 20, "CPU seconds per record, rtetl / Spark connector"),
    ("peak_rss", "<=", 1 / 30, "peak RSS, rtetl / Spark connector"),
    ("p99_latency", "<=", 1 / 20, "p99 end-to-end latency at the fixed rate, rtetl / Spark connector"),
    ("cassandra_ceiling", ">=", 0.9,
     "rows/s, rtetl / the best client ceiling (the fastest of cql-ceiling, cql-ceiling-batched, "
     "latte)"),
    ("throughput_vs_tuned", ">=", 10.0, "rows/s, rtetl / Spark connector tuned"),
    ("cpu_per_row_vs_tuned", "<=", 1 / 20, "CPU seconds per record, rtetl / Spark connector tuned"),
    ("peak_rss_vs_tuned", "<=", 1 / 30, "peak RSS, rtetl / Spark connector tuned"),
    ("kafka_write_timestamps", ">=", 0.95,
     "rows/s, rtetl / rtetl --write-timestamp server (the cost of Kafka-ordered upserts)"),
]


CLIENT_CEILINGS = ("cql-ceiling", "cql-ceiling-batched", "latte")


def _tp(results, name):
    return next((t for t in results["throughput"] if t["contender"] == name), None)


def _ok(t):
    return bool(t) and t.get("status") in ("ok", "unverified")


def best_ceiling(results):
    """The fastest client ceiling of the run (no Kafka in its path: cql-ceiling,
    cql-ceiling-batched, latte) that completed, or None."""
    done = [t for t in (_tp(results, n) for n in CLIENT_CEILINGS) if _ok(t) and t.get("rows_per_s")]
    return max(done, key=lambda t: t["rows_per_s"]) if done else None


def _after_first(t):
    return t.get("rows_per_s_after_first_row") or t.get("rows_per_s")


def _lat(results, name, rate):
    return next((l for l in results["latency"]
                 if l["contender"] == name and l["rate"] == rate and l.get("status") == "ok"), None)


def _q(l, q):
    if not l:
        return None
    return l.get("quantiles_ms", {}).get(str(float(q)))


def ratios(results):
    """{figure: (rtetl value, other value, ratio rtetl/other)} for the figures both sides have."""
    out = {}
    rt, sp = _tp(results, "rtetl"), _tp(results, "spark-connector")
    ok = _ok

    def put(key, a, b):
        if a is not None and b:
            out[key] = (a, b, a / b)

    if ok(rt) and ok(sp):
        put("throughput", rt.get("rows_per_s"), sp.get("rows_per_s"))
        put("cpu_per_row", rt.get("cpu_us_per_row"), sp.get("cpu_us_per_row"))
        put("peak_rss", rt.get("peak_rss_mib"), sp.get("peak_rss_mib"))
        put("first_row", rt.get("first_row_s"), sp.get("first_row_s"))
    rate = results.get("spark_latency_rate", 1000)
    lr, ls = _lat(results, "rtetl", rate), _lat(results, "spark-connector", rate)
    for q, key in ((0.5, "p50_latency"), (0.95, "p95_latency"), (0.99, "p99_latency")):
        put(key, _q(lr, q), _q(ls, q))
    # Like with like: the client ceilings time their inserts after connecting and preparing,
    # so rtetl's rate is taken from its first written row on.
    best = best_ceiling(results)
    if ok(rt) and best:
        put("cassandra_ceiling", _after_first(rt), best.get("rows_per_s"))
    for name in CLIENT_CEILINGS:
        c = _tp(results, name)
        if ok(rt) and ok(c):
            put("vs_" + name, _after_first(rt), c.get("rows_per_s"))
    tuned = _tp(results, "spark-connector-tuned")
    if ok(rt) and ok(tuned):
        put("throughput_vs_tuned", rt.get("rows_per_s"), tuned.get("rows_per_s"))
        put("cpu_per_row_vs_tuned", rt.get("cpu_us_per_row"), tuned.get("cpu_us_per_row"))
        put("peak_rss_vs_tuned", rt.get("peak_rss_mib"), tuned.get("peak_rss_mib"))
    if ok(sp) and ok(tuned):
        put("spark_tuning", tuned.get("rows_per_s"), sp.get("rows_per_s"))
    unb = _tp(results, "rtetl-unbatched")
    if ok(rt) and ok(unb):
        # Batching on (rtetl's default) over off (--batch-rows 0), both from their first row.
        put("batching", _after_first(rt), _after_first(unb))
    ref = _tp(results, "spark-reference")
    if ok(rt) and ref and ref.get("rows_per_s") and ref.get("status") in ("ok", "timeout"):
        put("throughput_vs_reference", rt.get("rows_per_s"), ref.get("rows_per_s"))
        put("cpu_per_row_vs_reference", rt.get("cpu_us_per_row"), ref.get("cpu_us_per_row"))
        put("peak_rss_vs_reference", rt.get("peak_rss_mib"), ref.get("peak_rss_mib"))
    srv = _tp(results, "rtetl-server-wts")
    if ok(rt) and ok(srv):
        # What the Kafka-derived write timestamps cost: rtetl (default) over rtetl with
        # --write-timestamp server, both from their first written row.
        put("kafka_write_timestamps", rt.get("rows_per_s_after_first_row") or rt.get("rows_per_s"),
            srv.get("rows_per_s_after_first_row") or srv.get("rows_per_s"))
    null = _tp(results, "rtetl-null")
    if ok(rt) and ok(null):
        put("kafka_ceiling", rt.get("rows_per_s"), null.get("rows_per_s"))
    return out


def verdict(key, ratio):
    for k, op, bound, _ in TARGETS:
        if k == key:
            met = ratio >= bound if op == ">=" else ratio <= bound
            return "%s %s: %s" % (op, _fmt_ratio(bound), "met" if met else "NOT met")
    return ""


def _fmt_ratio(x):
    if x is None:
        return "n/a"
    if x >= 0.2 or x == 0:
        return "%.2f" % x
    return "%.4f (1/%.1f)" % (x, 1 / x)


def ratio_lines(results):
    r = ratios(results)
    lines = ["bench: ratios rtetl/other (same run):"]
    best = best_ceiling(results)
    labels = {
        "throughput": "throughput rows/s vs Spark connector",
        "cpu_per_row": "CPU per record vs Spark connector",
        "peak_rss": "peak RSS vs Spark connector",
        "first_row": "time to first row vs Spark connector",
        "p50_latency": "p50 latency vs Spark connector",
        "p95_latency": "p95 latency vs Spark connector",
        "p99_latency": "p99 latency vs Spark connector",
        "cassandra_ceiling": "throughput (after 1st row) vs best client ceiling",
        "batching": "throughput (after 1st row), batching on vs off",
        "throughput_vs_tuned": "throughput rows/s vs Spark connector tuned",
        "cpu_per_row_vs_tuned": "CPU per record vs Spark connector tuned",
        "peak_rss_vs_tuned": "peak RSS vs Spark connector tuned",
        "spark_tuning": "(Spark connector tuned / default, throughput)",
        "kafka_ceiling": "throughput vs Kafka ceiling (rtetl null sink)",
        "kafka_write_timestamps": "throughput (after 1st row), Kafka-derived vs server write times",
        "throughput_vs_reference": "throughput vs Spark reference style",
        "cpu_per_row_vs_reference": "CPU per record vs Spark reference style",
        "peak_rss_vs_reference": "peak RSS vs Spark reference style",
    }
    # Under the best-ceiling line: rtetl against each client ceiling measured, the best marked.
    pos = list(labels).index("cassandra_ceiling") + 1
    items = list(labels.items())
    items[pos:pos] = [("vs_" + n, "  ... vs %s%s" % (n, " (the best)" if best and
                                                   best["contender"] == n else ""))
                      for n in CLIENT_CEILINGS]
    for k, label in items:
        if k in r:
            a, b, x = r[k]
            v = verdict(k, x)
            lines.append("  %-50s %s%s" % (label, _fmt_ratio(x), ("   target " + v) if v else ""))
        elif not label.startswith("  ..."):  # the per-ceiling details only when measured
            lines.append("  %-50s n/a (not measured in this run)" % label)
    return lines


def _n(x, fmt="%.0f"):
    return "—" if x is None else fmt % x


def markdown(results, chart_name):
    v, m = results["versions"], results["machine"]
    L = []
    L.append("# rtetl vs Spark — %s on %s" % (results["finished"][:10], m["host"]))
    L.append("")
    L.append("Command: `%s` (run id %s, %d records pre-loaded into a 4-partition topic with "
             "`rtetl ingest --source builtin --seed 42`)." % (
                 results["command"], results["run_id"], results["records"]))
    if results.get("quick"):
        L.append("")
        L.append("**Quick mode** (harness smoke check): small N, the reference-style Spark "
                 "baseline not run, short latency runs. The figures are not a benchmark.")
    L.append("")
    L.append("## Throughput (from the earliest offset into an empty table)")
    L.append("")
    L.append("| contender | status | rows in table | wall s | rows/s | rows/s after 1st row | "
             "CPU s | CPU µs/row | CPU µs/row after 1st row | peak RSS MiB | 1st row s |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for t in results["throughput"]:
        rows = t.get("rows_in_table", t.get("rows_consumed"))
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            t["contender"], t.get("status"), _n(rows, "%d"), _n(t.get("wall_s"), "%.1f"),
            _n(t.get("rows_per_s")), _n(t.get("rows_per_s_after_first_row")),
            _n(t.get("cpu_s"), "%.2f"), _n(t.get("cpu_us_per_row"), "%.1f"),
            _n(t.get("cpu_us_per_row_after_first_row"), "%.1f"),
            _n(t.get("peak_rss_mib")), _n(t.get("first_row_s"), "%.2f")))
    L.append("")
    if any(t.get("node_us_per_row") is not None for t in results["throughput"]):
        L.append("What each contender's rows cost the servers (CPU µs per row of the Cassandra node "
                 "and the Kafka broker processes over the same run, their background work "
                 "included), and the rate the machine's %s cores allow at the contender's + the "
                 "node's + the broker's CPU per row:" % (m.get("cpus") or "?"))
        L.append("")
        L.append("| contender | client CPU µs/row | node CPU µs/row | broker CPU µs/row | "
                 "cores bound rows/s | rows/s / bound |")
        L.append("|---|---|---|---|---|---|")
        for t in results["throughput"]:
            if t.get("node_us_per_row") is None:
                continue
            bound = t.get("cores_bound_rows_per_s")
            rate = t.get("rows_per_s")
            L.append("| %s | %s | %s | %s | %s | %s |" % (
                t["contender"], _n(t.get("cpu_us_per_row"), "%.1f"),
                _n(t.get("node_us_per_row"), "%.1f"), _n(t.get("broker_us_per_row"), "%.1f"),
                _n(bound), _n(rate / bound if rate and bound else None, "%.2f")))
        L.append("")
    notes = [t for t in results["throughput"] if t.get("detail")]
    for t in notes:
        L.append("- %s: %s" % (t["contender"], t["detail"]))
    L.append("")
    L.append("## End-to-end latency (Kafka message timestamp → write acknowledged)")
    L.append("")
    L.append("| contender | rate/s | produced | p50 ms | p90 ms | p95 ms | p99 ms | p99.9 ms | "
             "CPU % | RSS MiB | drained s | status | source |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for l in results["latency"]:
        status = l.get("status")
        if status == "ok" and l.get("sustained") is False:
            status = "ok, rate NOT sustained"
        L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            l["contender"], l["rate"], _n(l.get("produced"), "%d"),
            _n(_q(l, 0.5), "%.1f"), _n(_q(l, 0.9), "%.1f"), _n(_q(l, 0.95), "%.1f"),
            _n(_q(l, 0.99), "%.1f"), _n(_q(l, 0.999), "%.1f"), _n(l.get("cpu_pct"), "%.1f"),
            _n(l.get("peak_rss_mib")), _n(l.get("drain_s"), "%.1f"), status,
            l.get("source", l.get("detail", ""))))
    L.append("")
    L.append("\"drained s\": from the end of production to the last record written. A contender "
             "that keeps up with the rate drains within about one batch; \"rate NOT sustained\" "
             "(over max(5 s, 10% of the run)) means its backlog grew during the run, and its "
             "latency figures measure that queue.")
    L.append("")
    L.append("## Ratios (rtetl / other, same run) and targets")
    L.append("")
    L.append("```")
    L.extend(ratio_lines(results)[1:])
    L.append("```")
    L.append("")
    if results["notes"]:
        L.append("Notes:")
        for n in results["notes"]:
            L.append("- " + n)
        L.append("")
    L.append("![throughput and latency](%s)" % chart_name)
    L.append("")
    L.append("## Versions and machine")
    L.append("")
    for k in ("rtetl", "rtetl_git", "kafka", "cassandra", "spark", "java", "python",
              "cassandra_driver", "librdkafka", "latte"):
        if k in v:
            L.append("- %s: %s" % (k, v[k]))
    L.append("- Spark jars (spark.jars, from Maven Central): %s" % ", ".join(v.get("spark_jars", [])))
    L.append("- machine: %s, %s, %s CPUs (%s), %s GiB, kernel %s" % (
        m["host"], m.get("os"), m.get("cpus"), m.get("cpu_model"), m.get("memory_gib"),
        m.get("kernel")))
    L.append("- load average at start %s, at end %s (other work on the machine shows here)" % (
        "/".join("%.2f" % x for x in results.get("load_start", [])),
        "/".join("%.2f" % x for x in results.get("load_end", []))))
    L.append("")
    L.append("Exact commands per contender are in the JSON file beside this one.")
    return "\n".join(L) + "\n"


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5))
    tp = [t for t in results["throughput"] if t.get("rows_per_s")]
    names = [t["contender"] + ("" if t.get("status") == "ok" else "\n(%s)" % t.get("status"))
             for t in tp]
    vals = [t["rows_per_s"] for t in tp]
    colors = ["#2b7bba" if t["contender"].startswith("rtetl") else
              "#888888" if t["contender"] in CLIENT_CEILINGS else "#e8743b" for t in tp]
    bars = a1.bar(names, vals, color=colors)
    for b, v in zip(bars, vals):
        a1.text(b.get_x() + b.get_width() / 2, v, "%.0f" % v, ha="center", va="bottom", fontsize=8)
    a1.set_yscale("log")
    a1.set_ylabel("rows/s (log)")
    a1.set_title("Throughput, %d records" % results["records"])
    a1.tick_params(axis="x", labelsize=8)

    lat = [l for l in results["latency"] if l.get("status") == "ok"]
    qs = [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")]
    w = 0.25
    for i, (q, label) in enumerate(qs):
        xs = [j + (i - 1) * w for j in range(len(lat))]
        ys = [_q(l, q) or 0 for l in lat]
        a2.bar(xs, ys, width=w, label=label)
    a2.set_xticks(range(len(lat)))
    a2.set_xticklabels(["%s\n@%d/s" % (l["contender"], l["rate"]) for l in lat], fontsize=8)
    a2.set_yscale("log")
    a2.set_ylabel("ms (log)")
    a2.set_title("End-to-end latency")
    a2.legend()
    fig.suptitle("rtetl vs Spark — %s, %s" % (results["machine"]["host"], results["finished"][:16]))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results, out_dir, quick=False):
    os.makedirs(out_dir, exist_ok=True)
    results["quick"] = quick
    day = datetime.date.today().isoformat()
    base = os.path.join(out_dir, "%s-%s%s" % (day, results["machine"]["host"],
                                               "-quick" if quick else ""))
    chart_path = base + ".png"
    try:
        chart(results, chart_path)
    except Exception as e:  # noqa: BLE001 - the numbers matter more than the picture
        results["notes"].append("chart failed: %s" % e)
        chart_path = None
    with open(base + ".json", "w") as f:
        json.dump(results, f, indent=1, default=str)
    with open(base + ".md", "w") as f:
        f.write(markdown(results, os.path.basename(chart_path) if chart_path else "(none)"))
    return [p for p in (base + ".md", base + ".json", chart_path) if p]
