/**
 * Create, list and remove a lab planned by `planTopology`. Everything carries
 * the lab's prefix: namespaces `${prefix}…` and root-namespace veths
 * `${prefix}c<i>`; routes in the root namespace point through those veths, so
 * they vanish with them. Commands run as argv arrays through the exec helper.
 */
import { NetmatrixError } from "../../common/src/errors.js";
import { addNamespace, ip, listNamespaces, rateLimit, sweepNamespaces } from "./netns.js";
import { checkPrefix, controlLinkName, type LabNode, type LabPod, type LabTopology } from "./topology-plan.js";
import { podRoutes, underlayDevice, wireCni } from "./topology-cni.js";
import { wireIpv6 } from "./topology-ipv6.js";
import { deleteRootLink, rootVethLinks, settleAll, sysctl, tryInNs } from "./topology-run.js";

/** What a prefix owns right now. */
export interface LabObjects {
  /** Network namespaces named `${prefix}…`. */
  namespaces: string[];
  /** Root-namespace veth links named `${prefix}…` (control links). */
  rootLinks: string[];
}

/** Name of a node's end of its control link, inside the node namespace. */
const CONTROL_IF = "ctl0";
/** GSO segments per packet on emulated NICs: 1 = the stack hands the NIC wire-sized packets. */
const NIC_GSO_MAX_SEGS = "1";

/**
 * Settings for every lab namespace, applied before it gets any device: IPv6
 * off (no router solicitations or MLD reports skewing packet counters); see
 * {@link pickCongestionControl} for TCP congestion control.
 */
const NS_DEFAULTS: Settings = {
  "net.ipv6.conf.all.disable_ipv6": 1,
  "net.ipv6.conf.default.disable_ipv6": 1,
};

type Settings = Record<string, string | number>;

/**
 * What a real node (and the external host, a machine of its own) has that a
 * new network namespace lacks: systemd's net.ipv4.ping_group_range, which
 * lets every group open ICMP echo sockets (a new namespace has the kernel's
 * "1 0": nobody). The chart's non-root host agent pings through them, and
 * so does the lab's, in a container of the image or not.
 */
export const MACHINE_DEFAULTS: Settings = {
  "net.ipv4.ping_group_range": "0 2147483647",
};

/**
 * Loss-based TCP congestion control for the lab's namespaces: cubic (Linux's
 * default), else reno — a namespace may only pick one the host lists in
 * net.ipv4.tcp_allowed_congestion_control. A host default of BBR would pace
 * with a timer per skb, and with the NICs' GSO off (wire-sized skbs) that caps
 * a node's own TCP at ~160 Mbit/s (and under a 1 Gbit/s tbf it reorders and
 * retransmits spuriously). Tried in `ns`; {} when neither is allowed.
 */
async function pickCongestionControl(ns: string): Promise<Settings> {
  for (const cc of ["cubic", "reno"]) {
    if ((await tryInNs(ns, ["sysctl", "-q", "-w", `net.ipv4.tcp_congestion_control=${cc}`])).ok) return { "net.ipv4.tcp_congestion_control": cc };
  }
  return {};
}

/** What exists now with `prefix`: for status and half-built detection. */
export async function labObjects(prefix: string): Promise<LabObjects> {
  checkPrefix(prefix);
  return { namespaces: await listNamespaces(prefix), rootLinks: await rootVethLinks(prefix) };
}

/**
 * Remove every namespace and root-namespace veth starting with `prefix`
 * (deleting a namespace deletes its veths' peers; routes via them vanish).
 * Idempotent. Returns what existed before.
 */
export async function teardownLab(prefix: string): Promise<LabObjects> {
  checkPrefix(prefix);
  const rootLinks = await rootVethLinks(prefix);
  const namespaces = await sweepNamespaces(prefix);
  // A namespace kept alive by a process still keeps its veths: delete the root ends anyway.
  for (const link of await rootVethLinks(prefix)) await deleteRootLink(link);
  return { namespaces, rootLinks };
}

/**
 * Create the lab `topo` describes. Refuses when anything with its prefix
 * exists or when the root namespace already routes a pod CIDR or holds a
 * control address (another lab); on any failure removes what it made and
 * rethrows.
 */
export async function buildLab(topo: LabTopology): Promise<void> {
  await preflight(topo);
  try {
    await buildUnderlay(topo);
    const defaults = { ...NS_DEFAULTS, ...(await pickCongestionControl(topo.underlayNs)) };
    // Nodes (and the external host) are independent: build them side by side.
    await settleAll([...topo.nodes.map((node) => buildNode(topo, node, defaults)), ...(topo.external ? [buildExternal(topo, defaults)] : [])]);
    await wireCni(topo);
    if (topo.ipv6) await wireIpv6({ ...topo, ipv6: topo.ipv6 });
  } catch (err) {
    await teardownLab(topo.prefix).catch(() => undefined);
    throw err;
  }
}

