/**
 * Cross-tool agreement (spec key `crosscheck`): cases that measure the same
 * path — scenario, node pair, protocol, direction, streams, length, offered
 * rate — with different throughput tools form a group; each tool's median
 * throughput is set side by side, and the group disagrees when the largest
 * median is more than `tolerancePercent` above the smallest. The NIC
 * counters referee: each repetition carries the wire bytes its client's
 * carrying interface counted per payload byte the tool reported
 * (Repetition.wire_to_payload); a tool whose ratio lies within what the
 * path's framing allows (`referee`) is one whose payload the interface saw.
 * Which tools take part is their drivers' `crosscheck` capability. Pure.
 */

import { CASE_FLAGS } from "../../common/src/model.js";

/** The flag a case of a disagreeing group gets. */
export const TOOLS_DISAGREE = CASE_FLAGS.toolsDisagree;

/** Default: medians more than 5 % apart disagree. */
export const AGREEMENT_TOLERANCE_PERCENT = 5;

/** One case as the agreement needs it. */
export interface AgreementCase {
  key: string;
  tool: string;
  /** Everything that makes two cases the same path, the tool left out (`pathKey`). */
  path: string;
  /** Median throughput over its repetitions, bits/s; undefined when none measured. */
  medianBps: number | undefined;
  /** Median wire bytes per payload byte over its repetitions; undefined without NIC counters. */
  wireToPayload: number | undefined;
  /**
   * Wire bytes per payload byte the path's framing costs (headers per
   * packet); undefined when unknown (an interface without an MTU, a UDP
   * datagram of the tool's own default size).
   */
  expectedWireToPayload: number | undefined;
}

/** One tool's figures in a group. */
export interface ToolFigure {
  tool: string;
  caseKey: string;
  medianBps: number;
  wireToPayload: number | null;
}

/**
 * What the NIC counters say about a group: the tools whose payload the
 * carrying interface's bytes back (empty when there are no counters or the
 * path's framing is unknown), and why, in a sentence.
 */
export interface Referee {
  tools: string[];
  text: string;
}

/** One path measured by several tools. */
export interface AgreementGroup {
  path: string;
  tools: ToolFigure[];
  /** (max − min) / min of the medians, percent. */
  spreadPercent: number;
  disagree: boolean;
  referee: Referee;
}

/** What a case's path is made of, as its report case carries it. */
export interface PathParts {
  scenario: string;
  clientNode: string;
  serverNode: string;
  protocol: string;
  direction: string;
  parallel: number;
  lengthBytes: number;
  bitrateBps: number;
}

/**
 * A path's key from its parts: the same for every tool that measures it.
 * Tool settings (window, omit, TCP pacing) are not the path: a tool mis-set on the same
 * path is what the agreement is there to catch.
 */
export function pathKey(c: PathParts): string {
  const parts = [c.scenario, c.protocol, c.direction, `P${c.parallel}`, `L${c.lengthBytes}`];
  // UDP's offered rate is the path's load; TCP pacing is a tool setting.
  if (c.protocol === "udp" && c.bitrateBps > 0) parts.push(`B${c.bitrateBps}`);
  return `${parts.join("/")}/${c.clientNode}→${c.serverNode}`;
}

/**
 * Wire bytes per payload byte on Ethernet (14-byte header counted by Linux
 * interface counters) for a path of `mtu`: TCP segments of mtu − 52 bytes
 * (IPv4 20 + TCP 20 + timestamps 12); UDP datagrams of `lengthBytes` plus 42
 * (one IP packet each, up to mtu − 28). Undefined when it cannot be told.
 */
export function framingOverhead(protocol: string, mtu: number | undefined, lengthBytes: number): number | undefined {
  if (!mtu || mtu < 576) return undefined;
  if (protocol === "tcp") return (mtu + 14) / (mtu - 52);
  if (protocol === "udp" && lengthBytes > 0 && lengthBytes <= mtu - 28) return (lengthBytes + 42) / lengthBytes;
  return undefined;
}

