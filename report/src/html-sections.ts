/**
 * The HTML report's heatmaps (server-side tables, readable without
 * JavaScript), per-case sections (facts plus an empty chart area the page
 * script fills) and the environment section. Every string from the run is
 * escaped. Pure.
 */
import type { ReportDocument } from "./report-document.js";
import { GRID_MAX_NODES, type Heatmap, type HeatmapCell, type HeatmapGroups } from "./heatmap.js";
import type { Environment } from "./environment.js";
import { orderedCases } from "./run-summary.js";
import { caseTitle, failuresHtml, latencyWithCi } from "./html-tables.js";
import { baselineCell, latencyKindLabel, latencyKindOf } from "./labels.js";

/** " (RTT)" / " (one-way)": what a latency heatmap's tool measures, as its driver says. */
function heatmapKind(h: Heatmap): string {
  const kind = latencyKindOf(h.variant.split("/")[0] ?? "");
  return kind ? ` (${latencyKindLabel(kind)})` : "";
}
import { bps, esc, fixed, micros, percent, requestsPerS, scoreColour, withCi } from "./html-util.js";
import { naturalCompare } from "../../common/src/natural-compare.js";
import { driverNamed } from "../../tools/src/index.js";

type Case = ReportDocument["cases"][number];

function cellHtml(h: Heatmap, client: string, server: string, c: HeatmapCell | null): string {
  if (!c) return `<td class="empty">–</td>`;
  const fmt = formatOf(h);
  const reps = `${c.n}/${c.repetitions} repetitions measured`;
  if (c.value === null)
    return `<td class="empty failed" data-client="${esc(client)}" data-server="${esc(server)}" title="${esc(`${client} → ${server}: ${reps}`)}"><a href="#case-${esc(c.caseId)}">failed</a></td>`;
  const ci = c.ci95Half !== null ? ` ± ${fmt(c.ci95Half)}` : "";
  const title = `${client} → ${server} · ${h.label}: ${fmt(c.value)}${ci} (${reps})`;
  return `<td class="cell" data-client="${esc(client)}" data-server="${esc(server)}" data-value="${c.value}" data-unit="${h.unit}" style="background:${scoreColour(c.score)}" title="${esc(title)}"><a href="#case-${esc(c.caseId)}">${esc(fmt(c.value))}</a></td>`;
}

/** How a heatmap's cells are written: bits/s, requests/s or µs. */
function formatOf(h: Heatmap): (v: number) => string {
  return h.unit === "bps" ? bps : h.unit === "rps" ? requestsPerS : micros;
}

/** Pairs a list-layout heatmap shows: the worst ones (every case is in the case sections). */
export const LIST_SHOWN = 100;

/** What a heatmap's cells are, for captions. */
function figureName(h: Heatmap): string {
  return h.metric === "throughput" ? "mean throughput" : h.metric === "requests" ? "mean requests/s" : `mean latency${heatmapKind(h)}`;
}

/** A heatmap of more nodes than a grid shows: its measured pairs, failed and worst first, at most LIST_SHOWN of them. */
function pairListHtml(h: Heatmap): string {
  const ranked = [...h.pairs].sort(
    (a, b) =>
      (a.cell.value === null ? -1 : (a.cell.score ?? 1)) - (b.cell.value === null ? -1 : (b.cell.score ?? 1)) ||
      naturalCompare(a.client, b.client) ||
      naturalCompare(a.server, b.server),
  );
  const shown = ranked.slice(0, LIST_SHOWN);
  const worst = h.metric === "throughput" ? "lowest throughput" : h.metric === "requests" ? "fewest requests/s" : "highest latency";
  const which =
    shown.length < ranked.length ? `the ${shown.length} worst are listed (failed first, then the ${worst}); every case is in the cases below` : `failed first, then the ${worst}`;
  const note = `${ranked.length} measured node pairs of ${h.nodes.length} nodes, too many nodes for a node × node grid: ${which}.`;
  const rows = shown.map((p) => `<tr><th scope="row">${esc(p.client)}</th><th scope="row">${esc(p.server)}</th>${cellHtml(h, p.client, p.server, p.cell)}</tr>`);
  return `<figure class="heatmap" data-heatmap="${esc(h.id)}" data-metric="${h.metric}" data-layout="list">
<figcaption>${esc(h.scenario)} · ${esc(h.label)} · ${esc(figureName(h))}</figcaption>
<p class="note">${esc(note)}</p>
<table><thead><tr><th class="corner">client</th><th class="corner">server</th><th class="corner">${esc(figureName(h))}</th></tr></thead>
<tbody>${rows.join("")}</tbody></table>
</figure>`;
}

