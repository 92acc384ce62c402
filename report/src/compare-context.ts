/**
 * What decides whether two runs' results of one case can be compared: each
 * node's underlay (MTU and NIC speed of the interface holding the host-mode
 * agent's address), the pods' MTU, the tool versions, the test parameters
 * outside the match key, and the runs' specs. Pure, over `GetRunResponse`s.
 */
import type { AgentStatus, CaseRecord, GetRunResponse } from "../../gen/netmatrix/v1/control_pb.js";
import { NetworkMode, type AgentInfo } from "../../gen/netmatrix/v1/types_pb.js";
import type { specDoc } from "../../tools/src/spec-doc.js";

/** A node's underlay interface: the one holding its host-mode agent's primary address. */
export interface Underlay {
  iface: string;
  /** Bytes. */
  mtu: number;
  /** Mbit/s; 0 when unknown. */
  speedMbps: number;
}

/** The interface of `info` holding `address`, else undefined. */
function interfaceOf(info: AgentInfo | undefined, address: string | undefined) {
  return address === undefined ? undefined : info?.interfaces.find((i) => i.addresses.includes(address));
}

/** The inventory's view of an agent (taken when the run started), else what the record carried. */
function infoOf(resp: GetRunResponse, status: AgentStatus | undefined): AgentInfo | undefined {
  return resp.agents.find((a) => a.agentId === status?.agentId)?.info ?? status?.info;
}

/** Each node's underlay, from the host-mode agents of the inventory (and, failing that, of the records). */
export function underlays(resp: GetRunResponse): Map<string, Underlay> {
  const out = new Map<string, Underlay>();
  const statuses = [...resp.agents, ...resp.records.flatMap((r) => [r.result?.client, r.result?.server])];
  for (const s of statuses) {
    const info = s?.info;
    if (!info || info.mode !== NetworkMode.HOST || out.has(info.node)) continue;
    const nic = interfaceOf(info, info.addresses[0]);
    if (nic) out.set(info.node, { iface: nic.name, mtu: nic.mtu, speedMbps: nic.speedMbps });
  }
  return out;
}

/** The smallest MTU of the case's pod-mode ends (the path MTU the CNI gives pods), bytes; undefined without pods. */
export function podMtu(resp: GetRunResponse, r: CaseRecord): number | undefined {
  const mtus = [r.result?.client, r.result?.server].flatMap((s) => {
    const info = s?.info ?? infoOf(resp, s);
    if (info?.mode !== NetworkMode.POD) return [];
    const nic = interfaceOf(info, info.addresses[0]);
    return nic ? [nic.mtu] : [];
  });
  return mtus.length ? Math.min(...mtus) : undefined;
}

/**
 * The tool versions a case ran with: from the repetitions' tool runs, else
 * from the two agents' inventory. Sorted, without duplicates.
 */
export function toolVersions(resp: GetRunResponse, records: readonly CaseRecord[], tool: number): string[] {
  const seen = new Set<string>();
  for (const r of records) {
    for (const run of r.result?.repetitions.flatMap((p) => [p.client, p.server]) ?? []) if (run?.toolVersion) seen.add(run.toolVersion);
  }
  if (seen.size === 0) {
    const first = records[0];
    for (const s of [first?.result?.client, first?.result?.server]) {
      const t = infoOf(resp, s)?.tools.find((x) => x.tool === tool && x.available);
      if (t?.version) seen.add(t.version);
    }
  }
  return [...seen].sort();
}

/** The nodes a run covered: its inventory's and its cases'. Sorted. */
export function nodesOf(resp: GetRunResponse): string[] {
  const nodes = new Set(resp.agents.map((a) => a.info?.node ?? "").filter(Boolean));
  for (const r of resp.records) for (const n of [r.clientNode, r.serverNode]) if (n) nodes.add(n);
  return [...nodes].sort();
}

type CaseSpec = ReturnType<typeof specDoc>;

/** The two ends' nodes and their specs and versions, per run, as `caseReasons` reads them. */
export interface CaseSide {
  nodes: readonly string[];
  spec: CaseSpec;
  tool: string;
  versions: readonly string[];
  underlay: ReadonlyMap<string, Underlay>;
}

/**
 * Why B's result of a case cannot be compared with A's, as sentences (empty
 * when it can): a node's underlay MTU or NIC speed differs, the tool version
 * differs, or a test parameter outside the match key differs.
 */
export function caseReasons(a: CaseSide, b: CaseSide): string[] {
  const out: string[] = [];
  for (const node of new Set([...a.nodes, ...b.nodes])) {
    const ua = a.underlay.get(node);
    const ub = b.underlay.get(node);
    if (!ua || !ub) continue;
    if (ua.mtu !== ub.mtu) out.push(`${node}'s underlay MTU differs: ${ua.mtu} (${ua.iface}) in A, ${ub.mtu} (${ub.iface}) in B.`);
    if (ua.speedMbps && ub.speedMbps && ua.speedMbps !== ub.speedMbps)
      out.push(`${node}'s NIC speed differs: ${ua.speedMbps} Mbit/s (${ua.iface}) in A, ${ub.speedMbps} Mbit/s (${ub.iface}) in B.`);
  }
  if (a.versions.length && b.versions.length && a.versions.join() !== b.versions.join()) {
    out.push(`${a.tool} version differs: ${a.versions.join(", ")} in A, ${b.versions.join(", ")} in B.`);
  }
  const params: [string, (s: CaseSpec) => number, (v: number) => string][] = [
    ["test duration", (s) => s.durationS, (v) => `${v} s`],
    ["omitted start (-O)", (s) => s.omitS, (v) => `${v} s`],
    ["ping count", (s) => s.pingCount, (v) => (v ? String(v) : "derived from the duration")],
    ["ping interval", (s) => s.pingIntervalMs || 200, (v) => `${v} ms`],
  ];
  for (const [what, get, show] of params) {
    const va = get(a.spec);
    const vb = get(b.spec);
    if (va !== vb) out.push(`${what} differs: ${show(va)} in A, ${show(vb)} in B.`);
  }
  return out;
}

function flatten(v: unknown, path: string, out: Map<string, string>): void {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, JSON.stringify(v));
  }
}

/** How spec B differs from spec A, one sentence per setting ("duration: 2 → 10."), ignoring the name. */
export function specDifferences(a: unknown, b: unknown): string[] {
  const fa = new Map<string, string>();
  const fb = new Map<string, string>();
  flatten(a, "", fa);
  flatten(b, "", fb);
  const keys = [...new Set([...fa.keys(), ...fb.keys()])].filter((k) => k !== "name").sort();
  return keys.filter((k) => fa.get(k) !== fb.get(k)).map((k) => `${k}: ${fa.get(k) ?? "(unset)"} → ${fb.get(k) ?? "(unset)"}.`);
}
