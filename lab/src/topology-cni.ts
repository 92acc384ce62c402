/**
 * The data path between nodes, per CNI mode. Node-to-node pod traffic only
 * ever crosses the underlay (each node's `eth0`), never the control links.
 *
 * - host-gw: `ip route add 10.244.<j>.0/24 via 198.18.0.<10+j> dev eth0` on
 *   every node i for every other node j (flannel host-gw, Calico unencapsulated).
 * - vxlan: per node a VXLAN device `flannel.1` (VNI 1, dstport 4789, local =
 *   underlay address, dev eth0, nolearning, MTU = mtu − 50) holding
 *   10.244.<i>.0/32; for every peer j a route `10.244.<j>.0/24 via 10.244.<j>.0
 *   dev flannel.1 onlink`, a permanent neighbour 10.244.<j>.0 → j's VTEP MAC and
 *   an FDB entry VTEP MAC → dst 198.18.0.<10+j> — what flanneld programs.
 * - l2: the node's eth0 is a port of its cni0 bridge (the node's underlay
 *   address sits on cni0), so every pod is on the underlay segment; pods and
 *   nodes route 10.244.0.0/16 on-link, so cross-node pod traffic takes no
 *   routing hop (field report 004's L2 mode).
 */
import { ip } from "./netns.js";
import type { CniMode, LabNode, LabTopology } from "./topology-plan.js";
import { batch, settleAll } from "./topology-run.js";

/** Name of the VXLAN device, as flannel calls it. */
export const VXLAN_DEV = "flannel.1";
/** VXLAN network identifier and UDP destination port (IANA's 4789). */
const VXLAN_VNI = "1";
const VXLAN_PORT = "4789";
/** The whole pod network (routed on-link in l2 mode). */
export const POD_NETWORK = "10.244.0.0/16";

/** The device holding a node's underlay address: eth0, or cni0 when eth0 is a bridge port (l2). */
export function underlayDevice(cni: CniMode): "eth0" | "cni0" {
  return cni === "l2" ? "cni0" : "eth0";
}

/** Deterministic, locally administered unicast MAC of node i's VTEP (so peers can be programmed up front). */
export function vtepMac(index: number): string {
  return `0e:6e:6d:00:00:${index.toString(16).padStart(2, "0")}`;
}

/** Node i's VTEP address: the .0 of its pod CIDR, as flannel assigns it. */
export function vtepAddress(node: LabNode): string {
  return node.podCidr.replace(/\/24$/, "");
}

/** `ip route add` arguments for a pod's routes (after its /24 on eth0). */
export function podRoutes(topo: LabTopology, node: LabNode): string[][] {
  const routes: string[][] = [];
  if (topo.cni === "l2") routes.push([POD_NETWORK, "dev", "eth0"]);
  routes.push(["default", "via", node.bridgeAddress]);
  return routes;
}

/** Program the inter-node data path of `topo.cni` on every node (all nodes must exist). */
export async function wireCni(topo: LabTopology): Promise<void> {
  switch (topo.cni) {
    case "host-gw":
      return wireHostGw(topo);
    case "vxlan":
      return wireVxlan(topo);
    case "l2":
      return wireL2(topo);
  }
}

function peersOf(topo: LabTopology, node: LabNode): LabNode[] {
  return topo.nodes.filter((n) => n.index !== node.index);
}

/** Run `fn` for every node side by side (each node's own steps stay in order). */
function eachNode(topo: LabTopology, fn: (node: LabNode) => Promise<void>): Promise<void> {
  return settleAll(topo.nodes.map(fn));
}

async function wireHostGw(topo: LabTopology): Promise<void> {
  await eachNode(topo, (node) =>
    batch(
      node.ns,
      "ip",
      peersOf(topo, node).map((peer) => ["route", "add", peer.podCidr, "via", peer.underlayAddress, "dev", "eth0"]),
    ),
  );
}

async function wireVxlan(topo: LabTopology): Promise<void> {
  await eachNode(topo, async (node) => {
    const ns = node.ns;
    await ip(
      [
        "link",
        "add",
        VXLAN_DEV,
        "address",
        vtepMac(node.index),
        "type",
        "vxlan",
        "id",
        VXLAN_VNI,
        "local",
        node.underlayAddress,
        "dev",
        "eth0",
        "dstport",
        VXLAN_PORT,
        "nolearning",
      ],
      ns,
    );
    // gso_max_segs 1: segment before encapsulation, so eth0 carries (and counts) wire-sized frames.
    await ip(["link", "set", VXLAN_DEV, "mtu", String(topo.podMtu), "gso_max_segs", "1", "up"], ns);
    await ip(["addr", "add", `${vtepAddress(node)}/32`, "dev", VXLAN_DEV], ns);
  });
  await eachNode(topo, async (node) => {
    const peers = peersOf(topo, node);
    await batch(
      node.ns,
      "bridge",
      peers.map((peer) => ["fdb", "append", vtepMac(peer.index), "dev", VXLAN_DEV, "dst", peer.underlayAddress]),
    );
    await batch(node.ns, "ip", [
      ...peers.map((peer) => ["neigh", "replace", vtepAddress(peer), "lladdr", vtepMac(peer.index), "dev", VXLAN_DEV, "nud", "permanent"]),
      ...peers.map((peer) => ["route", "add", peer.podCidr, "via", vtepAddress(peer), "dev", VXLAN_DEV, "onlink"]),
    ]);
  });
}

async function wireL2(topo: LabTopology): Promise<void> {
  // eth0 is already a cni0 port (see buildNode); other nodes' pods are on-link behind it.
  await eachNode(topo, (node) => ip(["route", "add", POD_NETWORK, "dev", "cni0"], node.ns).then(() => undefined));
}
