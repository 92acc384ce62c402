/**
 * The environment fingerprints of a run (AgentInfo.fingerprint, taken by
 * each agent at registration and kept in the run's inventory.json) as the
 * report and `compare` use them: per node the host agent's, flattened into
 * facts; the facts that move the numbers (kernel, CPU governor, MTU and
 * offloads, encapsulation, kube-proxy mode) compared between two
 * fingerprints. Pure.
 */
import type { AgentStatus, GetRunResponse } from "../../gen/netmatrix/v1/control_pb.js";
import { Encapsulation, KubeProxyMode, type Fingerprint } from "../../gen/netmatrix/v1/fingerprint_pb.js";
import { NetworkMode } from "../../gen/netmatrix/v1/types_pb.js";
import { naturalCompare } from "../../common/src/natural-compare.js";

const ENCAPSULATION: Record<number, string> = {
  [Encapsulation.UNSPECIFIED]: "unknown",
  [Encapsulation.NONE]: "none",
  [Encapsulation.VXLAN]: "vxlan",
  [Encapsulation.IPIP]: "ipip",
  [Encapsulation.GENEVE]: "geneve",
  [Encapsulation.WIREGUARD]: "wireguard",
};
const KUBE_PROXY: Record<number, string> = {
  [KubeProxyMode.UNSPECIFIED]: "unknown",
  [KubeProxyMode.IPTABLES]: "iptables",
  [KubeProxyMode.IPVS]: "ipvs",
  [KubeProxyMode.NFTABLES]: "nftables",
};
export const encapsulationName = (e: Encapsulation): string => ENCAPSULATION[e] ?? "unknown";
export const kubeProxyModeName = (m: KubeProxyMode): string => KUBE_PROXY[m] ?? "unknown";

/** One fact of a fingerprint: "eth0 MTU" = "1450". `moves`: a difference in it moves the numbers. */
export interface Fact {
  key: string;
  value: string;
  moves: boolean;
  /** The interface it is about, when it is about one. */
  iface?: string;
}

const onOff = (b: boolean): string => (b ? "on" : "off");

/** `fp` as facts, in display order: the node's, then each interface's. Empty values ("" or 0) are "-". */
export function fingerprintFacts(fp: Fingerprint): Fact[] {
  const v = (x: string | number): string => (x === "" || x === 0 ? "-" : String(x));
  const out: Fact[] = [
    { key: "kernel", value: v(fp.kernel), moves: true },
    { key: "CPU", value: `${fp.cpuModel || "-"}${fp.cpuCount ? ` × ${fp.cpuCount}` : ""}`, moves: false },
    { key: "CPU governor", value: v(fp.governor), moves: true },
    { key: "encapsulation", value: encapsulationName(fp.encapsulation), moves: true },
    { key: "kube-proxy mode", value: kubeProxyModeName(fp.kubeProxyMode), moves: true },
    { key: "conntrack max", value: v(fp.conntrackMax), moves: false },
  ];
  for (const i of [...fp.interfaces].sort((a, b) => naturalCompare(a.name, b.name))) {
    out.push({ key: `${i.name} MTU`, value: v(i.mtu), moves: true, iface: i.name });
    for (const [name, on] of Object.entries(i.offloads).sort((a, b) => a[0].localeCompare(b[0])))
      out.push({ key: `${i.name} ${name}`, value: onOff(on), moves: true, iface: i.name });
  }
  return out;
}

/**
 * How fingerprint B differs from A in what moves the numbers, one line per
 * difference ("eth0 MTU: 1500 → 9001"). Interfaces are compared by name,
 * only those both have (pods' veths are named anew every time); a fact
 * unknown on either side ("-") is not a difference.
 */
export function diffFingerprints(a: Fingerprint, b: Fingerprint): string[] {
  const fb = new Map(fingerprintFacts(b).map((f) => [f.key, f.value]));
  const unknown = (x: string | undefined): boolean => x === undefined || x === "-" || x === "unknown";
  return fingerprintFacts(a)
    .filter((f) => f.moves && !unknown(f.value) && !unknown(fb.get(f.key)) && fb.get(f.key) !== f.value)
    .map((f) => `${f.key}: ${f.value} → ${fb.get(f.key)}`);
}

/** Each node's fingerprint: its host-mode agent's, else any of its agents'. Sorted by node. */
export function nodeFingerprints(agents: readonly AgentStatus[]): Map<string, { agent: string; fingerprint: Fingerprint }> {
  const out = new Map<string, { agent: string; fingerprint: Fingerprint; host: boolean }>();
  for (const a of agents) {
    const fp = a.info?.fingerprint;
    if (!fp) continue;
    const node = a.info?.node || a.agentId;
    const host = a.info?.mode === NetworkMode.HOST;
    const have = out.get(node);
    if (!have || (host && !have.host)) out.set(node, { agent: a.agentId, fingerprint: fp, host });
  }
  return new Map([...out.entries()].sort((x, y) => naturalCompare(x[0], y[0])).map(([n, { agent, fingerprint }]) => [n, { agent, fingerprint }]));
}

/** The compare notes: per node both runs fingerprinted, one line per difference that moves the numbers. */
export function fingerprintNotes(a: GetRunResponse, b: GetRunResponse): string[] {
  const fa = nodeFingerprints(a.agents);
  const fb = nodeFingerprints(b.agents);
  const out: string[] = [];
  for (const [node, x] of fa) {
    const y = fb.get(node);
    if (y) for (const d of diffFingerprints(x.fingerprint, y.fingerprint)) out.push(`${node}'s environment differs (A → B): ${d}.`);
  }
  return out;
}

/** The fingerprint in the JSON report: names instead of enum numbers. */
export function fingerprintDocument(fp: Fingerprint) {
  return {
    kernel: fp.kernel,
    cpuModel: fp.cpuModel,
    cpuCount: fp.cpuCount,
    governor: fp.governor,
    encapsulation: encapsulationName(fp.encapsulation),
    encapsulationEvidence: [...fp.encapsulationEvidence],
    kubeProxyMode: kubeProxyModeName(fp.kubeProxyMode),
    kubeProxyEvidence: [...fp.kubeProxyEvidence],
    conntrackMax: fp.conntrackMax,
    conntrackCount: fp.conntrackCount,
    interfaces: fp.interfaces.map((i) => ({
      name: i.name,
      driver: i.driver,
      kind: i.kind,
      mtu: i.mtu,
      speedMbps: i.speedMbps,
      offloads: { ...i.offloads },
      rxQueues: i.rxQueues,
      txQueues: i.txQueues,
    })),
    notes: [...fp.notes],
    collectMs: fp.collectMs,
  };
}
