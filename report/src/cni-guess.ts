/**
 * A guess at the cluster's CNI from what the agents saw: the host network's
 * interface names (flannel.1, cali*, cilium_host, …) and the MTU difference
 * between the node and its pods (50 bytes less is VXLAN-like encapsulation).
 * Every guess comes with the reasons behind it. Pure.
 */

/** What the guess needs of an agent: its network mode and its interfaces. */
export interface CniAgent {
  /** "host", "pod" or "external". */
  mode: string;
  /** The primary address (the one peers reach), used to find the node's own interface. */
  address?: string;
  interfaces: { name: string; mtu: number; addresses?: readonly string[] }[];
}

export type Encapsulation = "vxlan" | "geneve" | "ipip" | "wireguard" | "none" | "unknown";

export interface CniGuess {
  /** e.g. "flannel (VXLAN)", "Calico (IPIP)", or "unknown". */
  cni: string;
  encapsulation: Encapsulation;
  /** "high": a CNI's own interface was seen; "low": only the MTU or a generic bridge hints at it; "none": nothing to go on. */
  confidence: "high" | "low" | "none";
  /** Why, one sentence each. */
  reasons: string[];
}

interface Rule {
  cni: string;
  encapsulation: Encapsulation;
  confidence: CniGuess["confidence"];
  /** Matched against the host-network interface names; returns the reason, or undefined. */
  match: (names: string[]) => string | undefined;
}

const has = (names: string[], re: RegExp): string[] => names.filter((n) => re.test(n));
function seen(names: string[], re: RegExp, what: string, all = false): string | undefined {
  const hits = has(names, re);
  if (hits.length === 0) return undefined;
  const shown = all ? hits : hits.slice(0, 3);
  return `interface ${shown.join(", ")}${hits.length > shown.length ? ", …" : ""} ${hits.length === 1 ? "is" : "are"} ${what}`;
}

/** Most specific first: a tunnel device before the CNI's plain interfaces. */
const RULES: Rule[] = [
  { cni: "Cilium (VXLAN)", encapsulation: "vxlan", confidence: "high", match: (n) => seen(n, /^cilium_vxlan$/, "Cilium's VXLAN tunnel device") },
  { cni: "Cilium (Geneve)", encapsulation: "geneve", confidence: "high", match: (n) => seen(n, /^cilium_geneve$/, "Cilium's Geneve tunnel device") },
  {
    cni: "Cilium (native routing)",
    encapsulation: "none",
    confidence: "high",
    match: (n) => seen(n, /^cilium_(host|net)$/, "Cilium's host-side devices, without a tunnel device"),
  },
  { cni: "Calico (VXLAN)", encapsulation: "vxlan", confidence: "high", match: (n) => seen(n, /^vxlan\.calico$/, "Calico's VXLAN device") },
  { cni: "Calico (WireGuard)", encapsulation: "wireguard", confidence: "high", match: (n) => seen(n, /^wireguard\.cali$/, "Calico's WireGuard device") },
  {
    cni: "Calico (IPIP)",
    encapsulation: "ipip",
    confidence: "high",
    match: (n) => (has(n, /^cali/).length > 0 ? seen(n, /^tunl0$/, "an IPIP tunnel next to Calico's cali* veths") : undefined),
  },
  {
    cni: "Calico (no encapsulation, BGP routes)",
    encapsulation: "none",
    confidence: "high",
    match: (n) => seen(n, /^cali[0-9a-f]/, "Calico's pod veths, without a tunnel device"),
  },
  { cni: "Weave Net", encapsulation: "vxlan", confidence: "high", match: (n) => seen(n, /^(weave|vethwe-|vxlan-6784)/, "Weave Net's bridge or fast-datapath devices") },
  { cni: "Antrea (Geneve)", encapsulation: "geneve", confidence: "high", match: (n) => seen(n, /^antrea-(gw0|tun0)$/, "Antrea's gateway or tunnel devices", true) },
  { cni: "Kube-OVN", encapsulation: "geneve", confidence: "high", match: (n) => seen(n, /^ovn0$/, "Kube-OVN's node interface") },
  { cni: "OVN-Kubernetes", encapsulation: "geneve", confidence: "high", match: (n) => seen(n, /^ovn-k8s-mp\d+$/, "OVN-Kubernetes' management port") },
  { cni: "flannel (WireGuard)", encapsulation: "wireguard", confidence: "high", match: (n) => seen(n, /^flannel-wg(-v6)?$/, "flannel's WireGuard device") },
  { cni: "flannel (IPIP)", encapsulation: "ipip", confidence: "high", match: (n) => seen(n, /^flannel\.ipip$/, "flannel's IPIP device") },
  { cni: "flannel (VXLAN)", encapsulation: "vxlan", confidence: "high", match: (n) => seen(n, /^flannel\.\d+$/, "flannel's VXLAN device (flannel.<VNI>)") },
  { cni: "unknown VXLAN overlay", encapsulation: "vxlan", confidence: "low", match: (n) => seen(n, /^vxlan/, "a VXLAN device of no CNI this report knows") },
  {
    cni: "bridge with host routes (flannel host-gw or the bridge CNI)",
    encapsulation: "none",
    confidence: "low",
    match: (n) => (has(n, /^(tunl|vxlan|geneve|genev_sys|gre|wg)/).length === 0 ? seen(n, /^cni0$/, "a pod bridge and there is no tunnel device") : undefined),
  },
];

