/**
 * The live page: a table of every node/interface sorted by rate (current,
 * peak) and a chart of rx/tx bits/s per interface over the last minutes,
 * fed by the WebSocket; below, the stored runs, each linking to its report. Self-contained apart from uPlot, which the coordinator
 * serves itself; no CDN.
 */
import { browserFunction, formatBitrate } from "../../../common/src/format.js";

/**
 * The page's script, run in the browser. Kept as plain JS (no build step);
 * the bit-rate formatter is common/src/format.ts's own, its source put in here.
 */
export const SCRIPT = String.raw`
const params = new URLSearchParams(location.search);
const token = params.get("token") || "";
const keep = 600; // points per series
const series = new Map(); // key -> { agentId, iface, t:[], rx:[], tx:[], peakRx, peakTx, chart, row }
const status = document.getElementById("status");
const tbody = document.getElementById("rows");
const charts = document.getElementById("charts");

${browserFunction(formatBitrate)}
const fmt = (bps) => formatBitrate(bps);

function ensure(agentId, iface) {
  const key = agentId + "|" + iface;
  let s = series.get(key);
  if (s) return s;
  s = { agentId, iface, t: [], rx: [], tx: [], peakRx: 0, peakTx: 0 };
  const row = document.createElement("tr");
  row.dataset.agent = agentId;
  row.dataset.iface = iface;
  row.innerHTML = "<td>" + agentId + "</td><td>" + iface + "</td><td class=rx></td><td class=tx></td><td class=prx></td><td class=ptx></td>";
  tbody.appendChild(row);
  s.row = row;
  const card = document.createElement("div");
  card.className = "card";
  card.dataset.agent = agentId;
  card.dataset.iface = iface;
  card.innerHTML = "<h3>" + agentId + " · " + iface + "</h3>";
  charts.appendChild(card);
  s.chart = new uPlot({
    width: 420, height: 160,
    scales: { x: { time: true } },
    axes: [{}, { values: (u, v) => v.map((x) => fmt(x)), size: 80 }],
    series: [{}, { label: "rx", stroke: "#2a7ab9", width: 1.5 }, { label: "tx", stroke: "#d9480f", width: 1.5 }],
  }, [[], [], []], card);
  series.set(key, s);
  return s;
}

function add(msg) {
  for (const sample of msg.samples) {
    for (const i of sample.interfaces) {
      const s = ensure(msg.agentId, i.name);
      s.t.push(sample.wallMs / 1000); s.rx.push(i.rxBps); s.tx.push(i.txBps);
      if (s.t.length > keep) { s.t.shift(); s.rx.shift(); s.tx.shift(); }
      s.peakRx = Math.max(s.peakRx, i.rxBps); s.peakTx = Math.max(s.peakTx, i.txBps);
      s.row.dataset.rxBps = String(i.rxBps);
      s.row.dataset.txBps = String(i.txBps);
      s.row.querySelector(".rx").textContent = fmt(i.rxBps);
      s.row.querySelector(".tx").textContent = fmt(i.txBps);
      s.row.querySelector(".prx").textContent = fmt(s.peakRx);
      s.row.querySelector(".ptx").textContent = fmt(s.peakTx);
      s.dirty = true;
    }
  }
}

function redraw() {
  const rows = [...series.values()].sort((a, b) => (b.rx.at(-1) + b.tx.at(-1)) - (a.rx.at(-1) + a.tx.at(-1)));
  for (const s of rows) {
    tbody.appendChild(s.row);
    if (s.dirty) { s.chart.setData([s.t, s.rx, s.tx]); s.dirty = false; }
  }
}

function connect() {
  const q = new URLSearchParams({ token, interval: params.get("interval") || "1000", node: params.get("node") || "", interface: params.get("interface") || "" });
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws?" + q);
  ws.onopen = () => { status.textContent = "live"; status.className = "live"; };
  ws.onmessage = (e) => { const m = JSON.parse(e.data); if (m.type === "batch") add(m); };
  ws.onclose = () => { status.textContent = token ? "disconnected, retrying…" : "no token: open this page as /?token=TOKEN"; status.className = "down"; setTimeout(connect, 2000); };
}

// Runs: each links to its HTML report (partial while it runs).
const runRows = document.getElementById("runs");
async function refreshRuns() {
  if (!token) return;
  try {
    const r = await fetch("/api/runs?token=" + encodeURIComponent(token));
    if (!r.ok) return;
    const { runs } = await r.json();
    runRows.replaceChildren(...runs.map((run) => {
      const tr = document.createElement("tr");
      tr.dataset.run = run.runId;
      const a = document.createElement("a");
      a.href = "/runs/" + encodeURIComponent(run.runId) + "/report.html?token=" + encodeURIComponent(token);
      a.target = "_blank";
      a.textContent = "report";
      const cells = [run.runId, run.name, run.status, run.createdAt.replace("T", " ").slice(0, 19), run.done + "/" + run.total, String(run.failed)];
      for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
      const td = document.createElement("td"); td.appendChild(a); tr.appendChild(td);
      return tr;
    }));
  } catch { /* the coordinator is restarting; try again on the next tick */ }
}

setInterval(redraw, 500);
setInterval(refreshRuns, 5000);
refreshRuns();
connect();
`;

/** The HTML of the live page. */
export function livePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>netmatrix · live NICs</title>
<link rel="stylesheet" href="/assets/uPlot.min.css">
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 .3em; } h2 { font-size: 1.1em; margin: 1.5em 0 0; }
  table.runs td { text-align: left; }
  #status { font-weight: 600; } .live { color: #2b8a3e; } .down { color: #c92a2a; }
  table { border-collapse: collapse; margin: 1em 0; }
  th, td { padding: .25em .8em; border-bottom: 1px solid #ddd; text-align: right; font-variant-numeric: tabular-nums; }
  th:nth-child(-n+2), td:nth-child(-n+2) { text-align: left; }
  #charts { display: flex; flex-wrap: wrap; gap: 1em; }
  .card { border: 1px solid #ddd; border-radius: 6px; padding: .5em; }
  .card h3 { font-size: .95em; margin: 0 0 .3em; }
</style>
</head>
<body>
<h1>netmatrix · live per-node, per-interface rates</h1>
<div>feed: <span id="status">connecting…</span></div>
<table>
  <thead><tr><th>agent</th><th>interface</th><th>rx</th><th>tx</th><th>peak rx</th><th>peak tx</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
<div id="charts"></div>
<h2>Runs</h2>
<table class="runs">
  <thead><tr><th>run</th><th>name</th><th>status</th><th>created (UTC)</th><th>done</th><th>failed</th><th></th></tr></thead>
  <tbody id="runs"></tbody>
</table>
<script src="/assets/uPlot.iife.min.js"></script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
