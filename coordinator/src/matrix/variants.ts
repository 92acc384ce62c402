/**
 * The parameter side of a matrix: every tool × protocol × direction ×
 * parallel × length × UDP bitrate combination a spec asks for, each either
 * plannable or carrying the reason it is skipped (qperf and ping do not do
 * reverse, bidir or parallel streams; UDP datagrams stop at 65507 bytes; …).
 * Node pairs are crossed in later, by the planner. Pure.
 */
import type { DirectionName, FamilyName, HttpModeName, ProtocolName } from "../../../common/src/model.js";
import type { ToolName } from "../../../tools/src/index.js";
import { drivers, tools as toolCatalogue } from "../../../tools/src/index.js";
import type { SpecList } from "../../../tools/src/types.js";
import type { MatrixSpec, UdpLadderSpec } from "./spec-types.js";
import { formatBitrateBps, formatSizeBytes } from "../../../common/src/units.js";

/**
 * The transport a case measures. Ping is ICMP: it has no TCP/UDP flavour, so
 * its cases say "icmp" rather than borrowing "tcp" as a placeholder; when
 * handing a case to an agent, "icmp" maps to an unset protocol (the drivers
 * and `specProblems` already accept that for ping).
 */
export type CaseProtocol = ProtocolName | "icmp";

/** What a test runs with: shared by a combination of the spec and every case planned from it. Units in the names. */
export interface TestParameters {
  tool: ToolName;
  /** "icmp" for ping (see CaseProtocol). */
  protocol: CaseProtocol;
  direction: DirectionName;
  parallel: number;
  /** 0 = the tool's default. */
  lengthBytes: number;
  /** UDP target rate for tools that pace; undefined for TCP and tools that cannot. */
  bitrateBps: number | undefined;
  durationS: number;
  /** 0 for tools that cannot omit. */
  omitS: number;
  /** http: keepalive or new-connection; absent for tools that do not take `httpModes`. */
  httpMode?: HttpModeName;
  /** http: concurrent connections (wrk -c); absent for tools that do not take `connections`. */
  connections?: number;
  /** http: the body the server answers with, bytes; absent for tools that do not take `bodies`. */
  bodyBytes?: number;
  /** sockperf: messages/s, 0 = ping-pong; absent for tools that do not take `messageRates`. */
  messageRatePerS?: number;
  /** TCP maximum segment size, bytes (`mss`); absent when the spec lists none, and for UDP and ICMP cases. */
  mssBytes?: number;
  /** `udp: ladder`: this UDP case runs as a rate ladder (coordinator/src/ladder; no fixed bitrate); absent for fixed-rate cases. */
  ladder?: UdpLadderSpec;
}

/** One combination of test parameters. */
export interface Variant extends TestParameters {
  /** The address family the client targets the server over. */
  family: FamilyName;
  /**
   * "tool/protocol/direction/P…/L…[/B…]": the middle of a case key; for tools
   * crossed with their own lists, "tool/protocol/direction[/P…][/L…]" and
   * those lists' parts, e.g. "http/tcp/forward/C16/B1K/keepalive",
   * "sockperf/udp/forward/L64/R0"; "/M1460" at the end when the case sets an
   * MSS, "/ipv6" appended for IPv6 (IPv4 keys are as they were before families).
   */
  paramKey: string;
  /** Why this combination is not planned, when it is not. */
  skip?: string;
  /** Added by `crosscheck` (another tool on a listed tool's parameters): planned on cross-checked rows only. */
  crosscheck?: true;
}

/** Largest UDP datagram payload (IPv4: 65535 − 20 IP − 8 UDP), which also bounds ping's payload. */
export const MAX_DATAGRAM_BYTES = 65507;

/**
 * Every combination `spec` asks for, in spec order (tool-major, then
 * protocol, direction, parallel, length, bitrate). Skipped combinations are
 * included with their reason so the planner can report them.
 */
export function variants(spec: MatrixSpec): Variant[] {
  const listed = crossed(spec);
  return spec.crosscheck === false ? listed : [...listed, ...crosscheckVariants(spec, listed)];
}

/** Whether `scenario`'s row is cross-checked (the spec's `crosscheck`). */
export function crosschecked(spec: Pick<MatrixSpec, "crosscheck">, scenario: string): boolean {
  return spec.crosscheck === true || (Array.isArray(spec.crosscheck) && (spec.crosscheck as readonly string[]).includes(scenario));
}

