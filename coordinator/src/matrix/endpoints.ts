/**
 * Agents by node and role: within a node, agents are taken in natural id
 * order, so "n1/pod/a" is pod agent #1 and "n1/pod/b" pod agent #2 (the
 * streaming plan fills a scenario's roles from this). Pure.
 */
import type { ModeName } from "../../../common/src/model.js";
import { naturalCompare } from "../../../common/src/natural-compare.js";
import type { PlannerAgent } from "./planner-types.js";

/** Agent indices of one node by mode, each list in natural id order. */
type ByMode = Record<ModeName, number[]>;

/** Agent indices by node and mode. */
export function indexAgents(agents: readonly PlannerAgent[]): Map<string, ByMode> {
  const byNode = new Map<string, ByMode>();
  agents.forEach((a, i) => {
    let entry = byNode.get(a.node);
    if (!entry) byNode.set(a.node, (entry = { host: [], pod: [], external: [] }));
    entry[a.mode].push(i);
  });
  for (const e of byNode.values()) for (const l of Object.values(e)) l.sort((x, y) => naturalCompare(agents[x]!.id, agents[y]!.id));
  return byNode;
}

/** Up to `max` names, then "… and N more". */
export function short(names: readonly string[], max = 8): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} … and ${names.length - max} more`;
}