async function preflight(topo: LabTopology): Promise<void> {
  const existing = await labObjects(topo.prefix);
  if (existing.namespaces.length > 0 || existing.rootLinks.length > 0) {
    throw new NetmatrixError("failed-precondition", `a lab with prefix ${topo.prefix} already exists (${[...existing.namespaces, ...existing.rootLinks].join(", ")})`, {
      hint: "tear it down first (netmatrix lab down) or pick another prefix",
    });
  }
  const routes = await ip(["-4", "-o", "route", "show"]);
  const addrs = await ip(["-4", "-o", "addr", "show"]);
  for (const node of topo.nodes) {
    if (routes.split("\n").some((l) => l.startsWith(`${node.podCidr} `))) {
      throw new NetmatrixError("failed-precondition", `the root namespace already routes ${node.podCidr}`, { hint: "another lab is up; tear it down first" });
    }
  }
  const gateways = [...topo.nodes.map((n) => n.controlGateway), ...(topo.external ? [topo.external.controlGateway] : [])];
  for (const gw of gateways) {
    if (addrs.includes(` ${gw}/`)) throw new NetmatrixError("failed-precondition", `the root namespace already holds ${gw}`, { hint: "another lab is up; tear it down first" });
  }
}

async function buildUnderlay(topo: LabTopology): Promise<void> {
  const ns = topo.underlayNs;
  await addNamespace(ns);
  // The switch only switches: no iptables on bridged frames (needs br_netfilter loaded to exist).
  await sysctl(ns, { ...NS_DEFAULTS, "net.bridge.bridge-nf-call-iptables": 0 });
  await ip(["link", "add", "br0", "type", "bridge"], ns);
  await ip(["link", "set", "br0", "mtu", String(topo.mtu), "up"], ns);
}

/** A NIC `eth0` in `ns` cabled to switch port `port` on the underlay bridge; wire-sized packets only. */
async function plugIntoUnderlay(topo: LabTopology, ns: string, port: string, master?: string): Promise<void> {
  const mtu = String(topo.mtu);
  await ip(["link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", topo.underlayNs], ns);
  await ip(["link", "set", port, "mtu", mtu, "master", "br0", "up"], topo.underlayNs);
  await ip(["link", "set", "eth0", "mtu", mtu, "gso_max_segs", NIC_GSO_MAX_SEGS, ...(master ? ["master", master] : []), "up"], ns);
}

/** A veth from the root namespace (`link`, address `gateway`/30) to `ctl0` in `ns` (`address`/30). */
async function controlLink(link: string, ns: string, gateway: string, address: string): Promise<void> {
  await ip(["link", "add", link, "type", "veth", "peer", "name", CONTROL_IF, "netns", ns]);
  await ip(["link", "set", link, "addrgenmode", "none"]);
  await ip(["addr", "add", `${gateway}/30`, "dev", link]);
  await ip(["link", "set", link, "up"]);
  await ip(["addr", "add", `${address}/30`, "dev", CONTROL_IF], ns);
  await ip(["link", "set", CONTROL_IF, "up"], ns);
}

async function buildNode(topo: LabTopology, node: LabNode, defaults: Settings): Promise<void> {
  const ns = node.ns;
  await addNamespace(ns);
  await sysctl(ns, { ...defaults, ...MACHINE_DEFAULTS, "net.ipv4.ip_forward": 1, "net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.default.rp_filter": 0 });
  await ip(["link", "add", "cni0", "type", "bridge"], ns);
  await ip(["link", "set", "cni0", "mtu", String(topo.podMtu), "up"], ns);
  await ip(["addr", "add", `${node.bridgeAddress}/24`, "dev", "cni0"], ns);
  const dev = underlayDevice(topo.cni);
  await plugIntoUnderlay(topo, ns, `n${node.index}`, dev === "cni0" ? "cni0" : undefined);
  await ip(["addr", "add", `${node.underlayAddress}/24`, "dev", dev], ns);
  if (topo.nicRate) await rateLimit(ns, "eth0", topo.nicRate);
  for (const [k, pod] of node.pods.entries()) await buildPod(topo, node, pod, k, defaults);
  const link = controlLinkName(topo.prefix, node.index);
  await controlLink(link, ns, node.controlGateway, node.controlAddress);
  // Replies from the root namespace (a coordinator) to pods go back over the control link.
  await ip(["route", "add", node.podCidr, "via", node.controlAddress, "dev", link]);
}

async function buildPod(topo: LabTopology, node: LabNode, pod: LabPod, k: number, defaults: Settings): Promise<void> {
  const hostIf = `veth-${String.fromCharCode(97 + k)}`;
  const mtu = String(topo.podMtu);
  await addNamespace(pod.ns);
  await sysctl(pod.ns, defaults);
  await ip(["link", "add", hostIf, "type", "veth", "peer", "name", "eth0", "netns", pod.ns], node.ns);
  await ip(["link", "set", hostIf, "mtu", mtu, "master", "cni0", "up"], node.ns);
  await ip(["link", "set", "eth0", "mtu", mtu, "up"], pod.ns);
  await ip(["addr", "add", `${pod.address}/24`, "dev", "eth0"], pod.ns);
  for (const route of podRoutes(topo, node)) await ip(["route", "add", ...route], pod.ns);
}

async function buildExternal(topo: LabTopology, defaults: Settings): Promise<void> {
  const ext = topo.external!;
  await addNamespace(ext.ns);
  await sysctl(ext.ns, { ...defaults, ...MACHINE_DEFAULTS });
  await plugIntoUnderlay(topo, ext.ns, "ext");
  await ip(["addr", "add", `${ext.address}/24`, "dev", "eth0"], ext.ns);
  await controlLink(controlLinkName(topo.prefix, "ext"), ext.ns, ext.controlGateway, ext.controlAddress);
  // Like a VPC route table (field report 000: an EC2 instance reaching pods directly): each node's pod CIDR via that node.
  for (const node of topo.nodes) await ip(["route", "add", node.podCidr, "via", node.underlayAddress, "dev", "eth0"], ext.ns);
}
