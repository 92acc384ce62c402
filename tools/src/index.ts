/**
 * The tools catalogue: one driver per tool netmatrix wraps, each owning all
 * of its knowledge (argv, parser, bounds, run length, capabilities, payload
 * bytes, Debian package). A new tool is one file beside these plus its
 * fixtures, and one entry in {@link CATALOGUE}; nothing outside this folder
 * says a tool's name in a condition.
 */
import type { Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { http } from "./http.js";
import { iperf2 } from "./iperf2.js";
import { iperf3 } from "./iperf3.js";
import { ping } from "./ping.js";
import { qperf } from "./qperf.js";
import { sockperf } from "./sockperf.js";
import type { Driver } from "./types.js";

/** Every driver, in the order people see them listed. */
const CATALOGUE = [iperf3, iperf2, qperf, ping, http, sockperf] as const;

/** Tools netmatrix wraps. */
export type ToolName = (typeof CATALOGUE)[number]["tool"];

/** Every driver, by tool name. */
export const drivers = Object.fromEntries(CATALOGUE.map((d) => [d.tool, d])) as Record<ToolName, Driver<ToolName>>;

/** The driver of `tool`; throws on a name outside ToolName (a programming error, not a runtime condition). */
export function driverFor(tool: ToolName): Driver<ToolName> {
  const d = drivers[tool];
  if (!d) throw new Error(`no driver for tool "${String(tool)}"`);
  return d;
}

const byWire = new Map<number, Driver<ToolName>>(CATALOGUE.map((d) => [d.wire, d]));

/** Tool names to and from the wire enum, as common/model's tables do for the other enums. */
export const tools = {
  names: CATALOGUE.map((d) => d.tool) as ToolName[],
  toEnum(name: string, what = "tool"): Tool {
    const d = (drivers as Record<string, Driver<ToolName> | undefined>)[name];
    if (!d) throw new NetmatrixError("invalid-argument", `unknown ${what} "${name}"`, { hint: `use one of: ${tools.names.join(", ")}` });
    return d.wire;
  },
  toName(value: number): ToolName | undefined {
    return byWire.get(value)?.tool;
  },
};

/** The driver of a wire tool value, undefined for an unknown one. */
export function driverOfWire(value: number): Driver<ToolName> | undefined {
  return byWire.get(value);
}

/** The name of a tool enum, or "unknown" (for messages). */
export function toolName(t: Tool): string {
  return tools.toName(t) ?? "unknown";
}

/** The driver named `name` (a name read from a file or the wire), undefined when the catalogue has none. */
export function driverNamed(name: string): Driver<ToolName> | undefined {
  return isToolName(name) ? drivers[name] : undefined;
}

/** Whether the tool named `name` measures ICMP, so its cases have no TCP/UDP flavour ("icmp"). */
export function isIcmpTool(name: string): boolean {
  return driverNamed(name)?.capabilities.transport === "icmp";
}

/**
 * A short label of a test: the tool name alone for an ICMP tool, else the
 * tool and then the given parameter words (empty ones dropped).
 */
export function testLabel(tool: string, ...params: (string | false | undefined)[]): string {
  if (isIcmpTool(tool)) return tool;
  return [tool, ...params].filter(Boolean).join(" ");
}

/** Whether `name` is a tool of the catalogue. */
export function isToolName(name: string): name is ToolName {
  return Object.hasOwn(drivers, name);
}

export { http } from "./http.js";
export { iperf2 } from "./iperf2.js";
export { iperf3 } from "./iperf3.js";
export { ping } from "./ping.js";
export { qperf } from "./qperf.js";
export { sockperf } from "./sockperf.js";
export type {
  CapturedOutput,
  Capabilities,
  ClientParams,
  Direction,
  Driver,
  DriverFailure,
  FailureCode,
  HostFacts,
  HttpMode,
  IntervalSample,
  Latency,
  Measurement,
  Measures,
  ParseOutcome,
  PayloadFigures,
  Protocol,
  RunLength,
  SelfTest,
  ServerOutcome,
  ServerFile,
  ServerParams,
  ServerReport,
  ServicePath,
  StreamTotals,
  Transport,
} from "./types.js";
