/**
 * A comparison per scenario: the mean change of each metric over the matched,
 * comparable cases, so a reader sees at a glance e.g. "pod-pod-cross:
 * throughput −3.4 %, wire/payload +3.5 %". Pure.
 */
import type { CaseComparison, MetricComparison } from "./compare-types.js";

/** One metric over one scenario's comparable cases. */
export interface MetricRollup {
  metric: MetricComparison["metric"];
  label: string;
  /** Cases whose change % is known (A's mean not 0). */
  cases: number;
  /** Arithmetic mean of the cases' change, % of A. */
  meanChangePercent: number;
  better: number;
  worse: number;
  unchanged: number;
  untested: number;
}

export interface ScenarioRollup {
  scenario: string;
  /** Matched cases that can be compared, and those that cannot (left out of the means). */
  comparableCases: number;
  notComparableCases: number;
  /** In the order of `METRICS` (headline metrics first). */
  metrics: MetricRollup[];
  /** One line: "pod-pod-cross: throughput −3.4 % (6 cases: 6 worse), …". */
  summary: string;
}

/** "+3.5 %", "−3.4 %", "0.0 %" (a true minus sign); "-" for null. */
export function formatChange(pct: number | null | undefined, digits = 1): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return "-";
  const t = Math.abs(pct).toFixed(digits);
  if (Number(t) === 0) return `${(0).toFixed(digits)} %`;
  return `${pct > 0 ? "+" : "−"}${t} %`;
}

function counts(r: MetricRollup): string {
  const parts = [
    r.worse ? `${r.worse} worse` : "",
    r.better ? `${r.better} better` : "",
    r.unchanged ? `${r.unchanged} unchanged` : "",
    r.untested ? `${r.untested} untested` : "",
  ].filter(Boolean);
  return `${r.cases} case${r.cases === 1 ? "" : "s"}${parts.length ? `: ${parts.join(", ")}` : ""}`;
}

/** Roll matched cases up per scenario, in the order scenarios first appear; metrics in `order`. */
export function rollup(cases: readonly CaseComparison[], order: readonly string[]): ScenarioRollup[] {
  const scenarios = [...new Set(cases.map((c) => c.scenario))];
  return scenarios.map((scenario) => {
    const mine = cases.filter((c) => c.scenario === scenario);
    const comparable = mine.filter((c) => c.comparable);
    const byMetric = new Map<string, { label: string; metric: MetricComparison["metric"]; rows: MetricComparison[] }>();
    for (const c of comparable) {
      for (const m of c.metrics) {
        const e = byMetric.get(m.metric) ?? { label: m.label, metric: m.metric, rows: [] };
        e.rows.push(m);
        byMetric.set(m.metric, e);
      }
    }
    const metrics: MetricRollup[] = [];
    const sorted = [...byMetric.values()].sort((x, y) => order.indexOf(x.metric) - order.indexOf(y.metric));
    for (const { label, metric, rows } of sorted) {
      const known = rows.flatMap((m) => (m.changePercent === null ? [] : [m.changePercent]));
      if (known.length === 0) continue;
      metrics.push({
        metric,
        label,
        cases: known.length,
        meanChangePercent: known.reduce((s, v) => s + v, 0) / known.length,
        better: rows.filter((m) => m.verdict === "better").length,
        worse: rows.filter((m) => m.verdict === "worse").length,
        unchanged: rows.filter((m) => m.verdict === "no significant change").length,
        untested: rows.filter((m) => m.verdict === "not tested (n<2)").length,
      });
    }
    const excluded = mine.length - comparable.length;
    const body = metrics.map((m) => `${m.label} ${formatChange(m.meanChangePercent)} (${counts(m)})`).join(", ");
    const tail = excluded ? `; ${excluded} not comparable case${excluded === 1 ? "" : "s"} left out` : "";
    return { scenario, comparableCases: comparable.length, notComparableCases: excluded, metrics, summary: `${scenario}: ${body || "nothing comparable"}${tail}` };
  });
}
