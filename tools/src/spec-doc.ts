/** A wire TestSpec as a document: names instead of enums, 0 for tool defaults. Pure. */
import type { TestSpec } from "../../gen/netmatrix/v1/types_pb.js";
import { directions, familyName, httpModes, protocols } from "../../common/src/model.js";
import { driverOfWire, toolName } from "./index.js";
import type { RunLength } from "./types.js";

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
    httpMode: httpModes.toName(s?.httpMode ?? 0) ?? "keepalive",
    connections: Math.max(1, s?.connections ?? 1),
    bodyBytes: s?.bodyBytes ?? 0,
    messageRatePerS: s?.messageRatePerS ?? 0,
    // Only for IPv6 cases, so IPv4 documents (and the reports made of them) stay as they were before families.
    ...(familyName(s?.family ?? 0) === "ipv6" ? { family: "ipv6" as const } : {}),
  };
}

/** What decides how long a wire spec's run lasts. */
export function runLengthOf(s: TestSpec): RunLength {
  const r: RunLength = { durationS: s.durationS };
  if (s.omitS > 0) r.omitS = s.omitS;
  if (s.pingCount > 0) r.pingCount = s.pingCount;
  if (s.pingIntervalMs > 0) r.pingIntervalS = s.pingIntervalMs / 1000;
  return r;
}

/** Milliseconds a wire spec's run measures (its tool's own rule), omitted seconds included. */
export function measurementMs(s: TestSpec): number {
  const driver = driverOfWire(s.tool);
  return driver ? Math.round(driver.runMs(runLengthOf(s))) : s.durationS * 1000;
}
