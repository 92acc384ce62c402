/**
 * The pure half of the lab topology: types, CNI mode descriptions and
 * `planTopology`, which turns options into every name and address (no kernel
 * calls). See topology.ts for the whole picture.
 *
 * Address plan (inside lab namespaces only, plus the root ends of control links):
 * - underlay 198.18.0.0/24: node i = 198.18.0.<10+i>, external = 198.18.0.250;
 * - control 198.18.1.0/24: one /30 per node starting at 198.18.1.128 (node i
 *   gets 198.18.1.<128+4(i−1)>/30; .1 = root end, .2 = node end), external at .192/30;
 * - pods 10.244.<i>.0/24 per node: bridge .1, pod k (0-based) .<10+k>.
 *
 * The root namespace sees only the control links and a route per pod CIDR, so
 * two labs on one machine need different prefixes and different address
 * blocks ({@link blockAddresses}): block b moves the control links to
 * 198.18.<1+b>.0/24 and the pods to 10.244.<16b+i>.0/24. Block 0 is the plan
 * above; the underlay stays inside the lab's namespaces, the same in every block.
 */
import { NetmatrixError } from "../../common/src/errors.js";
import { planIpv6, type LabIpv6 } from "./topology-ipv6-plan.js";

/** How pods on different nodes reach each other. */
export type CniMode = "host-gw" | "vxlan" | "l2";

/** All modes, in the order field report 004 lists them. */
export const CNI_MODES: readonly CniMode[] = ["host-gw", "vxlan", "l2"];

/** The prefix of everything a lab creates unless told otherwise. */
export const DEFAULT_LAB_PREFIX = "nm-lab-";

export interface LabOptions {
  /** Prefix of every namespace and root-namespace link (default {@link DEFAULT_LAB_PREFIX}; 3–11 chars). */
  prefix?: string;
  /** Number of nodes, 1..16 (default 2). */
  nodes?: number;
  /** Data path between nodes (default "host-gw"). */
  cni?: CniMode;
  /** tc rate (e.g. "1gbit") of a tbf qdisc on each node's eth0 egress; unlimited when undefined. */
  nicRate?: string;
  /** Underlay MTU in bytes: each node's eth0 and the underlay bridge (default 1500, {@link MTU_BOUNDS}). */
  mtu?: number;
  /**
   * Pod network MTU in bytes: pods' eth0, their veth peers, cni0 and the
   * vxlan device (default: the underlay MTU, less VXLAN's 50 bytes for vxlan;
   * at most that, at least {@link MTU_BOUNDS} min).
   */
  podMtu?: number;
  /** Pods per node, 1..26 (default 2). */
  podsPerNode?: number;
  /** Add an external host on the underlay (default false). */
  external?: boolean;
  /** Address block 0..{@link ADDRESS_BLOCK_MAX} of the root-visible addresses (default 0; see {@link blockAddresses}). */
  block?: number;
  /** Dual stack: IPv6 underlay and pod addresses beside the IPv4 ones (topology-ipv6.ts); default false. */
  ipv6?: boolean;
}

export interface LabPod {
  /** e.g. "node-1-pod-a". */
  name: string;
  /** Owning node's name, e.g. "node-1". */
  node: string;
  /** Network namespace, `${prefix}${name}`. */
  ns: string;
  /** 10.244.<i>.<10+k> (block 0). */
  address: string;
}

export interface LabNode {
  /** e.g. "node-1". */
  name: string;
  /** 1-based. */
  index: number;
  ns: string;
  /** 198.18.0.<10+i> (on eth0, or on cni0 in l2 mode). */
  underlayAddress: string;
  /** Node end of the control link (reach the node from the root namespace here). */
  controlAddress: string;
  /** Root end of the control link (a coordinator in the root namespace is reached here). */
  controlGateway: string;
  /** 10.244.<i>.0/24 (block 0). */
  podCidr: string;
  /** 10.244.<i>.1 (block 0), the pods' default gateway. */
  bridgeAddress: string;
  pods: LabPod[];
}

export interface LabExternal {
  name: "external";
  ns: string;
  /** 198.18.0.250. */
  address: string;
  controlAddress: string;
  controlGateway: string;
}

