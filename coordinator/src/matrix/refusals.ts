/**
 * What a plan leaves out, and why: refusals (cannot run here) and skips
 * (a combination a tool does not have), aggregated so a thousand node pairs
 * missing the same thing make one entry with a count, not a thousand. Pure.
 */
import type { ToolName } from "../../../tools/src/index.js";
import { SCENARIOS, type ScenarioName } from "../../../common/src/scenarios.js";

/**
 * Something the spec asked for that is not planned. "refused": it cannot run
 * here (no service provider, no agents, a tool missing); "skipped": an
 * informational note about a combination that does not exist for a tool
 * (qperf reverse, ping parallel streams, …).
 */
export interface Refusal {
  kind: "refused" | "skipped";
  scenario?: ScenarioName;
  tool?: ToolName;
  /** How many cases this entry stands for (0 when a whole scenario or selection could not be expanded). */
  count: number;
  reason: string;
}

/** Refusals aggregated by (kind, scenario, tool, reason), counts summed, in first-seen order. */
export class RefusalLog {
  private readonly byKey = new Map<string, Refusal>();

  add(kind: Refusal["kind"], scenario: ScenarioName | undefined, tool: ToolName | undefined, count: number, reason: string): void {
    const k = `${kind}|${scenario ?? ""}|${tool ?? ""}|${reason}`;
    const existing = this.byKey.get(k);
    if (existing) {
      existing.count += count;
      return;
    }
    this.byKey.set(k, { kind, ...(scenario ? { scenario } : {}), ...(tool ? { tool } : {}), count, reason });
  }

  list(): Refusal[] {
    return [...this.byKey.values()];
  }
}

/**
 * The refusals as lines for people, condensed: one line per kind and cause,
 * naming the scenarios it applies to (catalogue order; "every scenario" when
 * it is all of `scenarios`, the spec's) and how many cases it stands for. A
 * reason that starts with its scenario ("pod-service-cross: needs …") is
 * merged with the same cause in other scenarios. Refusals first.
 */
export function refusalLines(list: readonly Refusal[], scenarios: readonly string[] = []): string[] {
  const groups = new Map<string, { kind: Refusal["kind"]; cause: string; scenarios: Set<string>; count: number }>();
  for (const r of list) {
    const cause = r.scenario && r.reason.startsWith(`${r.scenario}: `) ? r.reason.slice(r.scenario.length + 2) : r.reason;
    const k = `${r.kind}|${cause}`;
    const g = groups.get(k) ?? { kind: r.kind, cause, scenarios: new Set<string>(), count: 0 };
    if (r.scenario) g.scenarios.add(r.scenario);
    g.count += r.count;
    groups.set(k, g);
  }
  const rank = (s: string): number => {
    const i = (SCENARIOS as readonly string[]).indexOf(s);
    return i < 0 ? SCENARIOS.length : i;
  };
  const ordered = [...groups.values()].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === "refused" ? -1 : 1));
  return ordered.map((g) => {
    const names = [...g.scenarios].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    const every = names.length > 1 && scenarios.length === names.length && scenarios.every((s) => g.scenarios.has(s));
    const where = names.length === 0 ? "" : every ? " in every scenario" : ` in ${names.join(", ")}`;
    const count = g.count > 0 ? ` ${g.count} case${g.count === 1 ? "" : "s"}` : "";
    return `${g.kind}${count}${where}: ${g.cause}`;
  });
}