/**
 * What `crosscheck` adds: for each protocol a listed tool cross-checks
 * (its driver's `crosscheck` capability), every other tool of the catalogue
 * that cross-checks it, on the spec's parameters, after the listed variants;
 * combinations a tool cannot do carry its driver's reason, as listed ones do.
 */
function crosscheckVariants(spec: MatrixSpec, listed: readonly Variant[]): Variant[] {
  const has = new Set(listed.map((v) => v.paramKey));
  const takes = (t: ToolName, p: ProtocolName): boolean => drivers[t].capabilities.crosscheck?.[p] === true;
  return spec.protocols.flatMap((p) => {
    if (!spec.tools.some((t) => takes(t, p))) return [];
    const others = toolCatalogue.names.filter((t) => !spec.tools.includes(t) && takes(t, p));
    return others.length ? crossed({ ...spec, tools: others, protocols: [p] }).flatMap((v) => (has.has(v.paramKey) ? [] : [{ ...v, crosscheck: true as const }])) : [];
  });
}

/** Every combination of the listed tools (see `variants`). */
function crossed(spec: MatrixSpec): Variant[] {
  const out: Variant[] = [];
  for (const tool of spec.tools) {
    for (const protocol of spec.protocols) {
      // An ICMP tool has no TCP/UDP flavour: the first listed protocol stands for it, the others are noted as covered.
      const { capabilities: can } = drivers[tool];
      const icmp = can.transport === "icmp";
      const caseProtocol: CaseProtocol = icmp ? "icmp" : protocol;
      const icmpDuplicate = icmp && protocol !== spec.protocols[0];
      const takesLength = can.lengths !== false;
      for (const direction of spec.directions) {
        for (const parallel of spec.parallel) {
          spec.lengthsBytes.forEach((length, lengthIndex) => {
            const lengthBytes = takesLength ? length : 0;
            // `udp: ladder`: one ladder stands for the udpBitrates of a tool that paces (coordinator/src/ladder).
            const ladder = caseProtocol === "udp" && can.pacing ? spec.udpLadder : undefined;
            const rates = ladder ? [undefined] : caseProtocol === "udp" ? spec.udpBitratesBps : [undefined];
            rates.forEach((rate, rateIndex) => {
              const bitrateBps = can.pacing ? rate : undefined;
              // mss is TCP's: UDP and ICMP cases run once whatever it lists.
              const msses = caseProtocol === "tcp" && spec.mssBytes.length ? spec.mssBytes : [undefined];
              for (const [own, mssBytes] of ownCombinations(spec, can.specLists ?? []).flatMap((o) => msses.map((m) => [o, m] as const))) {
                for (const family of spec.families) {
                  const key = can.specLists?.length
                    ? ownParamKey(tool, caseProtocol, direction, parallel, takesLength ? lengthBytes : undefined, own)
                    : paramKey(tool, caseProtocol, direction, parallel, lengthBytes, bitrateBps);
                  const base = ladder
                    ? `${paramKey(tool, caseProtocol, direction, parallel, lengthBytes, undefined)}/ladder`
                    : mssBytes !== undefined
                      ? `${key}/M${mssBytes}`
                      : key;
                  const v: Variant = {
                    tool,
                    protocol: caseProtocol,
                    direction,
                    parallel,
                    lengthBytes,
                    bitrateBps,
                    durationS: spec.durationS,
                    omitS: can.omit ? spec.omitS : 0,
                    ...own,
                    ...(mssBytes !== undefined ? { mssBytes } : {}),
                    // A ladder's duration is its steps' (what the planner estimates by); each step runs stepDurationS, no omit.
                    ...(ladder ? { ladder, durationS: ladder.maxSteps * ladder.stepDurationS, omitS: 0 } : {}),
                    family,
                    paramKey: family === "ipv4" ? base : `${base}/${family}`,
                  };
                  const skip = icmpDuplicate
                    ? `${tool} is ICMP: one case per pair covers every listed protocol (${protocol} not repeated)`
                    : !can.pacing && rateIndex > 0
                      ? `${tool} cannot pace UDP to a bitrate (it sends as fast as it can): one case without a bitrate stands for every udpBitrates entry`
                      : !takesLength && lengthIndex > 0
                        ? `${tool} takes no length (lengths): one case stands for every lengths entry`
                        : mssBytes !== undefined && !can.mss
                          ? `${tool} cannot set the TCP MSS: its TCP cases are skipped while mss lists sizes (run it in a spec without mss)`
                          : (can.cannotFamily?.[family] ?? skipReason(v));
                  out.push(skip === undefined ? v : { ...v, skip });
                }
              }
            });
          });
        }
      }
    }
  }
  return out;
}