export interface LabTopology {
  prefix: string;
  /** Address block (absent in state files written before blocks existed: 0). */
  block?: number;
  cni: CniMode;
  /** Namespace holding the underlay switch `br0`. */
  underlayNs: string;
  /** Underlay MTU, bytes. */
  mtu: number;
  /** MTU inside pods, bytes (mtu − 50 for vxlan). */
  podMtu: number;
  nicRate?: string;
  nodes: LabNode[];
  external?: LabExternal;
  /** The IPv6 plan of a dual-stack lab (`--ipv6`); absent: IPv4 only. */
  ipv6?: LabIpv6;
}

/** One sentence per mode naming the real CNI it stands for. */
export const CNI_DESCRIPTIONS: Record<CniMode, string> = {
  "host-gw":
    "Plain routes to every other node's pod CIDR via that node's underlay address, as flannel's host-gw backend or Calico without encapsulation (BGP-distributed routes) program them.",
  vxlan:
    "A VXLAN overlay (VNI 1, UDP 4789, pod MTU = underlay MTU − 50) with static neighbour and FDB entries per peer node, as flannel's vxlan backend or Calico's VXLAN mode program it.",
  l2: "Pods attached directly to the underlay L2 segment through a bridge that holds the node's NIC, like field report 004's L2 mode (docker on a bridge over eno1) or a cloud-native CNI that puts pods on the underlay network (macvlan/ipvlan plugins, AWS VPC CNI).",
};

/** VXLAN header overhead on IPv4, bytes: outer Ethernet 14 + IP 20 + UDP 8 + VXLAN 8. */
export const VXLAN_OVERHEAD_BYTES = 50;
/** The MTUs a lab takes, bytes: the smallest datagram every IPv4 host must accept (576) to the largest an interface takes. */
export const MTU_BOUNDS = { min: 576, max: 65535 } as const;
/** Linux's limit on interface names, characters. */
export const IFNAME_MAX = 15;
/** Root-namespace link names are the prefix plus at most this many characters ("cext", "c16"). */
const LINK_SUFFIX_MAX = 4;

const RATE_RE = /^\d+(\.\d+)?([kmgt]?(bit|bps))$/i;
const PREFIX_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function intIn(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new NetmatrixError("invalid-argument", `${name} must be an integer in ${lo}..${hi}, got ${String(v)}`);
  return v;
}

/** Check a lab prefix: 3..11 characters of [A-Za-z0-9_.-], so `${prefix}cext` fits in 15. */
export function checkPrefix(prefix: string): string {
  if (prefix.length < 3 || prefix.length > IFNAME_MAX - LINK_SUFFIX_MAX || !PREFIX_RE.test(prefix)) {
    throw new NetmatrixError("invalid-argument", `lab prefix ${JSON.stringify(prefix)} must be 3..${IFNAME_MAX - LINK_SUFFIX_MAX} characters of [A-Za-z0-9_.-]`);
  }
  return prefix;
}

/** Highest address block: 16 nodes' pod /24s of block b end at 10.244.<16b+16>. */
export const ADDRESS_BLOCK_MAX = 14;

/**
 * The root-visible networks of address block `block`: control links in
 * `${control}.0/24` (198.18.<1+block>), pod /24s at 10.244.<podBase + i>
 * (podBase = 16 × block) for node i = 1..16.
 */
export function blockAddresses(block: number): { control: string; podBase: number } {
  intIn("address block", block, 0, ADDRESS_BLOCK_MAX);
  return { control: `198.18.${1 + block}`, podBase: 16 * block };
}

/** The control /30 of node i (1..16) or of the external host (i = 0): root and node ends. */
function controlPair(control: string, i: number): { gateway: string; address: string } {
  const base = i === 0 ? 192 : 128 + 4 * (i - 1);
  return { gateway: `${control}.${base + 1}`, address: `${control}.${base + 2}` };
}

/**
 * The pod network's MTU: `asked`, or the underlay's less the encapsulation
 * (VXLAN: 50 bytes); refused when the pods' packets would not fit the
 * underlay once encapsulated, or when it is below {@link MTU_BOUNDS}.
 */
