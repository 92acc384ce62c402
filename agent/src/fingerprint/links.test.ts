import { describe, expect, test } from "vitest";
import { Encapsulation } from "../../../gen/netmatrix/v1/fingerprint_pb.js";
import { fixture } from "./fixture.js";
import { encapsulationOf, parseIpLinks, parseRoutes, type Link } from "./links.js";

describe("parseIpLinks (ip -d link show)", () => {
  const links = parseIpLinks(fixture("ip-d-link-vxlan.txt"));
  test.each([
    // name, kind, MTU, up, rx queues, tx queues
    ["lo", "", 65536, true, 1, 1],
    ["veth-peer", "veth", 1500, true, 2, 2],
    ["eth0", "veth", 1450, true, 2, 2],
    ["cni0", "bridge", 1500, true, 1, 1],
    ["flannel.1", "vxlan", 1400, true, 1, 1],
    ["mv0", "macvlan", 1450, true, 1, 1],
  ])("%s: kind %j, mtu %d, up %s, queues %d/%d", (name, kind, mtu, up, rx, tx) => {
    const l = links.find((x) => x.name === name);
    expect(l).toMatchObject({ kind, mtu, up, rxQueues: rx, txQueues: tx });
  });

  test("the VXLAN link's detail names its VNI, device and port, without the generic attributes", () => {
    const d = links.find((l) => l.name === "flannel.1")!.detail;
    expect(d).toMatch(/^vxlan id 1 local 198\.18\.9\.2 dev eth0 .*dstport 8472/);
    expect(d).not.toContain("numtxqueues");
  });

  test("`ip -d addr show` reads the same, and says which links have a global address", () => {
    const withAddr = parseIpLinks(fixture("ip-d-addr-vxlan.txt"));
    expect(withAddr.map((l) => [l.name, l.kind, l.mtu, l.global])).toEqual([
      ["lo", "", 65536, false],
      ["veth-peer", "veth", 1500, false],
      ["eth0", "veth", 1450, true],
      ["cni0", "bridge", 1500, true],
      ["flannel.1", "vxlan", 1400, true],
    ]);
    expect(withAddr.find((l) => l.name === "flannel.1")!.detail).toMatch(/^vxlan id 1 local 198\.18\.9\.2 dev eth0 /);
  });

  test("a physical NIC (virtio) has no kind", () => {
    expect(parseIpLinks(fixture("ip-d-link-host.txt"))).toMatchObject([{ name: "eth0", kind: "", mtu: 1400, up: true }]);
  });
});

describe("parseRoutes (ip route show)", () => {
  test("destination and device of each route", () => {
    expect(parseRoutes(fixture("ip-route-vxlan.txt")).map((r) => [r.dst, r.dev])).toEqual([
      ["default", "eth0"],
      ["10.244.1.0/24", "cni0"],
      ["10.244.2.0/24", "flannel.1"],
      ["198.18.9.0/24", "eth0"],
    ]);
  });
});

describe("encapsulationOf", () => {
  test("the captured flannel-style namespace: VXLAN, with flannel.1 and its pod route as evidence", () => {
    const e = encapsulationOf(parseIpLinks(fixture("ip-d-link-vxlan.txt")), parseRoutes(fixture("ip-route-vxlan.txt")));
    expect(e.encapsulation).toBe(Encapsulation.VXLAN);
    expect(e.evidence).toHaveLength(1);
    expect(e.evidence[0]).toMatch(/^flannel\.1: vxlan id 1 .* mtu 1400; 1 route\(s\), e\.g\. 10\.244\.2\.0\/24 via 10\.244\.2\.0 dev flannel\.1 onlink$/);
  });

  test("a host without tunnels: none", () => {
    const e = encapsulationOf(parseIpLinks(fixture("ip-d-link-host.txt")), parseRoutes("default via 192.0.2.1 dev eth0\n"));
    expect(e).toEqual({ encapsulation: Encapsulation.NONE, evidence: ["no VXLAN, Geneve, IPIP or WireGuard link is up; 1 route(s)"] });
  });

  // This kernel has no ipip, geneve or wireguard module to capture from: the kinds as `ip -d link` names them.
  const link = (name: string, kind: string, up = true): Link => ({ name, kind, mtu: 1480, up, detail: kind, rxQueues: 1, txQueues: 1, global: true });
  test.each([
    ["Calico IPIP", [link("tunl0", "ipip")], Encapsulation.IPIP],
    ["the ipip module's idle tunl0 (down)", [link("tunl0", "ipip", false)], Encapsulation.NONE],
    ["Cilium Geneve", [link("cilium_geneve", "geneve")], Encapsulation.GENEVE],
    ["Calico VXLAN", [link("vxlan.calico", "vxlan")], Encapsulation.VXLAN],
    ["WireGuard over VXLAN: WireGuard", [link("cilium_vxlan", "vxlan"), link("cilium_wg0", "wireguard")], Encapsulation.WIREGUARD],
    ["a macvlan and a bridge only", [link("mv0", "macvlan"), link("cni0", "bridge")], Encapsulation.NONE],
  ])("%s", (_what, links, want) => expect(encapsulationOf(links, []).encapsulation).toBe(want));
});
