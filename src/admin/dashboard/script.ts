/**
 * The dashboard's browser script, inlined into the page. Plain ES2020 for any current
 * browser; it builds DOM nodes with textContent only, so names and error strings from
 * config or upstreams can never inject markup. (No backticks or "${" inside: this is a
 * template string.)
 */
export const dashboardScript = String.raw`
'use strict';
var POLL_MS = 1000;
var token = (location.hash.match(/token=([^&]+)/) || [])[1] || sessionStorage.getItem('portside-token') || '';
var $ = function (id) { return document.getElementById(id); };

function h(tag, props, children) {
  var el = document.createElement(tag);
  for (var k in props || {}) {
    if (k === 'text') el.textContent = props[k];
    else if (k === 'class') el.className = props[k];
    else el.setAttribute(k, props[k]);
  }
  (children || []).forEach(function (c) { if (c != null) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
  return el;
}
function fill(el, nodes) { el.replaceChildren.apply(el, nodes); }
function num(n) { return n == null ? '–' : n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e4 ? (n / 1e3).toFixed(1) + 'k' : String(Math.round(n * 10) / 10); }
function clock(t) { return new Date(t).toLocaleTimeString(); }
function bytes(n) {
  if (n == null) return '–';
  var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(n < 10 ? 1 : 0) : String(n)) + ' ' + units[i];
}
function ms(n) { return n < 1 ? (n * 1000).toFixed(0) + ' µs' : n < 1000 ? n.toFixed(n < 10 ? 1 : 0) + ' ms' : (n / 1000).toFixed(2) + ' s'; }
/** Seconds to 3d4h, 2h0m, 4m59s, 12s: the two largest units, rounded up (an ejection never ends early on screen). */
function duration(seconds) {
  var s = Math.ceil(seconds), parts = [[86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']], out = [];
  parts.forEach(function (p) { if (out.length < 2 && (out.length || s >= p[0])) { out.push(Math.floor(s / p[0]) + p[1]); s %= p[0]; } });
  return out.length ? out.join('') : '0s';
}
/** [code, method, count] rows to 2xx…5xx chips; code 0 (no response) counts as "none". */
function codes(responses) {
  var classes = {};
  (responses || []).forEach(function (r) { var k = r[0] ? Math.floor(r[0] / 100) + 'xx' : 'none'; classes[k] = (classes[k] || 0) + r[2]; });
  var chips = ['2xx', '3xx', '4xx', '5xx', 'none'].filter(function (k) { return classes[k]; }).map(function (k) {
    return h('span', { class: 'code c' + k, 'data-class': k, text: k + ' ' + num(classes[k]) });
  });
  return h('span', { class: 'codes' }, chips.length ? chips : [h('span', { class: 'dim', text: '–' })]);
}
/** Copies each column's heading onto its cells, for the stacked layout of a narrow screen. */
function labelCells(table) {
  var heads = Array.prototype.map.call(table.tHead.rows[0].cells, function (c) { return c.textContent; });
  Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
    Array.prototype.forEach.call(row.cells, function (cell, i) { if (!cell.colSpan || cell.colSpan === 1) cell.setAttribute('data-label', heads[i] || ''); });
  });
}

var SVG = 'http://www.w3.org/2000/svg';
function sparkline(values, color) {
  var w = 180, hgt = 36, max = Math.max.apply(null, values.concat([1]));
  var svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', w); svg.setAttribute('height', hgt); svg.setAttribute('viewBox', '0 0 ' + w + ' ' + hgt);
  var pts = values.map(function (v, i) {
    var x = values.length < 2 ? w : (i / (values.length - 1)) * w;
    return x.toFixed(1) + ',' + (hgt - 2 - (v / max) * (hgt - 4)).toFixed(1);
  });
  var line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', pts.join(' ')); line.setAttribute('fill', 'none');
  line.setAttribute('stroke', color); line.setAttribute('stroke-width', '1.5');
  svg.appendChild(line);
  return svg;
}
function rateFigure(label, values, color, id) {
  var last = values.length ? values[values.length - 1] : 0;
  return h('figure', { 'data-rate': id }, [
    h('figcaption', { text: label }), h('div', { class: 'value', text: num(last) + '/s' }), sparkline(values, color),
  ]);
}

function renderRates(rates, clusters) {
  var figs = [
    rateFigure('requests', rates.map(function (r) { return r.requests; }), '#58a6ff', 'requests'),
    rateFigure('errors', rates.map(function (r) { return r.errors; }), '#f85149', 'errors'),
  ];
  clusters.forEach(function (c) {
    figs.push(rateFigure(c.name + ' requests', rates.map(function (r) { return (r.perCluster[c.name] || {}).requests || 0; }), '#3fb950', 'cluster-' + c.name));
  });
  fill($('rates'), figs);
}

function renderListeners(listeners) {
  fill($('listeners').tBodies[0], listeners.map(function (l) {
    var routes = (l.routes || []).length;
    var target = l.cluster || (routes ? routes + (routes === 1 ? ' route' : ' routes') : '–');
    var state = l.draining ? h('span', { class: 'badge warn', text: 'draining' })
      : l.bound ? h('span', { class: 'badge ok', text: 'bound' }) : h('span', { class: 'badge bad', text: 'not bound' });
    var io = l.bytesReceived == null && l.bytesSent == null ? '–' : bytes(l.bytesReceived || 0) + ' / ' + bytes(l.bytesSent || 0);
    return h('tr', { 'data-listener': l.name }, [
      h('td', { text: l.name }), h('td', {}, [h('code', { text: l.boundAddress || l.address })]),
      h('td', { text: l.protocol + ' → ' + target }), h('td', { class: 'num', text: num(l.activeConnections) }),
      h('td', { class: 'num', text: num(l.connectionsTotal) }), h('td', { class: 'num bytes', text: io }),
      h('td', { class: 'num latency', text: l.latency ? ms(l.latency.p50Ms) + ' / ' + ms(l.latency.p99Ms) : '–' }),
      h('td', {}, [l.responses ? codes(l.responses) : h('span', { class: 'dim', text: '–' })]), h('td', {}, [state]),
    ]);
  }));
  labelCells($('listeners'));
  var rows = [];
  listeners.forEach(function (l) {
    (l.routes || []).forEach(function (r) {
      rows.push(h('tr', { 'data-route': l.name + '/' + r.name }, [
        h('td', { text: l.name }), h('td', { text: r.name }), h('td', { text: r.cluster }),
        h('td', { class: 'num', text: num(r.requestsTotal) }), h('td', { class: 'num', text: num(r.errorsTotal) }),
        h('td', {}, [codes(r.responses)]),
      ]));
    });
  });
  if (!rows.length) rows.push(h('tr', {}, [h('td', { class: 'dim', colspan: '6', text: 'no HTTP routes' })]));
  fill($('routes').tBodies[0], rows);
  labelCells($('routes'));
}

function endpointHealth(c, e) {
  if (!e.available) {
    var flags = e.flags.join(', ');
    return e.ejectionLeftMs != null ? flags + ' (' + duration(e.ejectionLeftMs / 1000) + ' left)' : flags;
  }
  return c.checks.length ? 'available' : 'not checked';
}

function clusterSummary(c) {
  var up = c.endpoints.filter(function (e) { return e.available; }).length;
  // Without checks "available" only means nothing has marked it down: say so rather than show green.
  var badge = c.checks.length
    ? h('span', { class: 'badge ' + (up === c.endpoints.length ? 'ok' : up ? 'warn' : 'bad'), 'data-availability': c.name, text: up + '/' + c.endpoints.length + ' available' })
    : h('span', { class: 'badge dim', 'data-availability': c.name, title: 'no healthCheck or outlierDetection: endpoints are used until discovery removes them', text: 'not checked' });
  var failures = Object.keys(c.failures).map(function (k) { return k + ' ×' + num(c.failures[k]); });
  var parts = [c.name, badge];
  if (c.checks.length) parts.push(h('span', { class: 'dim', text: 'checks: ' + c.checks.join(', ') }));
  if (failures.length) parts.push(h('span', { class: 'badge bad', 'data-failures': c.name, text: failures.join(', ') }));
  if (c.panic) parts.push(h('span', { class: 'badge bad', 'data-panic': c.name, text: 'panic: balancing across all' }));
  var l = c.latency;
  parts.push(h('span', { class: 'dim latency', 'data-latency': c.name, text: l ? 'latency p50 ' + ms(l.p50Ms) + ' · p99 ' + ms(l.p99Ms) + ' · mean ' + ms(l.meanMs) + ' (' + num(l.count) + ')' : 'latency –' }));
  return parts;
}

function renderClusters(clusters) {
  fill($('clusters'), clusters.map(function (c) {
    var sync = c.discovery.map(function (d) {
      var note = !d.synced ? ' (not synced)' : d.stale ? ' (stale: ' + (d.lastError || 'refresh failing') + ')' : '';
      return h('span', { class: note ? 'error' : 'dim', text: d.description + note });
    });
    var rows = c.endpoints.map(function (e) {
      var health = e.available ? 'available' : 'unavailable';
      var dot = !e.available ? 'bad' : c.checks.length ? 'ok' : 'unknown';
      var loc = [e.locality.zone, e.locality.node].filter(Boolean).join(' / ');
      return h('tr', { 'data-endpoint': c.name + '/' + e.address, 'data-health': health }, [
        h('td', {}, [h('span', { class: 'dot ' + dot }), h('code', { text: e.address })]),
        h('td', { class: 'health', text: endpointHealth(c, e) }),
        h('td', { class: 'num', text: String(e.weight) }), h('td', { class: 'num', text: num(e.active) }),
        h('td', { class: 'num', text: num(e.requestsTotal || e.connectionsTotal) }), h('td', { class: 'num failures', text: num(e.failuresTotal) }),
        h('td', { class: 'num bytes', text: bytes(e.bytesToUpstream) + ' / ' + bytes(e.bytesFromUpstream) }),
        h('td', { text: loc || '–' }), h('td', { class: 'error', text: e.lastError || '' }),
      ]);
    });
    var head = h('tr', {}, ['Endpoint', 'Health', 'Weight', 'Active', 'Traffic', 'Failures', 'Bytes to / from', 'Locality', 'Last error'].map(function (t, i) {
      return h('th', { class: i >= 2 && i <= 6 ? 'num' : '', text: t });
    }));
    var table = h('table', {}, [h('thead', {}, [head]), h('tbody', {}, rows.length ? rows : [h('tr', {}, [h('td', { class: 'dim', colspan: '9', text: 'no endpoints' })])])]);
    labelCells(table);
    return h('div', { 'data-cluster': c.name }, [h('h3', {}, clusterSummary(c).concat(sync)), table]);
  }));
}

function renderEvents(state) {
  var health = state.health.map(function (t) {
    var now = t.to.length ? 'unavailable (' + t.to.join(', ') + ')' : 'available';
    return h('li', { 'data-transition': t.cluster + '/' + t.endpoint }, [
      h('time', { text: clock(t.at) }), h('span', { class: 'dot ' + (t.to.length ? 'bad' : 'ok') }),
      h('code', { text: t.cluster + '/' + t.endpoint }), ' → ' + now + (t.reason ? ' · ' + t.reason : ''),
    ]);
  });
  fill($('health'), health.length ? health : [h('li', { class: 'dim', text: 'none yet' })]);
  var reloads = state.reloads.map(function (r) {
    return h('li', { class: r.ok ? '' : 'error', 'data-reload': String(r.version) }, [
      h('time', { text: clock(r.at) }), (r.ok ? 'v' + r.version + ': ' : 'rejected: ') + r.summary,
    ].concat((r.errors || []).map(function (e) { return h('div', {}, [h('code', { text: e })]); })));
  });
  fill($('reloads'), reloads.length ? reloads : [h('li', { class: 'dim', text: 'none yet' })]);
}

function render(state) {
  var ready = $('ready');
  ready.className = 'badge ' + (state.draining ? 'warn' : state.ready.ready ? 'ok' : 'bad');
  ready.textContent = state.draining ? 'draining' : state.ready.ready ? 'ready' : 'not ready';
  ready.title = state.ready.reasons.join('\n');
  $('version').textContent = String(state.version);
  $('build').textContent = 'portside ' + state.build.version + ' · node ' + state.build.node + ' · up ' + duration(state.uptimeSeconds);
  var r = state.lastReload;
  $('last-reload').textContent = r ? (r.ok ? 'last reload ok ' : 'last reload REJECTED ') + clock(r.at) : '';
  $('last-reload').className = 'meta' + (r && !r.ok ? ' error' : '');
  renderRates(state.rates, state.clusters);
  renderListeners(state.listeners);
  renderClusters(state.clusters);
  renderEvents(state);
  $('status').textContent = 'updated ' + clock(state.now);
  $('status').className = 'meta';
}

function poll() {
  var headers = token ? { authorization: 'Bearer ' + token } : {};
  fetch('api/dashboard', { headers: headers, cache: 'no-store' })
    .then(function (res) {
      if (res.status === 401) { $('auth').style.display = 'flex'; throw new Error('admin token required'); }
      if (!res.ok) throw new Error('HTTP ' + res.status);
      return res.json();
    })
    .then(render)
    .catch(function (err) { $('status').textContent = 'offline: ' + err.message; $('status').className = 'meta stale'; })
    .finally(function () { setTimeout(poll, POLL_MS); });
}

$('auth').addEventListener('submit', function (ev) {
  ev.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem('portside-token', token);
  $('auth').style.display = 'none';
});
poll();
`;