/** The aggregate by a node label: client value × server value, each cell the median over its pairs. */
function groupsHtml(h: Heatmap, g: HeatmapGroups): string {
  const fmt = formatOf(h);
  const name = (v: string): string => (v === "" ? `(no ${g.by})` : v);
  const head = g.values.map((v) => `<th scope="col">${esc(name(v))}</th>`).join("");
  const rows = g.values.map((a, i) => {
    const tds = g.values.map((b, j) => {
      const c = g.cells[i]?.[j] ?? null;
      if (!c) return `<td class="empty">–</td>`;
      const what = `${name(a)} → ${name(b)}: ${c.cases} node pairs${c.failed ? `, ${c.failed} failed` : ""}`;
      if (c.median === null) return `<td class="empty failed" data-client-group="${esc(a)}" data-server-group="${esc(b)}" title="${esc(what)}">failed</td>`;
      return `<td class="cell" data-client-group="${esc(a)}" data-server-group="${esc(b)}" data-value="${c.median}" data-unit="${h.unit}" data-cases="${c.cases}" style="background:${scoreColour(c.score)}" title="${esc(`${what}; median ${fmt(c.median)}`)}">${esc(fmt(c.median))}<br><small>${c.cases} pairs</small></td>`;
    });
    return `<tr><th scope="row">${esc(name(a))}</th>${tds.join("")}</tr>`;
  });
  return `<figure class="heatmap" data-heatmap-groups="${esc(h.id)}" data-metric="${h.metric}" data-by="${esc(g.by)}">
<figcaption>${esc(h.scenario)} · ${esc(h.label)} · ${esc(figureName(h))} by ${esc(g.by)}: the median over node pairs</figcaption>
<table><thead><tr><th class="corner">client ↓ server →</th>${head}</tr></thead>
<tbody>${rows.join("")}</tbody></table>
</figure>`;
}

function heatmapHtml(h: Heatmap): string {
  const aggregate = h.groups ? `${groupsHtml(h, h.groups)}\n` : "";
  return `${aggregate}${h.layout === "list" ? pairListHtml(h) : gridHtml(h)}`;
}

function gridHtml(h: Heatmap): string {
  const head = h.nodes.map((n) => `<th scope="col">${esc(n)}</th>`).join("");
  const rows = h.nodes.map(
    (client, i) => `<tr><th scope="row">${esc(client)}</th>${h.nodes.map((server, j) => cellHtml(h, client, server, h.cells[i]?.[j] ?? null)).join("")}</tr>`,
  );
  return `<figure class="heatmap" data-heatmap="${esc(h.id)}" data-metric="${h.metric}">
<figcaption>${esc(h.scenario)} · ${esc(h.label)} · ${esc(figureName(h))}</figcaption>
<table><thead><tr><th class="corner">client ↓ server →</th>${head}</tr></thead>
<tbody>${rows.join("")}</tbody></table>
</figure>`;
}

/** What the note adds for runs with list layouts or aggregates by label (nothing for the others). */
function extraNote(maps: Heatmap[]): string {
  const by = maps.find((m) => m.groups)?.groups?.by;
  const parts = [
    by ? ` Nodes are also grouped by their label ${esc(by)} (the spec's pairs.by): a cell there is the median over the node pairs of that client and server group.` : "",
    maps.some((m) => m.layout === "list") ? ` Over ${GRID_MAX_NODES} nodes a grid is not drawn: the measured node pairs are listed instead.` : "",
  ];
  return parts.join("");
}

/** Every heatmap, throughput first. */
export function heatmapsHtml(maps: Heatmap[]): string {
  if (maps.length === 0) return `<section id="heatmaps"><h2>Node × node</h2><p class="note">No cross-node cases in this run.</p></section>`;
  const ordered = [...maps.filter((m) => m.metric === "throughput"), ...maps.filter((m) => m.metric === "requests"), ...maps.filter((m) => m.metric === "latency")];
  return `<section id="heatmaps">
<h2>Node × node</h2>
<p class="note">Rows are client nodes, columns server nodes; each cell is the case's mean over its repetitions (click for the case). Colour is relative to the best cell of the grid: green is as good as the best, red half as good or worse (throughput${maps.some((m) => m.metric === "requests") ? " and requests/s" : ""}: higher is better; latency: lower is better).${extraNote(maps)}</p>
<div class="heatmaps">${ordered.map(heatmapHtml).join("\n")}</div>
</section>`;
}

