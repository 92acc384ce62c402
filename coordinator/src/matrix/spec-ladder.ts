/**
 * The `udp` key: `udp: ladder` (the defaults) or
 * `udp: { ladder: { lossPercent: 0.1, steps: 8, duration: 2 } }` — UDP cases
 * of tools that pace to a bitrate run as a rate ladder (coordinator/src/ladder)
 * instead of at each `udpBitrates` entry. Absent: the fixed bitrates.
 */
import type { SpecReader } from "./spec-reader.js";
import type { UdpLadderSpec } from "./spec-types.js";

export const LADDER_DEFAULTS: UdpLadderSpec = { lossPercent: 0.1, maxSteps: 8, stepDurationS: 2 };

export const LADDER_BOUNDS = {
  /** `lossPercent`: a step is good when its loss is below it; 0 would make none good. */
  lossPercent: { min: 0.001, max: 50 },
  /** `steps`: tests at most per ladder. */
  steps: { min: 3, max: 16 },
  /** `duration`: seconds per step. */
  duration: { min: 1, max: 10 },
} as const;

const EXAMPLE = "write `udp: ladder` or `udp: { ladder: { lossPercent: 0.1, steps: 8, duration: 2 } }`";

/** `udp` of the spec read by `r` (problems recorded in `r`); undefined when absent or wrong. */
export function readUdpLadder(r: SpecReader): UdpLadderSpec | undefined {
  const v = r.get(["udp"]);
  if (v === undefined) return undefined;
  if (v === "ladder") return { ...LADDER_DEFAULTS };
  const isMapping = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
  if (!isMapping(v)) {
    r.report(["udp"], "value", `udp ${JSON.stringify(v) ?? String(v)} is not understood`, EXAMPLE);
    return undefined;
  }
  r.onlyKeys(["udp"], ["ladder"]);
  const ladder = v.ladder;
  if (ladder === "ladder" || ladder === true || ladder === null) return { ...LADDER_DEFAULTS };
  if (!isMapping(ladder)) {
    r.report(["udp", "ladder"], "value", `udp.ladder ${JSON.stringify(ladder) ?? String(ladder)} is not a mapping`, EXAMPLE);
    return undefined;
  }
  r.onlyKeys(["udp", "ladder"], ["lossPercent", "steps", "duration"]);
  const d = LADDER_DEFAULTS;
  return {
    lossPercent: r.number(["udp", "ladder", "lossPercent"], LADDER_BOUNDS.lossPercent, " %", d.lossPercent),
    maxSteps: r.integer(["udp", "ladder", "steps"], LADDER_BOUNDS.steps, "", d.maxSteps),
    stepDurationS: r.integer(["udp", "ladder", "duration"], LADDER_BOUNDS.duration, "s", d.stepDurationS),
  };
}
