/**
 * UDP rate ladders in the report: each ladder as JSON (the found rate, the
 * threshold, every step), one text row per path (found rate, loss at it,
 * steps used) and, in the HTML report, a table of the curve and an SVG chart
 * (offered → received, and loss). Pure; every string from the run escaped.
 */
import type { UdpLadderResult } from "../../gen/netmatrix/v1/ladder_pb.js";
import { formatBitrate, formatPercent } from "../../common/src/format.js";
import { esc } from "./html-util.js";
import { renderTextTable, type TextColumn } from "./text-table.js";

/** One ladder as the report's JSON has it; figures not measured are null, never guessed. */
export function ladderJson(l: UdpLadderResult) {
  return {
    lossThresholdPercent: l.lossThresholdPercent,
    maxSteps: l.maxSteps,
    stepDurationS: l.stepDurationS,
    startBps: l.startBps,
    startFrom: l.startFrom,
    found: l.found,
    foundOfferedBps: l.foundOfferedBps ?? null,
    foundReceivedBps: l.foundReceivedBps ?? null,
    foundLossPercent: l.foundLossPercent ?? null,
    stopReason: l.stopReason,
    steps: l.steps.map((s) => ({
      offeredBps: s.offeredBps,
      receivedBps: s.receivedBps ?? null,
      lossPercent: s.lossPercent ?? null,
      jitterMs: s.jitterMs ?? null,
      sentBps: s.sentBps ?? null,
      good: s.good,
      phase: s.phase,
      failure: s.failure?.reason || null,
    })),
  };
}

export type LadderJson = ReturnType<typeof ladderJson>;

/** The part of a report case the ladder sections read. */
interface LadderCase {
  key: string;
  clientNode: string;
  serverNode: string;
  scenario: string;
  tool: string;
  ladders?: (LadderJson | null)[];
}

/** Each (case, repetition) with a ladder. */
function ladders(cases: readonly LadderCase[]): { c: LadderCase; rep: number; l: LadderJson }[] {
  return cases.flatMap((c) => (c.ladders ?? []).flatMap((l, rep) => (l ? [{ c, rep, l }] : [])));
}

const COLUMNS: TextColumn[] = [
  { head: "path", priority: 0, maxWidth: 60, wrapMin: 20 },
  { head: "found rate", priority: 0, align: "right" },
  { head: "received", priority: 2, align: "right" },
  { head: "loss at it", priority: 0, align: "right" },
  { head: "steps", priority: 1, align: "right" },
  { head: "stopped", priority: 3, maxWidth: 50, wrapMin: 20 },
];

function pathLabel(c: LadderCase, rep: number, many: boolean): string {
  return `${c.scenario} ${c.clientNode} → ${c.serverNode} ${c.tool}${many ? ` #${rep + 1}` : ""}`;
}

/** The text report's ladder section: one row per path (and repetition); no lines when the run has no ladder. */
export function ladderLines(cases: readonly LadderCase[], fit: { width?: number; wide?: boolean } = {}): string[] {
  const all = ladders(cases);
  if (!all.length) return [];
  const many = all.some((x) => x.rep > 0);
  const rows = all.map(({ c, rep, l }) => [
    pathLabel(c, rep, many),
    l.found ? formatBitrate(l.foundOfferedBps) : "none",
    l.found ? formatBitrate(l.foundReceivedBps) : "-",
    l.found ? formatPercent(l.foundLossPercent ?? undefined, 3) : `≥ ${l.lossThresholdPercent} % at every step`,
    `${l.steps.length}/${l.maxSteps}`,
    l.stopReason,
  ]);
  const threshold = [...new Set(all.map((x) => x.l.lossThresholdPercent))].join(", ");
  return ["", `UDP rate ladders: the highest offered rate with loss under ${threshold} %`, ...renderTextTable(COLUMNS, rows, fit).lines];
}

const W = 420;
const H = 200;
const PAD = { l: 58, r: 46, t: 12, b: 34 };