/** "eth0 (3×)" for the carrying interfaces of one end over the repetitions. */
function carrying(names: (string | null)[]): string {
  const counts = new Map<string, number>();
  for (const n of names) if (n) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts.entries()].map(([n, k]) => `${n} (${k}×)`).join(", ") || "-";
}

/** The label of one repetition in the picker: "#2 · 955.3 Mbit/s" or "#3 · failed: timeout". */
export function repetitionLabel(r: Case["repetitions"][number]): string {
  if (!r.ok) return `#${r.index + 1} · failed: ${r.failure?.code ?? "?"}`;
  const m = r.measurement as { throughputBps?: number; requestsPerS?: number; latency?: { meanUs?: number } } | null;
  const figure =
    m?.requestsPerS !== undefined
      ? requestsPerS(m.requestsPerS)
      : m?.throughputBps !== undefined
        ? bps(m.throughputBps)
        : m?.latency?.meanUs !== undefined
          ? micros(m.latency.meanUs)
          : "";
  return `#${r.index + 1}${figure ? ` · ${figure}` : ""}`;
}

function caseHtml(c: Case, defaults: Map<string, number>): string {
  const s = c.summary;
  const facts: [string, string][] = [];
  if (s.throughputBps) facts.push(["throughput", `${withCi(s.throughputBps, bps)} (n=${s.throughputBps.n}; ${bps(s.throughputBps.min)} – ${bps(s.throughputBps.max)})`]);
  if (s.latencyUs) facts.push(["latency", `${latencyWithCi(s.latencyUs, c.tool)} (n=${s.latencyUs.n})`]);
  if (s.lossPercent) facts.push(["loss", withCi(s.lossPercent, percent)]);
  if (s.requestsPerS)
    facts.push(["requests/s", `${withCi(s.requestsPerS, requestsPerS)} (n=${s.requestsPerS.n}; ${requestsPerS(s.requestsPerS.min)} – ${requestsPerS(s.requestsPerS.max)})`]);
  if (s.connectionsPerS) facts.push(["new connections/s", `${withCi(s.connectionsPerS, (v) => requestsPerS(v).replace("req/s", "conn/s"))} (n=${s.connectionsPerS.n})`]);
  const pcts = (
    [
      ["p50", s.latencyP50Us],
      ["p90", s.latencyP90Us],
      ["p99", s.latencyP99Us],
      ["p99.9", s.latencyP999Us],
    ] as const
  ).flatMap(([k, v]) => (v ? [`${k} ${latencyWithCi(v, c.tool)}`] : []));
  if (pcts.length) facts.push(["latency percentiles (mean over repetitions)", pcts.join(" · ")]);
  if (s.clientCpuPercentPer10kRequests || s.serverCpuPercentPer10kRequests)
    facts.push(["CPU % of node per 10k requests/s", `client ${withCi(s.clientCpuPercentPer10kRequests, fixed(2))} · server ${withCi(s.serverCpuPercentPer10kRequests, fixed(2))}`]);
  if (s.clientCpuPercentPer1kConnections || s.serverCpuPercentPer1kConnections)
    facts.push([
      "CPU % of node per 1k new connections/s",
      `client ${withCi(s.clientCpuPercentPer1kConnections, fixed(2))} · server ${withCi(s.serverCpuPercentPer1kConnections, fixed(2))}`,
    ]);
  facts.push([
    "carrying interface",
    `client ${carrying(c.repetitions.map((r) => r.clientCarryingInterface))} · server ${carrying(c.repetitions.map((r) => r.serverCarryingInterface))}`,
  ]);
  if (s.wireToPayload) facts.push(["wire/payload", withCi(s.wireToPayload, fixed(3))]);
  if (s.clientCpuPercentPerGbps || s.serverCpuPercentPerGbps)
    facts.push(["CPU % of node per Gbit/s", `client ${withCi(s.clientCpuPercentPerGbps, fixed(1))} · server ${withCi(s.serverCpuPercentPerGbps, fixed(1))}`]);
  if (c.protocol === "tcp" && driverNamed(c.tool)?.capabilities.retransmits) facts.push(["retransmits", `${s.retransmits} over ${s.repetitions - s.failed} repetitions`]);
  facts.push(["vs host-host", baselineCell(c)]);
  if (s.flags.length) facts.push(["flags", s.flags.join(", ")]);
  // Which end's CPU was saturated, and why, per cpu-bound repetition.
  const cpuBound = c.repetitions.filter((r) => r.cpuBound).map((r) => `#${r.index + 1}: ${r.cpuBound}`);
  if (cpuBound.length) facts.push(["cpu-bound", cpuBound.join(" · ")]);
  const def = defaults.get(c.caseId) ?? 0;
  const options = c.repetitions.map((r, i) => `<option value="${i}"${i === def ? " selected" : ""}>${esc(repetitionLabel(r))}</option>`).join("");
  return `<section class="case" id="case-${esc(c.caseId)}" data-case="${esc(c.caseId)}">
<h3>${esc(caseTitle(c))}</h3>
<dl class="facts">${facts.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join("")}</dl>
${s.failed ? `<div class="failures">${failuresHtml(c)}</div>` : ""}
<details class="charts-box"><summary>timelines: tool throughput, NIC rates, CPU</summary>
<label>repetition <select class="rep">${options}</select></label>
<div class="charts"></div>
</details>
</section>`;
}