/** The parameters of a tool's own lists (capabilities.specLists). */
type OwnParams = Pick<Variant, "connections" | "bodyBytes" | "httpMode" | "messageRatePerS">;

/** Every combination of the lists `lists` of `spec` (connections, then bodies, then modes, then rates); [{}] for none. */
export function ownCombinations(spec: Pick<MatrixSpec, "connections" | "bodiesBytes" | "httpModes" | "messageRatesPerS">, lists: readonly SpecList[]): OwnParams[] {
  let out: OwnParams[] = [{}];
  const cross = <T>(values: readonly T[], set: (o: OwnParams, v: T) => OwnParams): void => {
    out = out.flatMap((o) => values.map((v) => set(o, v)));
  };
  if (lists.includes("connections")) cross(spec.connections, (o, connections) => ({ ...o, connections }));
  if (lists.includes("bodies")) cross(spec.bodiesBytes, (o, bodyBytes) => ({ ...o, bodyBytes }));
  if (lists.includes("httpModes")) cross(spec.httpModes, (o, httpMode) => ({ ...o, httpMode }));
  if (lists.includes("messageRates")) cross(spec.messageRatesPerS, (o, messageRatePerS) => ({ ...o, messageRatePerS }));
  return out;
}

/**
 * "http/tcp/forward/C16/B1K/keepalive", "sockperf/udp/forward/L64/R0": the
 * key of a tool crossed with its own lists — P only when not 1 (such tools
 * run one stream), L only for tools that take a length, then C connections,
 * B body, the HTTP mode and R messages/s, each only when the tool takes it.
 */
export function ownParamKey(tool: ToolName, protocol: CaseProtocol, direction: DirectionName, parallel: number, lengthBytes: number | undefined, own: OwnParams): string {
  const parts = [`${tool}/${protocol}/${direction}`];
  if (parallel !== 1) parts.push(`P${parallel}`);
  if (lengthBytes !== undefined) parts.push(`L${formatSizeBytes(lengthBytes)}`);
  if (own.connections !== undefined) parts.push(`C${own.connections}`);
  if (own.bodyBytes !== undefined) parts.push(`B${formatSizeBytes(own.bodyBytes)}`);
  if (own.httpMode !== undefined) parts.push(own.httpMode);
  if (own.messageRatePerS !== undefined) parts.push(`R${own.messageRatePerS}`);
  return parts.join("/");
}

/** Why `v` cannot run, from the planner's own limits and the tool's driver; undefined when it can. */
function skipReason(v: Variant): string | undefined {
  if ((v.protocol === "udp" || v.protocol === "icmp") && v.lengthBytes > MAX_DATAGRAM_BYTES) {
    const what = v.protocol === "icmp" ? "a ping payload" : "a UDP datagram";
    return `length ${formatSizeBytes(v.lengthBytes)} is more than ${what} can carry (${MAX_DATAGRAM_BYTES} bytes)`;
  }
  return drivers[v.tool].unsupported({
    target: "0.0.0.0",
    port: 0,
    protocol: v.protocol === "icmp" ? "tcp" : v.protocol,
    direction: v.direction,
    parallel: v.parallel,
    durationS: v.durationS,
    ...(v.bitrateBps !== undefined ? { bitrateBps: v.bitrateBps } : v.ladder ? { bitrateBps: 1e9 } : {}),
    ...(v.lengthBytes > 0 ? { lengthBytes: v.lengthBytes } : {}),
    ...(v.omitS > 0 ? { omitS: v.omitS } : {}),
    ...(v.httpMode !== undefined ? { httpMode: v.httpMode } : {}),
    ...(v.connections !== undefined ? { connections: v.connections } : {}),
    ...(v.bodyBytes !== undefined ? { bodyBytes: v.bodyBytes } : {}),
    ...(v.messageRatePerS !== undefined && v.messageRatePerS > 0 ? { messageRatePerS: v.messageRatePerS } : {}),
    ...(v.mssBytes !== undefined ? { mss: v.mssBytes } : {}),
  });
}

/** "iperf3/udp/forward/P1/L0/B1G": the parameters of a case, readable and unique per combination. */
export function paramKey(tool: ToolName, protocol: CaseProtocol, direction: DirectionName, parallel: number, lengthBytes: number, bitrateBps: number | undefined): string {
  const rate = bitrateBps === undefined ? "" : `/B${formatBitrateBps(bitrateBps)}`;
  return `${tool}/${protocol}/${direction}/P${parallel}/L${formatSizeBytes(lengthBytes)}${rate}`;
}
