//! A run's [`Timeline`] as a self-contained HTML page (`replay --html`).
//!
//! The page fetches nothing: the timeline is embedded as JSON in a
//! `<script type="application/json">` tag (with `<`, `>` and `&` escaped
//! as `\u003c`, `\u003e` and `\u0026`, so no string in it can close the
//! tag), and a small inline script draws it as SVG. A Content-Security-Policy
//! meta tag forbids every network fetch as a second line of defence.
//!
//! The picture has one lane per node over simulated time: leader segments
//! filled with a colour chosen by term (candidates lighter), messages as
//! arrows coloured by kind (heartbeats hidden by default), crashes shaded
//! dark, pauses hatched, partitions as bands behind the lanes, commits as
//! ticks, snapshots as diamonds (filled: installed from the leader), client
//! events as dots, the heal as a vertical line and any
//! violation as a red line with its nodes' lanes outlined and its message
//! in a red banner. It zooms (buttons, mouse wheel) and scrolls; it starts
//! fitted to the whole run.
//!
//! The header, the violation banner and the lane labels are written here,
//! HTML-escaped; everything drawn from the data is built by the script
//! with `createElementNS` and `textContent`, never `innerHTML`.

use crate::timeline::{Timeline, TimelineEvent};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// Height of one node's lane, in pixels.
const LANE_H: usize = 48;
/// Height of the axis strip above the lanes.
const AXIS_H: usize = 44;
/// Height of the row below the lanes for client events without a node.
const CLIENT_H: usize = 28;
/// Width of the fixed lane-label column.
const LABEL_W: usize = 64;

