/**
 * The names people and drivers use (`iperf3`, `udp`, `server-busy`) mapped to
 * and from the protobuf enums. One table per enum, used by agent, coordinator
 * and CLI alike.
 */
import { Direction, FailureCode, NetworkMode, Protocol, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "./errors.js";

export type ToolName = "iperf3" | "iperf2" | "qperf" | "ping";
export type ProtocolName = "tcp" | "udp";
export type DirectionName = "forward" | "reverse" | "bidir";
export type ModeName = "host" | "pod" | "external";
export type FailureName =
  | "tool-missing"
  | "server-busy"
  | "unreachable"
  | "timeout"
  | "agent-gone"
  | "parse-error"
  | "tool-error"
  | "invalid-spec"
  | "cancelled"
  | "internal";

function table<N extends string, E extends number>(pairs: [N, E][]) {
  const byName = new Map<string, E>(pairs);
  const byValue = new Map<number, N>(pairs.map(([n, e]) => [e, n]));
  return {
    names: pairs.map(([n]) => n),
    toEnum(name: string, what: string): E {
      const v = byName.get(name);
      if (v === undefined) {
        throw new NetmatrixError("invalid-argument", `unknown ${what} "${name}"`, {
          hint: `use one of: ${pairs.map(([n]) => n).join(", ")}`,
        });
      }
      return v;
    },
    toName(value: number): N | undefined {
      return byValue.get(value);
    },
  };
}

export const tools = table<ToolName, Tool>([
  ["iperf3", Tool.IPERF3],
  ["iperf2", Tool.IPERF2],
  ["qperf", Tool.QPERF],
  ["ping", Tool.PING],
]);

export const protocols = table<ProtocolName, Protocol>([
  ["tcp", Protocol.TCP],
  ["udp", Protocol.UDP],
]);

export const directions = table<DirectionName, Direction>([
  ["forward", Direction.FORWARD],
  ["reverse", Direction.REVERSE],
  ["bidir", Direction.BIDIR],
]);

export const modes = table<ModeName, NetworkMode>([
  ["host", NetworkMode.HOST],
  ["pod", NetworkMode.POD],
  ["external", NetworkMode.EXTERNAL],
]);

export const failures = table<FailureName, FailureCode>([
  ["tool-missing", FailureCode.TOOL_MISSING],
  ["server-busy", FailureCode.SERVER_BUSY],
  ["unreachable", FailureCode.UNREACHABLE],
  ["timeout", FailureCode.TIMEOUT],
  ["agent-gone", FailureCode.AGENT_GONE],
  ["parse-error", FailureCode.PARSE_ERROR],
  ["tool-error", FailureCode.TOOL_ERROR],
  ["invalid-spec", FailureCode.INVALID_SPEC],
  ["cancelled", FailureCode.CANCELLED],
  ["internal", FailureCode.INTERNAL],
]);

/** The name of a tool enum, or "unknown" (for messages). */
export function toolName(t: Tool): string {
  return tools.toName(t) ?? "unknown";
}

/** The name of a failure code, or "internal". */
export function failureName(c: FailureCode): FailureName {
  return failures.toName(c) ?? "internal";
}