/** An SVG chart of one ladder: received against offered (and the ideal y = x), loss on the right axis; steps in offered order. */
export function ladderSvg(l: LadderJson): string {
  const steps = l.steps.filter((s) => s.receivedBps !== null).sort((a, b) => a.offeredBps - b.offeredBps);
  if (!steps.length) return `<p class="note">No step measured anything to chart.</p>`;
  const maxX = Math.max(...steps.map((s) => s.offeredBps));
  const maxY = Math.max(maxX, ...steps.map((s) => s.receivedBps ?? 0));
  const maxLoss = Math.max(l.lossThresholdPercent * 2, ...steps.map((s) => s.lossPercent ?? 0));
  const x = (v: number) => PAD.l + (v / maxX) * (W - PAD.l - PAD.r);
  const y = (v: number) => H - PAD.b - (v / maxY) * (H - PAD.t - PAD.b);
  const yl = (v: number) => H - PAD.b - (v / maxLoss) * (H - PAD.t - PAD.b);
  const pts = (f: (s: (typeof steps)[number]) => [number, number]) =>
    steps
      .map(f)
      .map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`)
      .join(" ");
  const received = pts((s) => [x(s.offeredBps), y(s.receivedBps ?? 0)]);
  const loss = pts((s) => [x(s.offeredBps), yl(s.lossPercent ?? 0)]);
  const dots = steps
    .map(
      (s) =>
        `<circle cx="${x(s.offeredBps).toFixed(1)}" cy="${y(s.receivedBps ?? 0).toFixed(1)}" r="3" fill="${s.good ? "#1a7f37" : "#b00020"}"><title>${esc(`offered ${formatBitrate(s.offeredBps)} (sent ${formatBitrate(s.sentBps)}) → received ${formatBitrate(s.receivedBps)}, loss ${formatPercent(s.lossPercent ?? undefined, 3)}`)}</title></circle>`,
    )
    .join("");
  const found =
    l.found && l.foundOfferedBps !== null
      ? `<line x1="${x(l.foundOfferedBps).toFixed(1)}" x2="${x(l.foundOfferedBps).toFixed(1)}" y1="${PAD.t}" y2="${H - PAD.b}" stroke="#1a7f37" stroke-dasharray="4 3"/>`
      : "";
  const threshold = `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${yl(l.lossThresholdPercent).toFixed(1)}" y2="${yl(l.lossThresholdPercent).toFixed(1)}" stroke="#e0a000" stroke-dasharray="2 3"/>`;
  return `<svg class="ladder-chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="received and loss against offered rate">
<line x1="${PAD.l}" y1="${H - PAD.b}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#999"/><line x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${H - PAD.b}" stroke="#999"/><line x1="${W - PAD.r}" y1="${PAD.t}" x2="${W - PAD.r}" y2="${H - PAD.b}" stroke="#ccc"/>
<line x1="${PAD.l}" y1="${y(0)}" x2="${x(maxX).toFixed(1)}" y2="${y(maxX).toFixed(1)}" stroke="#ccc" stroke-dasharray="3 3"/>${threshold}${found}
<polyline points="${received}" fill="none" stroke="#1f5fa8" stroke-width="1.5"/><polyline points="${loss}" fill="none" stroke="#e0a000" stroke-width="1.2"/>${dots}
<text x="${PAD.l - 4}" y="${PAD.t + 8}" text-anchor="end" font-size="10">${esc(formatBitrate(maxY))}</text><text x="${PAD.l - 4}" y="${H - PAD.b}" text-anchor="end" font-size="10">0</text>
<text x="${W - PAD.r + 4}" y="${PAD.t + 8}" font-size="10">${esc(formatPercent(maxLoss, 2))}</text><text x="${W - PAD.r + 4}" y="${H - PAD.b}" font-size="10">0 %</text>
<text x="${x(maxX).toFixed(1)}" y="${H - PAD.b + 14}" text-anchor="end" font-size="10">${esc(formatBitrate(maxX))}</text>
<text x="${((W + PAD.l - PAD.r) / 2).toFixed(1)}" y="${H - 4}" text-anchor="middle" font-size="10">offered → received (blue), loss (amber, right axis)</text>
</svg>`;
}

/** The HTML report's ladder section (leading newline): per ladder, the found rate, the curve as a table and the chart; "" when the run has none. */
export function laddersHtml(cases: readonly LadderCase[]): string {
  const all = ladders(cases);
  if (!all.length) return "";
  const many = all.some((x) => x.rep > 0);
  const one = ({ c, rep, l }: (typeof all)[number]): string => {
    const head = l.found
      ? `found ${esc(formatBitrate(l.foundOfferedBps))} offered (received ${esc(formatBitrate(l.foundReceivedBps))}, loss ${esc(formatPercent(l.foundLossPercent ?? undefined, 3))})`
      : `<span class="bad">no offered rate kept loss under ${esc(l.lossThresholdPercent)} %</span>`;
    const rows = l.steps
      .map(
        (s, i) =>
          `<tr><td class="num">${i + 1}</td><td>${esc(s.phase)}</td><td class="num">${esc(formatBitrate(s.offeredBps))}</td><td class="num">${esc(formatBitrate(s.sentBps))}</td><td class="num">${esc(formatBitrate(s.receivedBps))}</td><td class="num${s.good ? "" : " bad"}">${esc(formatPercent(s.lossPercent ?? undefined, 3))}</td><td class="num">${s.jitterMs === null ? "-" : esc(`${s.jitterMs.toFixed(3)} ms`)}</td><td>${esc(s.failure ?? "")}</td></tr>`,
      )
      .join("\n");
    return `<div class="ladder" data-case="${esc(c.key)}">
<h3>${esc(pathLabel(c, rep, many))}</h3>
<p class="note">${head}; ${l.steps.length} of at most ${esc(l.maxSteps)} steps of ${esc(l.stepDurationS)} s, starting at ${esc(formatBitrate(l.startBps))} (${esc(l.startFrom)}); ${esc(l.stopReason)}.</p>
<table class="grid"><thead><tr><th class="num">step</th><th>phase</th><th class="num">offered</th><th class="num">sent</th><th class="num">received</th><th class="num">loss</th><th class="num">jitter</th><th>failure</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${ladderSvg(l)}
</div>`;
  };
  // On its own line after the heatmaps; nothing at all for a run without ladders (the page stays as it was).
  return `\n<section id="ladders">
<h2>UDP rate ladders</h2>
<p class="note">Each ladder looks for the highest offered UDP rate whose loss stays under the threshold: doubling (or halving) from its start, then bisecting, a short test per step.</p>
${all.map(one).join("\n")}
</section>`;
}