/// Renders `timeline` as a complete, self-contained HTML page.
#[must_use]
pub fn render(timeline: &Timeline) -> String {
    let title = if timeline.title.is_empty() {
        "sim timeline".to_string()
    } else {
        format!("sim timeline: {}", timeline.title)
    };
    let violations: Vec<(u64, &[usize], &str)> = timeline
        .events
        .iter()
        .filter_map(|e| match e {
            TimelineEvent::Violation { t, nodes, text } => {
                Some((*t, nodes.as_slice(), text.as_str()))
            }
            _ => None,
        })
        .collect();
    let involved: BTreeSet<usize> = violations
        .iter()
        .flat_map(|v| v.1.iter().copied())
        .collect();
    let height = AXIS_H + timeline.nodes * LANE_H + CLIENT_H;
    let passed = timeline.verdict == "pass" || timeline.verdict.starts_with("pass ");
    let hidden = if violations.is_empty() { " hidden" } else { "" };

    let mut page = String::with_capacity(16 * 1024 + timeline.events.len() * 128);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    page.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n",
    );
    page.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(page, "<title>{}</title>", escape_html(&title));
    let _ = writeln!(page, "<style>{STYLE}</style>\n</head>\n<body>\n<header>");
    let _ = writeln!(page, "<h1 id=\"title\">{}</h1>", escape_html(&title));
    let _ = writeln!(
        page,
        "<p id=\"verdict\" class=\"{}\">verdict: {}</p>",
        if passed { "pass" } else { "fail" },
        escape_html(&timeline.verdict)
    );
    page.push_str("<p id=\"summary\"></p>\n</header>\n");

    let _ = writeln!(
        page,
        "<div id=\"violation-banner\" class=\"banner\" role=\"alert\"{hidden}>"
    );
    for (t, nodes, text) in &violations {
        let nodes: Vec<String> = nodes.iter().map(|n| format!("n{n}")).collect();
        let _ = writeln!(
            page,
            "<div class=\"violation-line\">violation at {} ({}): {}</div>",
            fmt_ms(*t),
            escape_html(&nodes.join(", ")),
            escape_html(text)
        );
    }
    page.push_str("</div>\n");

    page.push_str("<div id=\"controls\">\n");
    page.push_str("<button id=\"zoom-out\" title=\"zoom out\">&minus;</button>\n");
    page.push_str("<button id=\"zoom-in\" title=\"zoom in\">+</button>\n");
    page.push_str("<button id=\"zoom-fit\" title=\"show the whole run\">fit</button>\n");
    let _ = writeln!(
        page,
        "<button id=\"jump-violation\" class=\"danger\"{hidden}>jump to violation</button>"
    );
    page.push_str(
        "<label><input type=\"checkbox\" id=\"hide-heartbeats\" checked> hide heartbeats</label>\n",
    );
    page.push_str(
        "<label><input type=\"checkbox\" id=\"show-messages\" checked> messages</label>\n",
    );
    page.push_str("<span id=\"zoom-info\"></span>\n");
    page.push_str("<span class=\"hint\">wheel: zoom &middot; shift+wheel or scrollbar: scroll &middot; hover for details</span>\n");
    page.push_str("</div>\n<div id=\"legend\"></div>\n<div id=\"view\">\n");

    let _ = writeln!(
        page,
        "<svg id=\"lane-labels\" width=\"{LABEL_W}\" height=\"{height}\">\
         <text class=\"axis-unit\" x=\"8\" y=\"{}\">time</text>",
        AXIS_H - 4
    );
    for n in 0..timeline.nodes {
        let _ = writeln!(
            page,
            "<text id=\"lane-label-{n}\" class=\"lane-label{}\" x=\"14\" y=\"{}\">n{n}</text>",
            if involved.contains(&n) {
                " violated"
            } else {
                ""
            },
            AXIS_H + n * LANE_H + LANE_H / 2 + 5
        );
    }
    let _ = writeln!(
        page,
        "<text class=\"client-label\" x=\"8\" y=\"{}\">clients</text></svg>",
        AXIS_H + timeline.nodes * LANE_H + CLIENT_H / 2 + 4
    );

    page.push_str("<div id=\"chart-scroll\">\n");
    let _ = writeln!(
        page,
        "<svg id=\"chart\" width=\"0\" height=\"{height}\" data-lane-h=\"{LANE_H}\" \
         data-axis-h=\"{AXIS_H}\" data-client-h=\"{CLIENT_H}\">"
    );
    page.push_str(
        "<defs id=\"defs\"><pattern id=\"hatch\" width=\"6\" height=\"6\" \
         patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <rect width=\"6\" height=\"6\" fill=\"#ffffff\" fill-opacity=\"0.45\"/>\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#6b6b6b\" stroke-width=\"2\"/>\
         </pattern></defs>\n",
    );
    page.push_str(
        "<g id=\"grid\"></g><g id=\"bands\"></g><g id=\"lanes\"></g><g id=\"marks\"></g>\
         <g id=\"messages\"></g><g id=\"labels\"></g><g id=\"overlay\"></g>\n</svg>\n</div>\n</div>\n",
    );
    page.push_str("<noscript><p class=\"banner\">The picture is drawn by JavaScript; enable it to see the lanes.</p></noscript>\n");

    page.push_str("<script type=\"application/json\" id=\"timeline-data\">");
    page.push_str(&embed_json(timeline));
    page.push_str("</script>\n<script>");
    page.push_str(SCRIPT);
    page.push_str("</script>\n</body>\n</html>\n");
    page
}