/** How far a tool's wire/payload may stray outside 1…framing and still be backed (counter and window-edge slack). */
const SLACK = 0.005;

/**
 * The NIC counters' verdict on `figures`, on a path whose framing costs
 * `expected` wire bytes per payload byte. Interfaces that count GSO/TSO
 * super-packets (veth, most virtual NICs) see one set of headers per
 * super-packet, so an honest ratio lies anywhere in 1…expected: a tool
 * whose ratio is in that band (± 0.5 %) reported the payload the interface
 * carried; below it, it claims more than crossed; above, less. When none
 * is in the band, the nearest is named as such.
 */
export function referee(figures: readonly ToolFigure[], expected: number | undefined): Referee {
  const counted = figures.filter((f): f is ToolFigure & { wireToPayload: number } => f.wireToPayload !== null);
  const list = (fs: readonly { tool: string; wireToPayload: number }[]) => fs.map((f) => `${f.tool} ${f.wireToPayload.toFixed(3)}`).join(", ");
  if (!counted.length) return { tools: [], text: "no NIC counters: no tool's payload could be checked against the carrying interface" };
  if (expected === undefined)
    return { tools: [], text: `wire/payload ${list(counted)}, but the path's framing overhead is unknown (no MTU, or UDP datagrams of the tool's default size)` };
  const off = (r: number): number => (r < 1 ? 1 - r : r > expected ? r / expected - 1 : 0);
  const band = `1.000–${expected.toFixed(3)}`;
  const backed = counted.filter((f) => off(f.wireToPayload) <= SLACK);
  const rest = counted.filter((f) => !backed.includes(f));
  const why = (f: { wireToPayload: number }) => (f.wireToPayload < 1 ? "claims more than crossed" : "reports less than crossed");
  const not = rest.length ? `; not ${rest.map((f) => `${f.tool} (${f.wireToPayload.toFixed(3)}: ${why(f)})`).join(", ")}` : "";
  if (backed.length)
    return { tools: backed.map((f) => f.tool), text: `the carrying interface's bytes back ${list(backed)} (wire/payload within ${band}, what the path's framing allows)${not}` };
  const nearest = [...counted].sort((x, y) => off(x.wireToPayload) - off(y.wireToPayload))[0]!;
  return { tools: [], text: `no tool's wire/payload is within ${band}: ${list(counted)}; nearest ${nearest.tool}` };
}

/**
 * Groups of `cases` that measure one path with two or more tools, in the
 * order their first case comes; a tool with no median (every repetition
 * failed) is left out of its group, never counted as 0.
 */
export function agreement(cases: readonly AgreementCase[], tolerancePercent = AGREEMENT_TOLERANCE_PERCENT): AgreementGroup[] {
  const byPath = new Map<string, AgreementCase[]>();
  for (const c of cases) {
    if (c.medianBps === undefined || !Number.isFinite(c.medianBps) || c.medianBps <= 0) continue;
    byPath.set(c.path, [...(byPath.get(c.path) ?? []), c]);
  }
  const out: AgreementGroup[] = [];
  for (const [path, group] of byPath) {
    if (new Set(group.map((c) => c.tool)).size < 2) continue;
    const tools = group.map((c) => ({ tool: c.tool, caseKey: c.key, medianBps: c.medianBps!, wireToPayload: c.wireToPayload ?? null }));
    const medians = tools.map((t) => t.medianBps);
    const spreadPercent = (Math.max(...medians) / Math.min(...medians) - 1) * 100;
    const expected = group.find((c) => c.expectedWireToPayload !== undefined)?.expectedWireToPayload;
    // A rounding error (1050/1000 − 1 = 0.05000000000000004) is not a disagreement.
    out.push({ path, tools, spreadPercent, disagree: spreadPercent > tolerancePercent + 1e-9, referee: referee(tools, expected) });
  }
  return out;
}
