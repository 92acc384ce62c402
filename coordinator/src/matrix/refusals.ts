/**
 * What a plan leaves out, and why: refusals (cannot run here) and skips
 * (a combination a tool does not have), aggregated so a thousand node pairs
 * missing the same thing make one entry with a count, not a thousand. Pure.
 */
import type { ToolName } from "../../../tools/src/index.js";
import type { ScenarioName } from "../../../common/src/scenarios.js";

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
