/**
 * The lab's dual stack (`netmatrix lab up --ipv6`): IPv6 beside the IPv4
 * plan, inside the lab's namespaces only (ULA, fd00::/8 — the root namespace
 * and its control links stay IPv4, so two labs never collide on these).
 *
 * - underlay fd00:198:18::/64: node i = fd00:198:18::<10+i>, external = ::250;
 * - pods fd00:10:244:<i>::/64 per node: bridge ::1, pod k (0-based) ::<10+k>
 *   (the digits read as the IPv4 plan's, e.g. node-1-pod-a fd00:10:244:1::10);
 * - host-gw: a route per peer /64 via its underlay address; vxlan: the same
 *   flannel.1 carries IPv6 (VTEP fd00:10:244:<j>::, a permanent neighbour to
 *   the peer's VTEP MAC, a route via it onlink) over the IPv4 underlay;
 * - l2 is refused (it is not wired for IPv6).
 *
 * The addresses: topology-ipv6-plan.ts (pure). Namespaces start with IPv6 off (topology-build.ts); `wireIpv6` turns it on
 * after the IPv4 build, with router advertisements ignored and addresses
 * added `nodad` (usable at once). Nothing here outlives the namespaces.
 */
import { ip } from "./netns.js";
import { underlayDevice, vtepMac, VXLAN_DEV } from "./topology-cni.js";
import type { LabIpv6 } from "./topology-ipv6-plan.js";
import type { LabNode, LabTopology } from "./topology-plan.js";
import { batch, settleAll, sysctl } from "./topology-run.js";

/** The VTEP address of node `i` on flannel.1, as its IPv4 one (the pod /64's ::). */
function vtep6(v6: LabIpv6, node: LabNode): string {
  return v6.nodes[node.index - 1]!.podCidr.replace(/\/64$/, "");
}

/** IPv6 on, router advertisements ignored, forwarding as `forward` says. */
function enable(ns: string, forward: boolean): Promise<void> {
  return sysctl(ns, {
    "net.ipv6.conf.all.accept_ra": 0,
    "net.ipv6.conf.default.accept_ra": 0,
    "net.ipv6.conf.all.disable_ipv6": 0,
    "net.ipv6.conf.default.disable_ipv6": 0,
    "net.ipv6.conf.all.forwarding": forward ? 1 : 0,
  });
}

/** Add the IPv6 plan `topo.ipv6` to the built IPv4 lab (every namespace exists). */
export async function wireIpv6(topo: LabTopology & { ipv6: LabIpv6 }): Promise<void> {
  const v6 = topo.ipv6;
  const dev = underlayDevice(topo.cni);
  await settleAll(
    topo.nodes.map(async (node) => {
      const a = v6.nodes[node.index - 1]!;
      await enable(node.ns, true);
      await batch(node.ns, "ip", [
        ["addr", "add", `${a.underlay}/64`, "dev", dev, "nodad"],
        ["addr", "add", `${a.bridge}/64`, "dev", "cni0", "nodad"],
      ]);
      await settleAll(
        node.pods.map(async (pod, k) => {
          await enable(pod.ns, false);
          await batch(pod.ns, "ip", [
            ["addr", "add", `${a.pods[k]!}/64`, "dev", "eth0", "nodad"],
            ["route", "add", "::/0", "via", a.bridge, "dev", "eth0"],
          ]);
        }),
      );
    }),
  );
  if (topo.external && v6.external) {
    const ext = topo.external;
    await enable(ext.ns, false);
    await batch(ext.ns, "ip", [
      ["addr", "add", `${v6.external}/64`, "dev", "eth0", "nodad"],
      ...topo.nodes.map((n) => ["route", "add", v6.nodes[n.index - 1]!.podCidr, "via", v6.nodes[n.index - 1]!.underlay, "dev", "eth0"]),
    ]);
  }
  await settleAll(
    topo.nodes.map(async (node) => {
      const peers = topo.nodes.filter((p) => p.index !== node.index);
      if (topo.cni === "vxlan") {
        await ip(["addr", "add", `${vtep6(v6, node)}/128`, "dev", VXLAN_DEV, "nodad"], node.ns);
        await batch(node.ns, "ip", [
          ...peers.map((p) => ["neigh", "replace", vtep6(v6, p), "lladdr", vtepMac(p.index), "dev", VXLAN_DEV, "nud", "permanent"]),
          ...peers.map((p) => ["route", "add", v6.nodes[p.index - 1]!.podCidr, "via", vtep6(v6, p), "dev", VXLAN_DEV, "onlink"]),
        ]);
      } else {
        await batch(
          node.ns,
          "ip",
          peers.map((p) => ["route", "add", v6.nodes[p.index - 1]!.podCidr, "via", v6.nodes[p.index - 1]!.underlay, "dev", "eth0"]),
        );
      }
    }),
  );
}
