/**
 * Expands a matrix spec over the registered agents into concrete cases: for
 * every scenario, every selected node pair (or node), and every parameter
 * combination, which agent is the client, which the server, and how the
 * client reaches it. What cannot be planned is reported with a reason —
 * never silently dropped and never faked. Pure and deterministic.
 *
 * This is the plan listed whole, for small plans, tests and reports; the
 * matrix runner streams it instead (stream.ts), and both make their cases
 * in one place (PlanStream).
 */
import { fingerprint } from "./hash.js";
import type { MatrixSpec } from "./spec.js";
import { PlanStream } from "./stream.js";
import type { Plan, PlannedCase, PlannerAgent, PlannerOptions } from "./planner-types.js";

export type { Refusal } from "./refusals.js";
export type { Plan, PlannedCase, PlannerAgent, PlannerOptions } from "./planner-types.js";

/**
 * Plan `spec` over `agents`. Case order: scenarios in spec order, then
 * parameter combinations (tool, protocol, direction, parallel, length,
 * bitrate), then node pairs in natural node-name order (client-major).
 * Allocates every case: check the plan's size first (size.ts `planSize`).
 */
export function plan(spec: MatrixSpec, agents: readonly PlannerAgent[], opts: PlannerOptions = {}): Plan {
  const stream = new PlanStream(spec, agents, opts);
  const cases = [...stream.listing()];
  resolveIdCollisions(cases);
  return { cases, refused: stream.refused };
}

/**
 * Ids are `caseId(key)`; two different keys sharing 48 bits is rare but
 * possible, so check and, only then, give every later duplicate the
 * fingerprint of "key#n" instead.
 */
function resolveIdCollisions(cases: PlannedCase[]): void {
  const seen = new Set<string>();
  let clash = false;
  for (const c of cases) {
    if (seen.has(c.id)) {
      clash = true;
      break;
    }
    seen.add(c.id);
  }
  if (!clash) return;
  const taken = new Set<string>();
  for (const c of cases) {
    for (let n = 2; taken.has(c.id); n++) c.id = fingerprint(`${c.key}#${n}`);
    taken.add(c.id);
  }
}
