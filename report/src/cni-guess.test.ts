import { describe, expect, test } from "vitest";
import { guessCni, type CniAgent } from "./cni-guess.js";

/** A node whose host agent sees `names` (eth0 at `nodeMtu` holding the primary address) and a pod at `podMtu`. */
function cluster(names: string[], nodeMtu = 1500, podMtu = nodeMtu): CniAgent[] {
  return [
    {
      mode: "host",
      address: "10.0.0.1",
      interfaces: [{ name: "eth0", mtu: nodeMtu, addresses: ["10.0.0.1"] }, { name: "lo", mtu: 65536 }, ...names.map((name) => ({ name, mtu: podMtu }))],
    },
    { mode: "pod", address: "10.244.0.10", interfaces: [{ name: "eth0", mtu: podMtu, addresses: ["10.244.0.10"] }] },
  ];
}

describe("guessCni", () => {
  test.each([
    ["flannel VXLAN", ["cni0", "flannel.1", "veth1a2b"], 1500, 1450, "flannel (VXLAN)", "vxlan", "high", /flannel\.1 is flannel's VXLAN device/],
    ["flannel WireGuard", ["cni0", "flannel-wg"], 1500, 1420, "flannel (WireGuard)", "wireguard", "high", /flannel-wg/],
    [
      "bridge without tunnel (host-gw)",
      ["cni0", "veth-a", "veth-b"],
      1500,
      1500,
      "bridge with host routes (flannel host-gw or the bridge CNI)",
      "none",
      "low",
      /cni0 is a pod bridge and there is no tunnel device/,
    ],
    ["Calico VXLAN", ["cali1234abcd", "vxlan.calico"], 1500, 1450, "Calico (VXLAN)", "vxlan", "high", /vxlan\.calico/],
    ["Calico IPIP", ["cali1234abcd", "cali5678ef01", "tunl0"], 1500, 1480, "Calico (IPIP)", "ipip", "high", /IPIP tunnel next to Calico/],
    ["Calico BGP", ["cali1234abcd"], 1500, 1500, "Calico (no encapsulation, BGP routes)", "none", "high", /cali1234abcd/],
    ["Calico WireGuard", ["cali1234abcd", "wireguard.cali"], 1500, 1440, "Calico (WireGuard)", "wireguard", "high", /wireguard\.cali/],
    ["Cilium VXLAN", ["cilium_host", "cilium_net", "cilium_vxlan", "lxc12ab"], 1500, 1450, "Cilium (VXLAN)", "vxlan", "high", /cilium_vxlan/],
    ["Cilium Geneve", ["cilium_host", "cilium_net", "cilium_geneve"], 1500, 1450, "Cilium (Geneve)", "geneve", "high", /cilium_geneve/],
    ["Cilium native routing", ["cilium_host", "cilium_net"], 9000, 9000, "Cilium (native routing)", "none", "high", /cilium_host, cilium_net are Cilium's/],
    ["Weave", ["weave", "vethwe-bridge", "vxlan-6784"], 1500, 1376, "Weave Net", "vxlan", "high", /Weave/],
    ["Antrea", ["antrea-gw0", "antrea-tun0"], 1500, 1450, "Antrea (Geneve)", "geneve", "high", /antrea-gw0, antrea-tun0/],
    ["Kube-OVN", ["ovn0", "genev_sys_6081"], 1500, 1400, "Kube-OVN", "geneve", "high", /ovn0/],
    ["tunl0 alone is the ipip module, not Calico", ["tunl0", "docker0"], 1500, 1500, "unknown", "none", "none", /no CNI interface among docker0, eth0, lo, tunl0/],
    ["only the MTU says VXLAN", ["br-pods"], 1500, 1450, "unknown (VXLAN-like overlay)", "vxlan", "low", /50 bytes less/],
    ["nothing at all", ["ens5"], 1500, 1500, "unknown", "none", "none", /no encapsulation overhead/],
  ])("%s", (_, names, nodeMtu, podMtu, cni, encapsulation, confidence, reason) => {
    const g = guessCni(cluster(names, nodeMtu, podMtu));
    expect(g).toMatchObject({ cni, encapsulation, confidence });
    expect(g.reasons.join(" | ")).toMatch(reason);
  });

  test.each([
    [1450, /50 bytes less, the size of a VXLAN/],
    [1480, /20 bytes less, the size of an IPIP header/],
    [1420, /80 bytes less, the size of WireGuard/],
    [1500, /MTU 1500, nodes 1500: no encapsulation overhead/],
    [1400, /100 bytes less, some encapsulation/],
  ])("the pod MTU %i is a reason of its own", (podMtu, reason) => {
    expect(guessCni(cluster(["cni0", "flannel.1"], 1500, podMtu)).reasons[1]).toMatch(reason);
  });

  test("an MTU that contradicts the interfaces is called out", () => {
    const g = guessCni(cluster(["cni0", "flannel.1"], 1500, 1500));
    expect(g.cni).toBe("flannel (VXLAN)");
    expect(g.reasons[1]).toMatch(/does not fit vxlan/);
  });

  test("the node MTU comes from the interface with the primary address, not lo or eth0 when another one holds it", () => {
    const agents: CniAgent[] = [
      {
        mode: "host",
        address: "192.168.1.5",
        interfaces: [
          { name: "eth0", mtu: 1500 },
          { name: "bond0", mtu: 9000, addresses: ["192.168.1.5"] },
          { name: "lo", mtu: 65536 },
        ],
      },
      { mode: "pod", address: "10.1.0.2", interfaces: [{ name: "eth0", mtu: 8950, addresses: ["10.1.0.2"] }] },
    ];
    expect(guessCni(agents).reasons.join(" ")).toMatch(/pods have MTU 8950, nodes 9000: 50 bytes less/);
  });

  test("without a host-network agent there are no interface names to go on", () => {
    const g = guessCni([{ mode: "pod", interfaces: [{ name: "eth0", mtu: 1450 }] }]);
    expect(g).toMatchObject({ cni: "unknown", confidence: "none" });
    expect(g.reasons).toEqual(["no host-network agent reported the node's interfaces"]);
  });
});