/** A section per case; `defaults` maps a case id to the repetition (array index) the picker starts on. */
export function casesHtml(doc: ReportDocument, defaults: Map<string, number>): string {
  return `<section id="cases">
<h2>Cases</h2>
<p class="note">Open a case's timelines to see the tool's throughput per interval, every busy NIC's rx/tx rates at both ends and both nodes' CPU, on one time axis (seconds since the repetition started; each point is the mean over the interval that ends there). <button type="button" id="open-all">open all timelines</button></p>
${orderedCases(doc)
  .map((c) => caseHtml(c, defaults))
  .join("\n")}
</section>`;
}

/** Nodes, agents, tool versions, the CNI guess and the spec. */
export function environmentHtml(env: Environment): string {
  const nodes = env.nodes.map((n) => {
    const ifaces = n.interfaces
      .map((i) => `<tr><td>${esc(i.name)}</td><td class="num">${i.mtu}</td><td class="num">${i.speedMbps ?? "-"}</td><td>${esc(i.addresses.join(", "))}</td></tr>`)
      .join("");
    const agents = n.agents.map((a) => `${esc(a.id)} (${esc(a.mode)}${a.address ? `, ${esc(a.address)}` : ""})`).join("<br>");
    return `<div class="node" data-node="${esc(n.node)}">
<h3>${esc(n.node)}</h3>
<dl class="facts"><div><dt>kernel</dt><dd>${esc(n.kernel || "-")}</dd></div><div><dt>CPU</dt><dd>${esc(n.cpuModel || "-")}${n.cpuCount ? ` × ${n.cpuCount}` : ""}</dd></div><div><dt>facts from</dt><dd>${esc(n.source)}</dd></div></dl>
<table class="grid"><thead><tr><th>interface</th><th>MTU</th><th>Mbit/s</th><th>addresses</th></tr></thead><tbody>${ifaces}</tbody></table>
<p>agents: ${agents}</p>
</div>`;
  });
  const tools = env.tools.map((t) => `<tr><td>${esc(t.versions)}</td><td>${esc(t.agents.join(", "))}</td></tr>`).join("");
  return `<section id="environment">
<h2>Environment</h2>
<div class="cni" data-cni="${esc(env.cni.cni)}"><strong>CNI (guessed): ${esc(env.cni.cni)}</strong> · encapsulation ${esc(env.cni.encapsulation)} · confidence ${esc(env.cni.confidence)}
<ul>${env.cni.reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul></div>
<div class="nodes">${nodes.join("\n")}</div>
<h3>Tool versions</h3>
<table class="grid"><thead><tr><th>versions</th><th>agents</th></tr></thead><tbody>${tools}</tbody></table>
<h3>Spec</h3>
<pre class="spec">${esc(env.specYaml)}</pre>
</section>`;
}
