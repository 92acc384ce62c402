/**
 * The live page: a table of every node/interface sorted by rate (current,
 * peak) and a chart of rx/tx bits/s per interface over the last minutes,
 * fed by the WebSocket; below, the stored runs, each linking to its report.
 * Its script and stylesheet are files the coordinator serves (/assets/live.js,
 * /assets/live.css), as is uPlot; no CDN, nothing inline, so the page's CSP
 * allows no inline script at all. Every name (agent, interface, run) goes
 * into the page as text (`textContent`), never as HTML. The token is not in
 * the page: the server keeps it in an HttpOnly cookie the page's requests
 * carry by themselves.
 */
import { browserFunction, formatBitrate } from "../../../common/src/format.js";

/**
 * The page's script (/assets/live.js), run in the browser. Kept as plain JS
 * (no build step); the bit-rate formatter is common/src/format.ts's own, its
 * source put in here.
 */
export const SCRIPT = String.raw`
const params = new URLSearchParams(location.search);
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
  // Names are data from agents: text only, never HTML.
  for (const [text, cls] of [[agentId, ""], [iface, ""], ["", "rx"], ["", "tx"], ["", "prx"], ["", "ptx"]]) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
  }
  tbody.appendChild(row);
  s.row = row;
  const card = document.createElement("div");
  card.className = "card";
  card.dataset.agent = agentId;
  card.dataset.iface = iface;
  const title = document.createElement("h3");
  title.textContent = agentId + " · " + iface;
  card.appendChild(title);
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

// Signed out (the coordinator restarted with another token): say how to sign in again.
let signedOut = false;
const SIGN_IN = "signed out: open this page again as /?token=TOKEN";

function connect() {
  // The cookie carries the token; the URL never does.
  const q = new URLSearchParams({ interval: params.get("interval") || "1000", node: params.get("node") || "", interface: params.get("interface") || "" });
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws?" + q);
  ws.onopen = () => { signedOut = false; status.textContent = "live"; status.className = "live"; };
  // A tick: every agent that sampled since the last one.
  ws.onmessage = (e) => { const m = JSON.parse(e.data); if (m.type === "tick") for (const a of m.agents) add(a); };
  ws.onclose = () => { status.textContent = signedOut ? SIGN_IN : "disconnected, retrying…"; status.className = "down"; setTimeout(connect, 2000); void refreshRuns(); };
}

// Runs: each links to its HTML report (partial while it runs).
const runRows = document.getElementById("runs");
async function refreshRuns() {
  try {
    const r = await fetch("/api/runs", { credentials: "same-origin" });
    if (r.status === 401) { signedOut = true; status.textContent = SIGN_IN; status.className = "down"; return; }
    if (!r.ok) return;
    const { runs } = await r.json();
    runRows.replaceChildren(...runs.map((run) => {
      const tr = document.createElement("tr");
      tr.dataset.run = run.runId;
      const a = document.createElement("a");
      a.href = "/runs/" + encodeURIComponent(run.runId) + "/report.html";
      a.target = "_blank";
      a.rel = "noopener";
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

/** The page's stylesheet (/assets/live.css). */
export const PAGE_CSS = `
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
`;

/** The HTML of the live page: no data and no inline script or style. */
export function livePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>netmatrix · live NICs</title>
<link rel="stylesheet" href="/assets/uPlot.min.css">
<link rel="stylesheet" href="/assets/live.css">
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
<script src="/assets/live.js"></script>
</body>
</html>
`;
}
