/* rtetl stream dashboard: polls /metrics and /healthz every second, parses the Prometheus text
 * and fills the page; rates come from counter deltas over the last RATE_WINDOW_MS. No library,
 * no build step: the C build embeds this file as it is. */
'use strict';
(function () {
  var POLL_MS = 1000, RATE_WINDOW_MS = 10000, KEEP = 120, SPARK = 60;
  var hist = [], polls = 0;

  /* Samples of the text format: [{name, labels, value}]; comments and blank lines skipped. */
  function parse(text) {
    var out = [];
    text.split('\n').forEach(function (line) {
      var m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (!m) return;
      var labels = {};
      (m[2] || '').replace(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g, function (_, k, v) {
        labels[k] = v.replace(/\\(.)/g, function (_, c) { return c === 'n' ? '\n' : c; });
      });
      out.push({ name: m[1], labels: labels, value: parseFloat(m[3]) });
    });
    return out;
  }

  function matches(sample, name, want) {
    if (sample.name !== name) return false;
    for (var k in want) if (sample.labels[k] !== want[k]) return false;
    return true;
  }

  function val(samples, name, want) {
    for (var i = 0; i < samples.length; i++)
      if (matches(samples[i], name, want || {})) return samples[i].value;
    return undefined;
  }

  function all(samples, name) {
    return samples.filter(function (s) { return s.name === name; });
  }

  function fmt(v, digits) {
    if (v === undefined || isNaN(v)) return '-';
    if (digits) return v.toFixed(digits);
    return Math.round(v).toLocaleString('en-US');
  }

  /* Every element tagged data-k=KEY shows the text; data-v keeps the raw number. */
  function show(key, v, digits) {
    document.querySelectorAll('[data-k="' + key + '"]').forEach(function (el) {
      el.textContent = fmt(v, digits);
      el.setAttribute('data-v', v === undefined ? '' : String(v));
    });
  }

  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c];
    });
  }

  /* A polyline of the values (unknown ones as 0) scaled to the box's height. */
  function spark(id, values) {
    values = values.map(function (v) { return v > 0 ? v : 0; });
    var svg = document.getElementById(id), max = Math.max.apply(null, values.concat([1]));
    var pts = values.map(function (v, i) {
      var x = values.length > 1 ? (i * 120) / (values.length - 1) : 0;
      return x.toFixed(1) + ',' + (29 - (28 * v) / max).toFixed(1);
    });
    svg.innerHTML = '<polyline points="' + pts.join(' ') + '"/>';
  }

  /* Rate of a counter over the samples of the last RATE_WINDOW_MS (per second). */
  function rate(key, cur) {
    var base = cur;
    for (var i = hist.length - 1; i >= 0 && cur.t - hist[i].t <= RATE_WINDOW_MS; i--) base = hist[i];
    if (base === cur || cur[key] === undefined) return { v: undefined, text: '' };
    var delta = cur[key] - base[key], secs = (cur.t - base.t) / 1000;
    return { v: delta / secs, text: fmt(delta) + ' in ' + secs.toFixed(1) + ' s' };
  }

  function partitions(samples) {
    var committed = {}, rows = all(samples, 'rtetl_stream_partition_lag');
    all(samples, 'rtetl_stream_partition_committed_offset').forEach(function (s) {
      committed[s.labels.topic + '/' + s.labels.partition] = s.value;
    });
    rows.sort(function (a, b) {
      return a.labels.topic < b.labels.topic ? -1 : a.labels.topic > b.labels.topic ? 1 :
        a.labels.partition - b.labels.partition;
    });
    var max = Math.max.apply(null, rows.map(function (s) { return s.value; }).concat([1]));
    document.getElementById('parts').innerHTML = rows.length ? rows.map(function (s) {
      var key = s.labels.topic + '/' + s.labels.partition;
      return '<tr data-partition="' + esc(s.labels.partition) + '"><td>' + esc(s.labels.topic) +
        '</td><td>' + esc(s.labels.partition) + '</td><td data-v="' + s.value + '">' + fmt(s.value) +
        '</td><td>' + fmt(committed[key]) + '</td><td class="bar"><span style="width:' +
        ((100 * Math.max(s.value, 0)) / max).toFixed(0) + '%"></span></td></tr>';
    }).join('') : '<tr><td colspan="5" class="muted">no partition assigned</td></tr>';
  }

  function deadLetters(samples) {
    var rows = all(samples, 'rtetl_stream_dead_letters_total');
    rows.sort(function (a, b) { return b.value - a.value; });
    document.getElementById('dlq').innerHTML = rows.length ? rows.map(function (s) {
      return '<tr data-reason="' + esc(s.labels.reason) + '"><td>' + esc(s.labels.reason) +
        '</td><td data-v="' + s.value + '">' + fmt(s.value) + '</td></tr>';
    }).join('') : '<tr><td colspan="2" class="muted">none</td></tr>';
  }

  function update(samples, now) {
    var stage = function (st) { return val(samples, 'rtetl_stream_records_total', { stage: st }); };
    var cur = { t: now, written: stage('written'), lag: val(samples, 'rtetl_stream_lag'),
                retries: val(samples, 'rtetl_stream_write_retries_total') };
    if (hist.length && cur.written < hist[hist.length - 1].written) hist = []; /* a restart */
    var rows = rate('written', cur);
    cur.rate = rows.v;
    hist.push(cur);
    if (hist.length > KEEP) hist.shift();
    show('rows_per_s', cur.rate, cur.rate !== undefined && cur.rate < 100 ? 1 : 0);
    document.getElementById('rate-window').textContent = rows.text;
    show('lag', cur.lag);
    ['written', 'consumed', 'filtered', 'dead_lettered'].forEach(function (st) { show(st, stage(st)); });
    ['0.5', '0.99'].forEach(function (q) {
      var v = val(samples, 'rtetl_stream_write_seconds', { quantile: q });
      show(q === '0.5' ? 'write_p50_ms' : 'write_p99_ms', v === undefined ? v : v * 1000, 2);
    });
    show('retries', cur.retries);
    show('retries_per_s', rate('retries', cur).v, 1);
    show('write_errors', val(samples, 'rtetl_stream_write_errors_total'));
    show('hosts_up', val(samples, 'rtetl_cassandra_hosts_up'));
    show('inflight', val(samples, 'rtetl_stream_inflight'));
    var limit = val(samples, 'rtetl_stream_write_concurrency_limit');
    document.getElementById('conc-limit').hidden = limit === undefined;
    document.getElementById('conc-title').textContent =
      limit === undefined ? 'In flight' : 'In flight / concurrency limit';
    show('concurrency_limit', limit);
    partitions(samples);
    deadLetters(samples);
    var recent = hist.slice(-SPARK);
    spark('spark-rate', recent.map(function (h) { return h.rate; }));
    spark('spark-lag', recent.map(function (h) { return h.lag; }));
  }

  function health(status, text) {
    var el = document.getElementById('health');
    el.className = 'pill ' + (status === 200 ? 'ok' : 'bad');
    el.textContent = status === 200 ? 'healthy' : status ? 'unhealthy: ' + text.trim() : text;
  }

  function get(path) {
    var ctl = new AbortController(), timer = setTimeout(function () { ctl.abort(); }, 3000);
    return fetch(path, { cache: 'no-store', signal: ctl.signal }).then(function (r) {
      return r.text().then(function (body) { clearTimeout(timer); return { status: r.status, body: body }; });
    });
  }

  function poll() {
    Promise.all([get('/metrics'), get('/healthz')]).then(function (res) {
      update(parse(res[0].body), performance.now());
      health(res[1].status, res[1].body);
      document.body.setAttribute('data-polls', String(++polls));
      document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    }).catch(function (err) {
      health(0, 'unreachable (' + err.message + ')');
    }).then(function () { setTimeout(poll, POLL_MS); });
  }
  poll();
})();