/// The timeline as JSON that is safe inside a `<script>` element: `<`, `>`
/// and `&` (and the JavaScript line separators) appear only inside JSON
/// strings, where they are replaced by equivalent `\uXXXX` escapes.
fn embed_json(timeline: &Timeline) -> String {
    // A Timeline holds only strings, integers and sequences: it always serializes.
    let json = serde_json::to_string(timeline).expect("a Timeline serializes to JSON");
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Simulated microseconds as milliseconds, e.g. `1234.567 ms`.
fn fmt_ms(us: u64) -> String {
    format!("{}.{:03} ms", us / 1000, us % 1000)
}

const STYLE: &str = r#"
:root { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; }
body { margin: 0; background: #fff; }
[hidden] { display: none !important; }
header { padding: 10px 16px 4px; }
h1 { font-size: 16px; margin: 0 0 2px; }
header p { margin: 2px 0; }
#verdict { font-family: ui-monospace, Menlo, Consolas, monospace; }
#verdict.pass { color: #1a7f37; }
#verdict.fail { color: #b00020; font-weight: 600; }
#summary { color: #555; }
.banner { background: #c00018; color: #fff; padding: 6px 16px; font-weight: 600; }
.violation-line { font-family: ui-monospace, Menlo, Consolas, monospace; white-space: pre-wrap; }
#controls { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; padding: 6px 16px; border-top: 1px solid #ddd; }
#controls button { min-width: 30px; padding: 2px 8px; font: inherit; cursor: pointer; }
#controls button.danger { background: #c00018; color: #fff; border: 1px solid #900; border-radius: 3px; }
.hint, #zoom-info { color: #777; font-size: 12px; }
#legend { padding: 2px 16px 6px; font-size: 12px; color: #444; border-bottom: 1px solid #ddd; }
#legend .item { display: inline-block; margin-right: 12px; white-space: nowrap; }
#legend .sw { display: inline-block; width: 16px; height: 10px; margin-right: 4px; vertical-align: middle; }
#view { display: flex; align-items: flex-start; }
#lane-labels { flex: none; background: #fafafa; border-right: 1px solid #ccc; }
#chart-scroll { flex: 1; overflow-x: auto; overflow-y: hidden; }
#chart { display: block; }
.lane-label { font: 600 14px ui-monospace, Menlo, Consolas, monospace; fill: #333; }
.lane-label.violated { fill: #d00000; }
.axis-unit, .client-label { font-size: 11px; fill: #777; }
.lane-bg { fill: #eceff3; }
.grid { stroke: #e2e2e2; stroke-width: 1; }
.tick { fill: #666; font-size: 10px; }
.band { fill: #f2c94c; fill-opacity: 0.25; stroke: #d4a017; stroke-opacity: 0.5; }
.band-label { fill: #8a6d00; font-size: 10px; }
.seg.candidate { fill-opacity: 0.45; }
.seg.precandidate { fill-opacity: 0.22; stroke-dasharray: 3 2; stroke: #888; stroke-width: 0.5; }
.seg-text { fill: #fff; font: 600 11px ui-monospace, Menlo, Consolas, monospace; text-anchor: middle;
  paint-order: stroke; stroke: rgba(0, 0, 0, 0.45); stroke-width: 2px; pointer-events: none; }
.crash { fill: #3c3c3c; fill-opacity: 0.88; }
.removed { fill: #9aa0a6; fill-opacity: 0.9; }
.m-absent { fill: #ffffff; fill-opacity: 0.65; }
.m-learner { fill: #17becf; }
.m-joint { fill: #f28e2b; }
.pause { fill: url(#hatch); stroke: #777; stroke-width: 0.5; }
.msg { stroke-width: 1.2; stroke-opacity: 0.75; }
.msg:hover { stroke-width: 3; stroke-opacity: 1; }
.commit { stroke: #222; stroke-width: 1.5; }
.commit:hover { stroke: #d00000; stroke-width: 3; }
.snap { fill: #fff; stroke: #6a4c93; stroke-width: 1.2; }
.snap-installed { fill: #6a4c93; stroke: #6a4c93; stroke-width: 1.2; }
.snap:hover, .snap-installed:hover { fill: #d00000; }
.client { fill: #333; stroke: #fff; stroke-width: 0.5; }
.client:hover { fill: #d00000; }
.heal { stroke: #1a7f37; stroke-width: 2; stroke-dasharray: 6 3; }
.heal-label { fill: #1a7f37; font-weight: 700; font-size: 11px; }
.violation { stroke: #d00000; stroke-width: 2.5; }
.violation-label { fill: #d00000; font-weight: 700; font-size: 11px; }
.violated-lane { fill: none; stroke: #d00000; stroke-width: 2; }
"#;

const SCRIPT: &str = r##"
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const data = JSON.parse($('timeline-data').textContent);
  const svg = $('chart');
  const scroller = $('chart-scroll');
  const NS = svg.namespaceURI;
  const LANE_H = +svg.dataset.laneH, AXIS_H = +svg.dataset.axisH, CLIENT_H = +svg.dataset.clientH;
  const BAR = 22, PAD = 12, MAX_PX_PER_MS = 400;
  const N = data.nodes, END = Math.max(data.end_us, 1);
  const LANES_BOTTOM = AXIS_H + N * LANE_H, HEIGHT = LANES_BOTTOM + CLIENT_H;
  // Leaders are coloured by term from this fixed palette (red is kept for violations).
  const TERM_COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#edc948',
    '#76b7b2', '#9c755f', '#ff9da7', '#17becf', '#8c8c3c'];
  const MSG_COLOURS = new Map([
    ['Append', '#1f5fbf'], ['AppendResp', '#7fb2e5'], ['Vote', '#7b3fb5'], ['VoteResp', '#c3a3e3'],
    ['PreVote', '#e07b00'], ['PreVoteResp', '#f5c07a'], ['Heartbeat', '#2e9e44'], ['HeartbeatResp', '#9ad7a5'],
  ]);
  const OTHER_COLOUR = '#888888';
  const HEARTBEATS = new Set(['Heartbeat', 'HeartbeatResp']);
  const termColour = (term) => TERM_COLOURS[term % TERM_COLOURS.length];
  const msgColour = (name) => MSG_COLOURS.get(name) || OTHER_COLOUR;
  const markerId = (name) => 'arrow-' + (MSG_COLOURS.has(name) ? name : 'other');
  const fmt = (us) => (us / 1000).toFixed(3) + ' ms';
  const laneMid = (n) => AXIS_H + n * LANE_H + LANE_H / 2;
  const okNode = (n) => Number.isInteger(n) && n >= 0 && n < N;

  // Creates an SVG element; data only ever goes in through setAttribute and textContent.
  function el(parent, name, attrs, title, text) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (title !== undefined) el(e, 'title', {}, undefined, title);
    parent.appendChild(e);
    return e;
  }

  // ---- The events, turned into intervals and marks once.
  const events = data.events.slice().sort((a, b) => a.t - b.t);
  const segs = [], shades = [], bands = [], msgs = [], commits = [], snaps = [], clients = [], violations = [];
  const heals = data.heal_us == null ? [] : [data.heal_us];
  const role = [], crashed = [], paused = [], member = [], strips = [];
  for (let n = 0; n < N; n++) {
    role.push({ role: 'Follower', term: 0, from: 0 });
    member.push({ state: 'voter', from: 0, index: 0 });
  }
  // A node's place in a committed configuration.
  function memberState(e, n) {
    const inNew = e.voters.includes(n), inOld = e.outgoing.includes(n);
    if (inNew && (inOld || !e.outgoing.length)) return 'voter';
    if (inNew) return 'joining voter (joint configuration)';
    if (inOld) return 'leaving voter (joint configuration)';
    if (e.learners.includes(n)) return 'learner';
    return 'not a member';
  }
  function endMember(n, t) {
    const m = member[n];
    if (m.state !== 'voter' && t > m.from) strips.push({ node: n, from: m.from, to: t, state: m.state, index: m.index });
  }
  let band = null;
  function endRole(n, t) {
    const r = role[n];
    if (r.role && r.role !== 'Follower' && t > r.from) {
      segs.push({ node: n, from: r.from, to: t, role: r.role, term: r.term });
    }
  }
  function endShade(open, n, t) {
    const s = open[n];
    if (!s) return;
    s.to = t;
    s.title += t >= END ? ' (until the end)' : ', until ' + fmt(t);
    shades.push(s);
    open[n] = null;
  }
  function endBand(t) {
    if (!band) return;
    band.to = t;
    bands.push(band);
    band = null;
  }
  function partitionTitle(e) {
    const lines = ['partition at ' + fmt(e.t) + ': ' + e.description];
    (e.blocked || []).forEach((to, from) => {
      if (to.length) lines.push('n' + from + ' cannot reach ' + to.map((m) => 'n' + m).join(', '));
    });
    return lines.join('\n');
  }
  for (const e of events) {
    const n = e.node;
    switch (e.kind) {
      case 'role':
        if (okNode(n)) { endRole(n, e.t); role[n] = { role: e.role, term: e.term, from: e.t }; }
        break;
      case 'crash':
        if (!okNode(n)) break;
        endRole(n, e.t);
        role[n] = { role: null, term: role[n].term, from: e.t };
        endShade(paused, n, e.t);
        crashed[n] = { node: n, from: e.t, cls: 'crash',
          title: 'n' + n + ' crashed at ' + fmt(e.t) + ', ' + e.lost_writes + ' unsynced byte(s) lost' };
        break;
      case 'membership':
        for (let m = 0; m < N; m++) {
          const state = memberState(e, m);
          if (state === member[m].state) continue;
          endMember(m, e.t);
          member[m] = { state, from: e.t, index: e.index };
        }
        break;
      case 'shut_down':
        if (!okNode(n)) break;
        endRole(n, e.t);
        role[n] = { role: null, term: role[n].term, from: e.t };
        endShade(paused, n, e.t);
        endShade(crashed, n, e.t);
        crashed[n] = { node: n, from: e.t, cls: 'removed', title: 'n' + n + ' removed from the cluster, shut down at ' + fmt(e.t) };
        break;
      case 'restart':
        if (!okNode(n)) break;
        endShade(crashed, n, e.t);
        role[n] = { role: 'Follower', term: role[n].term, from: e.t };
        break;
      case 'pause':
        if (okNode(n)) paused[n] = { node: n, from: e.t, cls: 'pause', title: 'n' + n + ' paused at ' + fmt(e.t) };
        break;
      case 'resume':
        if (okNode(n)) endShade(paused, n, e.t);
        break;
      case 'partition': endBand(e.t); band = { from: e.t, title: partitionTitle(e) }; break;
      case 'heal_partition': endBand(e.t); break;
      case 'message': if (okNode(e.from) && okNode(e.to)) msgs.push(e); break;
      case 'commit': if (okNode(n)) commits.push(e); break;
      case 'snapshot': if (okNode(n)) snaps.push(e); break;
      case 'client': clients.push(e); break;
      case 'heal': if (!heals.includes(e.t)) heals.push(e.t); break;
      case 'violation': violations.push(e); break;
    }
  }
  for (let n = 0; n < N; n++) {
    endRole(n, END); endShade(crashed, n, END); endShade(paused, n, END); endMember(n, END);
  }
  endBand(END);
  const involved = new Set(violations.flatMap((v) => v.nodes).filter(okNode));

  // One arrowhead per message colour.
  for (const [name, colour] of [...MSG_COLOURS, ['other', OTHER_COLOUR]]) {
    const m = el($('defs'), 'marker', { id: 'arrow-' + name, viewBox: '0 0 8 8', refX: 8, refY: 4,
      markerWidth: 7, markerHeight: 7, markerUnits: 'userSpaceOnUse', orient: 'auto' });
    el(m, 'path', { d: 'M0,0 L8,4 L0,8 z', fill: colour });
  }

  // ---- Drawing: only what lies within a screen either side of the view.
  const layer = {};
  for (const id of ['grid', 'bands', 'lanes', 'marks', 'messages', 'labels', 'overlay']) layer[id] = $(id);
  let pxPerMs = 1, fitted = true, drawnAt = 0;
  let hideHeartbeats = $('hide-heartbeats').checked, showMessages = $('show-messages').checked;
  const x = (us) => PAD + (us / 1000) * pxPerMs;
  const fitPx = () => Math.max(1e-9, (scroller.clientWidth - 2 * PAD) / (END / 1000));
  const chartWidth = () => Math.floor(2 * PAD + (END / 1000) * pxPerMs);

  function draw() {
    for (const id in layer) layer[id].replaceChildren();
    svg.setAttribute('width', chartWidth());
    svg.setAttribute('height', HEIGHT);
    const view = scroller.clientWidth;
    drawnAt = scroller.scrollLeft;
    const t0 = Math.max(0, ((drawnAt - view - PAD) / pxPerMs) * 1000);
    const t1 = Math.min(END, ((drawnAt + 2 * view) / pxPerMs) * 1000);
    const seen = (a, b) => b >= t0 && a <= t1;
    // [x, width] of an interval, clipped to the drawn range.
    const span = (a, b) => { const l = x(Math.max(a, t0)); return [l, Math.max(1, x(Math.min(b, t1)) - l)]; };

    // Axis in milliseconds: a 1-2-5 step at least 90 px wide.
    const raw = 90 / pxPerMs;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
    const digits = Math.max(0, -Math.floor(Math.log10(step)));
    for (let k = Math.ceil(t0 / 1000 / step); k * step * 1000 <= t1; k++) {
      const gx = x(k * step * 1000);
      el(layer.grid, 'line', { x1: gx, x2: gx, y1: AXIS_H - 14, y2: LANES_BOTTOM, class: 'grid' });
      const last = gx > x(END) - 50; // keep the last label inside the chart
      el(layer.grid, 'text', { x: last ? gx - 3 : gx + 3, y: AXIS_H - 4, class: 'tick', 'text-anchor': last ? 'end' : 'start' },
        undefined, (k * step).toFixed(digits) + ' ms');
    }

    for (const b of bands) {
      if (!seen(b.from, b.to)) continue;
      const [bx, bw] = span(b.from, b.to);
      el(layer.bands, 'rect', { x: bx, y: 16, width: bw, height: LANES_BOTTOM - 16, class: 'band' }, b.title);
      if (bw > 60) el(layer.bands, 'text', { x: bx + 3, y: 27, class: 'band-label' }, b.title, 'partition');
    }

    const [lx, lw] = span(0, END);
    for (let n = 0; n < N; n++) {
      el(layer.lanes, 'rect', { x: lx, y: laneMid(n) - BAR / 2, width: lw, height: BAR, class: 'lane-bg' });
    }
    for (const s of segs) {
      if (!seen(s.from, s.to)) continue;
      const [sx, sw] = span(s.from, s.to);
      const leader = s.role === 'Leader';
      const h = leader ? BAR : BAR - 6;
      const cls = leader ? 'leader' : s.role === 'Candidate' ? 'candidate' : 'precandidate';
      el(layer.lanes, 'rect', { x: sx, y: laneMid(s.node) - h / 2, width: sw, height: h, fill: termColour(s.term),
        class: 'seg ' + cls }, 'n' + s.node + ' ' + s.role + ', term ' + s.term + ': ' + fmt(s.from) + ' to ' + fmt(s.to));
      // The term, on top of the arrows: once, or every 400 px along a long reign.
      const [a, b] = [x(s.from), x(s.to)];
      if (!leader || b - a < 14) continue;
      const label = b - a >= 60 ? 'term ' + s.term : String(s.term);
      const spots = b - a < 400 ? [(a + b) / 2] : [];
      if (b - a >= 400) {
        const first = Math.max(0, Math.ceil((sx - a - 250) / 400)); // the first spot in the drawn range
        for (let tx = a + 200 + 400 * first; tx < b - 30 && tx <= sx + sw + 50; tx += 400) spots.push(tx);
      }
      for (const tx of spots) {
        el(layer.labels, 'text', { x: tx, y: laneMid(s.node) + 4, class: 'seg-text' }, undefined, label);
      }
    }
    for (const s of shades) {
      if (!seen(s.from, s.to)) continue;
      const [sx, sw] = span(s.from, s.to);
      const grow = s.cls === 'crash' ? 4 : 2;
      el(layer.lanes, 'rect', { x: sx, y: laneMid(s.node) - BAR / 2 - grow, width: sw, height: BAR + 2 * grow,
        class: s.cls }, s.title);
    }

    // Membership: a node that is no member is washed out; a learner or a
    // voter of one half of a joint configuration has a band along its lane.
    for (const m of strips) {
      if (!seen(m.from, m.to)) continue;
      const [mx, mw] = span(m.from, m.to);
      const title = 'n' + m.node + ': ' + m.state + ' from ' + fmt(m.from) +
        (m.index ? ' (configuration entry ' + m.index + ')' : '') + ' to ' + fmt(m.to);
      if (m.state === 'not a member') {
        el(layer.lanes, 'rect', { x: mx, y: laneMid(m.node) - BAR / 2, width: mw, height: BAR, class: 'm-absent' }, title);
      } else {
        const cls = m.state === 'learner' ? 'm-learner' : 'm-joint';
        el(layer.lanes, 'rect', { x: mx, y: laneMid(m.node) - BAR / 2 - 5, width: mw, height: 4, class: cls }, title);
      }
    }

    for (const c of commits) {
      if (!seen(c.t, c.t)) continue;
      const cx = x(c.t), y = laneMid(c.node) + BAR / 2;
      el(layer.marks, 'line', { x1: cx, x2: cx, y1: y + 1, y2: y + 8, class: 'commit' },
        'n' + c.node + ' commit index ' + c.index + ' at ' + fmt(c.t));
    }
    for (const s of snaps) {
      if (!seen(s.t, s.t)) continue;
      const sx = x(s.t), y = laneMid(s.node) + BAR / 2 + 4;
      el(layer.marks, 'path', { d: 'M' + sx + ',' + (y - 4) + ' l4,4 l-4,4 l-4,-4 z', class: s.installed ? 'snap-installed' : 'snap' },
        'n' + s.node + (s.installed ? ' installed the leader\'s snapshot at index ' : ' took a snapshot at index ') + s.index + ', ' + fmt(s.t));
    }
    for (const c of clients) {
      if (!seen(c.t, c.t)) continue;
      const onLane = okNode(c.node);
      el(layer.marks, 'circle', { cx: x(c.t), cy: onLane ? laneMid(c.node) - BAR / 2 - 6 : LANES_BOTTOM + CLIENT_H / 2,
        r: 3, class: 'client' }, 'c' + c.client + (onLane ? ' at n' + c.node : '') + ', ' + fmt(c.t) + ': ' + c.text);
    }

    if (showMessages) {
      for (const m of msgs) {
        if (hideHeartbeats && HEARTBEATS.has(m.name)) continue;
        if (!seen(Math.min(m.sent, m.t), Math.max(m.sent, m.t))) continue;
        el(layer.messages, 'line', { x1: x(m.sent), y1: laneMid(m.from), x2: x(m.t), y2: laneMid(m.to),
          stroke: msgColour(m.name), 'marker-end': 'url(#' + markerId(m.name) + ')', class: 'msg' },
          m.name + ' n' + m.from + ' \u2192 n' + m.to + '\nsent ' + fmt(m.sent) + ', delivered ' + fmt(m.t) +
          ' (' + fmt(m.t - m.sent) + ' in flight)' + (m.detail ? '\n' + m.detail : ''));
      }
    }

    for (const h of heals) {
      if (!seen(h, h)) continue;
      const hx = x(h);
      el(layer.overlay, 'line', { x1: hx, x2: hx, y1: 2, y2: HEIGHT, class: 'heal' }, 'heal (end of chaos) at ' + fmt(h));
      el(layer.overlay, 'text', { x: hx + 4, y: 12, class: 'heal-label' }, undefined, 'heal');
    }
    for (const n of involved) {
      el(layer.overlay, 'rect', { x: lx - 1, y: laneMid(n) - LANE_H / 2 + 2, width: lw + 2, height: LANE_H - 4,
        rx: 3, class: 'violated-lane' }, 'n' + n + ' is involved in the violation');
    }
    for (const v of violations) {
      if (!seen(v.t, v.t)) continue;
      const vx = x(v.t);
      const title = 'violation at ' + fmt(v.t) + ' (' + v.nodes.map((n) => 'n' + n).join(', ') + '): ' + v.text;
      el(layer.overlay, 'line', { x1: vx, x2: vx, y1: 2, y2: HEIGHT, class: 'violation' }, title);
      el(layer.overlay, 'text', { x: vx + 4, y: 27, class: 'violation-label' }, title, 'violation');
    }

    const shown = Math.min(END / 1000, (view - 2 * PAD) / pxPerMs);
    $('zoom-info').textContent = 'showing ' + shown.toFixed(1) + ' of ' + (END / 1000).toFixed(1) + ' ms';
  }

  // ---- Zoom and scroll. zoomTo keeps simulated time `us` at `at` px from the view's left edge.
  function zoomTo(px, us, at) {
    const fit = fitPx();
    pxPerMs = Math.min(Math.max(MAX_PX_PER_MS, fit), Math.max(fit, px));
    fitted = pxPerMs <= fit * 1.0001;
    svg.setAttribute('width', chartWidth());
    scroller.scrollLeft = x(us) - at;
    draw();
  }
  const half = () => scroller.clientWidth / 2;
  const centre = () => ((scroller.scrollLeft + half() - PAD) / pxPerMs) * 1000;
  $('zoom-in').addEventListener('click', () => zoomTo(pxPerMs * 2, centre(), half()));
  $('zoom-out').addEventListener('click', () => zoomTo(pxPerMs / 2, centre(), half()));
  $('zoom-fit').addEventListener('click', () => zoomTo(fitPx(), 0, PAD));
  scroller.addEventListener('wheel', (e) => {
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) return; // horizontal: let it scroll
    e.preventDefault();
    const at = e.clientX - scroller.getBoundingClientRect().left;
    zoomTo(pxPerMs * Math.exp(-e.deltaY * 0.002), ((scroller.scrollLeft + at - PAD) / pxPerMs) * 1000, at);
  }, { passive: false });
  scroller.addEventListener('scroll', () => {
    if (Math.abs(scroller.scrollLeft - drawnAt) > half()) requestAnimationFrame(draw);
  });
  window.addEventListener('resize', () => (fitted ? zoomTo(fitPx(), 0, PAD) : draw()));
  $('hide-heartbeats').addEventListener('change', (e) => { hideHeartbeats = e.target.checked; draw(); });
  $('show-messages').addEventListener('change', (e) => { showMessages = e.target.checked; draw(); });
  let nextViolation = 0;
  $('jump-violation').addEventListener('click', () => {
    if (!violations.length) return;
    const v = violations[nextViolation++ % violations.length];
    const around = Math.max(END / 20, 20000); // simulated us to show around it
    zoomTo(Math.max(pxPerMs, scroller.clientWidth / (around / 1000)), v.t, half());
  });

  // ---- Legend and summary.
  const legend = $('legend');
  function item(label, style) {
    const box = document.createElement('span');
    box.className = 'item';
    const sw = document.createElement('span');
    sw.className = 'sw';
    Object.assign(sw.style, style);
    box.append(sw, label);
    legend.append(box);
  }
  item('leader (colour = term)', { background: 'linear-gradient(90deg,' + TERM_COLOURS.slice(0, 5).join(',') + ')' });
  item('candidate', { background: termColour(1), opacity: '0.45' });
  item('pre-candidate', { background: termColour(1), opacity: '0.22' });
  for (const [name, colour] of MSG_COLOURS) item(name, { background: colour, height: '3px' });
  item('crashed', { background: '#3c3c3c' });
  item('learner', { background: '#17becf', height: '4px' });
  item('one half of a joint configuration', { background: '#f28e2b', height: '4px' });
  item('removed', { background: '#9aa0a6' });
  item('paused', { background: 'repeating-linear-gradient(45deg,#6b6b6b 0 2px,#fff 2px 5px)' });
  item('partition', { background: 'rgba(242,201,76,0.45)' });
  item('commit', { background: '#222', width: '2px' });
  item('client op', { background: '#333', width: '6px', height: '6px', borderRadius: '3px' });
  item('heal', { background: '#1a7f37', width: '3px' });
  item('violation', { background: '#d00000', width: '3px' });
  const hb = msgs.filter((m) => HEARTBEATS.has(m.name)).length;
  $('summary').textContent = N + ' nodes \u00b7 ' + fmt(END) + ' simulated \u00b7 ' + msgs.length +
    ' messages delivered (' + hb + ' heartbeats) \u00b7 ' + commits.length + ' commits \u00b7 ' +
    shades.filter((s) => s.cls === 'crash').length + ' crashes \u00b7 ' + violations.length + ' violation(s)';

  zoomTo(fitPx(), 0, PAD);
})();
"##;

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
