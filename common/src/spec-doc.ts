/** A wire TestSpec as a document: names instead of enums, 0 for tool defaults. Pure. */
import type { TestSpec } from "../../gen/netmatrix/v1/types_pb.js";
import { directions, protocols, toolName } from "./model.js";

/** A wire spec with names instead of enums. */
export function specDoc(s: TestSpec | undefined) {
  return {
    tool: toolName(s?.tool ?? 0),
    protocol: protocols.toName(s?.protocol ?? 0) ?? "tcp",
    direction: directions.toName(s?.direction ?? 0) ?? "forward",
    durationS: s?.durationS ?? 0,
    parallel: Math.max(1, s?.parallel ?? 1),
    bitrateBps: s?.bitrateBps ?? 0,
    lengthBytes: s?.lengthBytes ?? 0,
    windowBytes: s?.windowBytes ?? 0,
    mss: s?.mss ?? 0,
    omitS: s?.omitS ?? 0,
    pingCount: s?.pingCount ?? 0,
    pingIntervalMs: s?.pingIntervalMs ?? 0,
  };
}