function planPodMtu(cni: CniMode, mtu: number, asked: number | undefined): number {
  const overhead = cni === "vxlan" ? VXLAN_OVERHEAD_BYTES : 0;
  const most = mtu - overhead;
  const header = overhead ? ` less VXLAN's ${overhead}-byte header` : "";
  if (most < MTU_BOUNDS.min) {
    throw new NetmatrixError(
      "invalid-argument",
      `mtu ${mtu}${header} leaves the pods ${most} bytes, below ${MTU_BOUNDS.min}: use a node MTU of at least ${MTU_BOUNDS.min + overhead}`,
    );
  }
  if (asked === undefined) return most;
  intIn("podMtu", asked, MTU_BOUNDS.min, MTU_BOUNDS.max);
  if (asked > most) {
    throw new NetmatrixError(
      "invalid-argument",
      `pod MTU ${asked} does not fit the node MTU ${mtu}${header} (${cni}): use a pod MTU of at most ${most}, or a node MTU of at least ${asked + overhead}`,
    );
  }
  return asked;
}

/** Pure: every name and address of a lab with options `opts` (defaults filled in, validated). */
export function planTopology(opts: LabOptions = {}): LabTopology {
  const prefix = checkPrefix(opts.prefix ?? DEFAULT_LAB_PREFIX);
  const cni = opts.cni ?? "host-gw";
  if (!CNI_MODES.includes(cni)) throw new NetmatrixError("invalid-argument", `unknown CNI mode ${JSON.stringify(cni)} (use ${CNI_MODES.join(", ")})`);
  const count = intIn("nodes", opts.nodes ?? 2, 1, 16);
  const podsPerNode = intIn("podsPerNode", opts.podsPerNode ?? 2, 1, 26);
  const mtu = intIn("mtu", opts.mtu ?? 1500, MTU_BOUNDS.min, MTU_BOUNDS.max);
  if (opts.nicRate !== undefined && !RATE_RE.test(opts.nicRate)) {
    throw new NetmatrixError("invalid-argument", `nicRate ${JSON.stringify(opts.nicRate)} is not a tc rate such as "1gbit" or "10gbit"`);
  }
  const podMtu = planPodMtu(cni, mtu, opts.podMtu);
  const block = opts.block ?? 0;
  const { control, podBase } = blockAddresses(block);
  const nodes: LabNode[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `node-${i}`;
    const ctl = controlPair(control, i);
    const pod24 = `10.244.${podBase + i}`;
    const pods: LabPod[] = [];
    for (let k = 0; k < podsPerNode; k++) {
      const podName = `${name}-pod-${String.fromCharCode(97 + k)}`;
      pods.push({ name: podName, node: name, ns: `${prefix}${podName}`, address: `${pod24}.${10 + k}` });
    }
    nodes.push({
      name,
      index: i,
      ns: `${prefix}${name}`,
      underlayAddress: `198.18.0.${10 + i}`,
      controlAddress: ctl.address,
      controlGateway: ctl.gateway,
      podCidr: `${pod24}.0/24`,
      bridgeAddress: `${pod24}.1`,
      pods,
    });
  }
  const topo: LabTopology = { prefix, cni, underlayNs: `${prefix}underlay`, mtu, podMtu, nodes };
  // Block 0 leaves the plan (and state.json) exactly as before blocks existed.
  if (block !== 0) topo.block = block;
  if (opts.nicRate !== undefined) topo.nicRate = opts.nicRate;
  if (opts.external) {
    const ctl = controlPair(control, 0);
    topo.external = { name: "external", ns: `${prefix}external`, address: "198.18.0.250", controlAddress: ctl.address, controlGateway: ctl.gateway };
  }
  if (opts.ipv6) topo.ipv6 = planIpv6(topo);
  return topo;
}

/** Root-namespace name of the control link of node `index` (1-based), or of the external host when "ext". */
export function controlLinkName(prefix: string, index: number | "ext"): string {
  return `${prefix}c${String(index)}`;
}

/** Every root-namespace link name the plan creates (all ≤ 15 characters). */
export function rootLinkNames(topo: LabTopology): string[] {
  const names = topo.nodes.map((n) => controlLinkName(topo.prefix, n.index));
  if (topo.external) names.push(controlLinkName(topo.prefix, "ext"));
  return names;
}

/** Every namespace the plan creates, underlay first. */
export function namespaceNames(topo: LabTopology): string[] {
  const names = [topo.underlayNs];
  for (const n of topo.nodes) names.push(n.ns, ...n.pods.map((p) => p.ns));
  if (topo.external) names.push(topo.external.ns);
  return names;
}