/** The MTU of the interface that holds `agent`'s primary address, else of eth0, else undefined. */
function primaryMtu(agent: CniAgent): number | undefined {
  const own = agent.address ? agent.interfaces.find((i) => i.addresses?.includes(agent.address!)) : undefined;
  return (own ?? agent.interfaces.find((i) => i.name === "eth0"))?.mtu || undefined;
}

function mostCommon(values: number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]?.[0];
}

/** What the node-vs-pod MTU difference says, when both are known. */
function mtuReason(agents: readonly CniAgent[]): { reason: string; encapsulation: Encapsulation } | undefined {
  const node = mostCommon(agents.filter((a) => a.mode === "host").flatMap((a) => primaryMtu(a) ?? []));
  const pod = mostCommon(agents.filter((a) => a.mode === "pod").flatMap((a) => primaryMtu(a) ?? []));
  if (node === undefined || pod === undefined) return undefined;
  const d = node - pod;
  const head = `pods have MTU ${pod}, nodes ${node}`;
  if (d === 0) return { reason: `${head}: no encapsulation overhead`, encapsulation: "none" };
  if (d === 50) return { reason: `${head}: 50 bytes less, the size of a VXLAN (or Geneve) header over IPv4`, encapsulation: "vxlan" };
  if (d === 20) return { reason: `${head}: 20 bytes less, the size of an IPIP header`, encapsulation: "ipip" };
  if (d === 60 || d === 80) return { reason: `${head}: ${d} bytes less, the size of WireGuard's overhead (IPv4 / IPv6)`, encapsulation: "wireguard" };
  if (d > 0) return { reason: `${head}: ${d} bytes less, some encapsulation`, encapsulation: "unknown" };
  return { reason: `${head}: pods have the larger MTU`, encapsulation: "unknown" };
}

/**
 * Guess the CNI from `agents` (host-network agents show the node's
 * interfaces; pod agents their own MTU). "unknown" when nothing matches.
 */
export function guessCni(agents: readonly CniAgent[]): CniGuess {
  const names = [...new Set(agents.filter((a) => a.mode === "host").flatMap((a) => a.interfaces.map((i) => i.name)))].sort();
  const mtu = mtuReason(agents);
  for (const rule of RULES) {
    const why = rule.match(names);
    if (!why) continue;
    const reasons = [why];
    if (mtu)
      reasons.push(
        mtu.encapsulation === rule.encapsulation || mtu.encapsulation === "unknown"
          ? mtu.reason
          : `${mtu.reason} (which does not fit ${rule.encapsulation === "none" ? "no encapsulation" : rule.encapsulation})`,
      );
    return { cni: rule.cni, encapsulation: rule.encapsulation, confidence: rule.confidence, reasons };
  }
  if (mtu && mtu.encapsulation !== "none" && mtu.encapsulation !== "unknown") {
    return {
      cni: `unknown (${mtu.encapsulation === "vxlan" ? "VXLAN-like" : mtu.encapsulation.toUpperCase()} overlay)`,
      encapsulation: mtu.encapsulation,
      confidence: "low",
      reasons: [mtu.reason],
    };
  }
  const none = names.length === 0 ? "no host-network agent reported the node's interfaces" : `no CNI interface among ${names.join(", ")}`;
  return { cni: "unknown", encapsulation: mtu?.encapsulation ?? "unknown", confidence: "none", reasons: [none, ...(mtu ? [mtu.reason] : [])] };
}
