/**
 * The driver registry: one pure driver per tool netmatrix wraps.
 */
import { iperf2 } from "./iperf2.js";
import { iperf3 } from "./iperf3.js";
import { ping } from "./ping.js";
import { qperf } from "./qperf.js";
import type { Driver, ToolName } from "./types.js";

/** Every driver, by tool name. */
export const drivers: Record<ToolName, Driver> = { iperf3, iperf2, qperf, ping };

/** The driver of `tool`; throws on a name outside ToolName (a programming error, not a runtime condition). */
export function driverFor(tool: ToolName): Driver {
  const d = drivers[tool];
  if (!d) throw new Error(`no driver for tool "${String(tool)}"`);
  return d;
}

export { iperf2 } from "./iperf2.js";
export { iperf3 } from "./iperf3.js";
export { ping } from "./ping.js";
export { qperf } from "./qperf.js";
export type {
  CapturedOutput,
  ClientParams,
  Direction,
  Driver,
  DriverFailure,
  FailureCode,
  IntervalSample,
  Latency,
  Measurement,
  ParseOutcome,
  Protocol,
  ServerParams,
  ServerReport,
  StreamTotals,
  ToolName,
} from "./types.js";
