/**
 * The names people and drivers use (`udp`, `forward`, `server-busy`) mapped to
 * and from the protobuf enums. One table per enum, used by agent, coordinator
 * and CLI alike (tool names belong to the tools catalogue, tools/src).
 */
import { AddressFamily, Direction, FailureCode, HttpMode, NetworkMode, Protocol } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "./errors.js";

export type ProtocolName = "tcp" | "udp";
export type DirectionName = "forward" | "reverse" | "bidir";
export type ModeName = "host" | "pod" | "external";
/** keepalive: requests over persistent connections; new-connection: a new TCP connection per request. */
export type HttpModeName = "keepalive" | "new-connection";
/** The IP address family a case runs over. */
export type FamilyName = "ipv4" | "ipv6";
export type FailureName =
  "tool-missing" | "server-busy" | "unreachable" | "timeout" | "agent-gone" | "parse-error" | "tool-error" | "invalid-spec" | "cancelled" | "target-refused" | "internal";

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

export const protocols = table<ProtocolName, Protocol>([
  ["tcp", Protocol.TCP],
  ["udp", Protocol.UDP],
]);

export const directions = table<DirectionName, Direction>([
  ["forward", Direction.FORWARD],
  ["reverse", Direction.REVERSE],
  ["bidir", Direction.BIDIR],
]);

export const httpModes = table<HttpModeName, HttpMode>([
  ["keepalive", HttpMode.KEEPALIVE],
  ["new-connection", HttpMode.NEW_CONNECTION],
]);

export const families = table<FamilyName, AddressFamily>([
  ["ipv4", AddressFamily.IPV4],
  ["ipv6", AddressFamily.IPV6],
]);

/** The family of a TestSpec's `family` field: unspecified (older coordinators) is IPv4. */
export function familyName(f: AddressFamily): FamilyName {
  return families.toName(f) ?? "ipv4";
}

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
  ["target-refused", FailureCode.TARGET_REFUSED],
]);

/** The name of a failure code, or "internal". */
export function failureName(c: FailureCode): FailureName {
  return failures.toName(c) ?? "internal";
}

/**
 * Flags on a repetition (Repetition.flags), each a word: why it is not an
 * ordinary one. `server-gone`: the server agent's session ended mid-repetition,
 * so whatever was measured comes from the client alone. `cpu-bound`: an end's
 * CPU was saturated while its tool ran (common/src/busy.ts CPU_BOUND), so the
 * figure may measure CPU, not the network; Repetition.cpu_bound_reason says
 * which end and why.
 */
export const REPETITION_FLAGS = { serverGone: "server-gone", cpuBound: "cpu-bound" } as const;

/**
 * Flags the report puts on a case besides stats.ts `flags()` and its
 * repetitions' flags. `baseline-suspect`: a pod path beat its host-host
 * baseline on the same node pair (common/src/busy.ts BASELINE_SUSPECT); on
 * the baseline case and on each case it beat. `tools-disagree`: tools that
 * measured one path (spec `crosscheck`) have medians more than 5 % apart.
 */
export const CASE_FLAGS = { baselineSuspect: "baseline-suspect", toolsDisagree: "tools-disagree" } as const;

/** Repetition flags a case's summary counts as "word (k/n)" rather than naming once. */
const COUNTED_FLAGS: ReadonlySet<string> = new Set([REPETITION_FLAGS.cpuBound]);

/**
 * A case's repetition flags for its summary, in first-seen order: each word
 * once, `cpu-bound` with how many of the repetitions raised it ("cpu-bound (2/3)").
 */
export function repetitionFlagsOfCase(reps: readonly { flags: readonly string[] }[]): string[] {
  const words = [...new Set(reps.flatMap((r) => r.flags))];
  return words.map((w) => (COUNTED_FLAGS.has(w) ? `${w} (${reps.filter((r) => r.flags.includes(w)).length}/${reps.length})` : w));
}

/** The word of a flag without its count: "cpu-bound (2/3)" → "cpu-bound" (for legends and counting). */
export function flagWord(flag: string): string {
  return flag.replace(/ \(\d+\/\d+\)$/, "");
}
