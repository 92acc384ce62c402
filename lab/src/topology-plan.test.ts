import { describe, expect, it } from "vitest";
import { CNI_DESCRIPTIONS, CNI_MODES, IFNAME_MAX, namespaceNames, planTopology, rootLinkNames, type CniMode } from "./topology.js";

describe("planTopology", () => {
  it("fills in defaults: 2 host-gw nodes with 2 pods each, MTU 1500, no external host", () => {
    const t = planTopology({});
    expect(t).toMatchObject({ prefix: "nm-lab-", cni: "host-gw", underlayNs: "nm-lab-underlay", mtu: 1500, podMtu: 1500 });
    expect(t.external).toBeUndefined();
    expect(t.nicRate).toBeUndefined();
    expect(t.nodes).toHaveLength(2);
    expect(t.nodes.map((n) => n.pods.length)).toEqual([2, 2]);
  });

  it.each([
    [
      1,
      {
        name: "node-1",
        ns: "p-x-node-1",
        underlayAddress: "198.18.0.11",
        controlGateway: "198.18.1.129",
        controlAddress: "198.18.1.130",
        podCidr: "10.244.1.0/24",
        bridgeAddress: "10.244.1.1",
      },
    ],
    [
      2,
      {
        name: "node-2",
        ns: "p-x-node-2",
        underlayAddress: "198.18.0.12",
        controlGateway: "198.18.1.133",
        controlAddress: "198.18.1.134",
        podCidr: "10.244.2.0/24",
        bridgeAddress: "10.244.2.1",
      },
    ],
    [
      16,
      {
        name: "node-16",
        ns: "p-x-node-16",
        underlayAddress: "198.18.0.26",
        controlGateway: "198.18.1.189",
        controlAddress: "198.18.1.190",
        podCidr: "10.244.16.0/24",
        bridgeAddress: "10.244.16.1",
      },
    ],
  ])("node %i gets its names and addresses", (i, want) => {
    const node = planTopology({ prefix: "p-x-", nodes: 16 }).nodes[i - 1]!;
    expect(node).toMatchObject({ index: i, ...want });
  });

  it("names pods a, b, … with addresses .10, .11, … in their node's CIDR", () => {
    const pods = planTopology({ prefix: "p-x-", nodes: 3, podsPerNode: 3 }).nodes[2]!.pods;
    expect(pods).toEqual([
      { name: "node-3-pod-a", node: "node-3", ns: "p-x-node-3-pod-a", address: "10.244.3.10" },
      { name: "node-3-pod-b", node: "node-3", ns: "p-x-node-3-pod-b", address: "10.244.3.11" },
      { name: "node-3-pod-c", node: "node-3", ns: "p-x-node-3-pod-c", address: "10.244.3.12" },
    ]);
  });

  it.each([
    ["host-gw", 1500, 1500],
    ["vxlan", 1500, 1450],
    ["l2", 1500, 1500],
    ["vxlan", 9000, 8950],
    ["host-gw", 9000, 9000],
  ] as [CniMode, number, number][])("%s with underlay MTU %i gives pods MTU %i", (cni, mtu, podMtu) => {
    expect(planTopology({ cni, mtu })).toMatchObject({ cni, mtu, podMtu });
  });

  it("puts the external host at 198.18.0.250 with its own control /30", () => {
    expect(planTopology({ prefix: "p-x-", external: true }).external).toEqual({
      name: "external",
      ns: "p-x-external",
      address: "198.18.0.250",
      controlGateway: "198.18.1.193",
      controlAddress: "198.18.1.194",
    });
  });

  it("keeps every root-namespace link name within 15 characters, even with the longest prefix and 16 nodes", () => {
    const t = planTopology({ prefix: "abcdefghijk", nodes: 16, external: true });
    const links = rootLinkNames(t);
    expect(links).toContain("abcdefghijkc16");
    expect(links).toContain("abcdefghijkcext");
    for (const l of links) expect(l.length).toBeLessThanOrEqual(IFNAME_MAX);
  });

  it("gives every node a distinct, non-overlapping control /30", () => {
    const t = planTopology({ nodes: 16, external: true });
    const bases = [...t.nodes, t.external!].map((n) => Number(n.controlGateway.split(".")[3]) - 1);
    expect(new Set(bases).size).toBe(17);
    for (const b of bases) expect(b % 4).toBe(0);
    for (const n of t.nodes) expect(Number(n.controlAddress.split(".")[3])).toBe(Number(n.controlGateway.split(".")[3]) + 1);
  });

  it("moves only the root-visible addresses with the address block: control links to 198.18.<1+b>, pods to 10.244.<16b+i>", () => {
    const t = planTopology({ prefix: "p-x-", block: 3, nodes: 16, external: true });
    expect(t.block).toBe(3);
    expect(t.nodes[0]).toMatchObject({
      underlayAddress: "198.18.0.11",
      controlGateway: "198.18.4.129",
      controlAddress: "198.18.4.130",
      podCidr: "10.244.49.0/24",
      bridgeAddress: "10.244.49.1",
    });
    expect(t.nodes[15]).toMatchObject({ underlayAddress: "198.18.0.26", controlGateway: "198.18.4.189", podCidr: "10.244.64.0/24" });
    expect(t.nodes[0]!.pods[1]!.address).toBe("10.244.49.11");
    expect(t.external).toMatchObject({ address: "198.18.0.250", controlGateway: "198.18.4.193", controlAddress: "198.18.4.194" });
    // Block 0 is the plan as it always was (and as state.json files written before blocks hold it).
    expect(planTopology({ block: 0 })).toEqual(planTopology({}));
    expect(planTopology({}).block).toBeUndefined();
    expect(planTopology({ block: 14, nodes: 16 }).nodes[15]!.podCidr).toBe("10.244.240.0/24");
  });

  it("lists every namespace, all starting with the prefix", () => {
    const names = namespaceNames(planTopology({ prefix: "p-x-", nodes: 2, podsPerNode: 1, external: true }));
    expect(names).toEqual(["p-x-underlay", "p-x-node-1", "p-x-node-1-pod-a", "p-x-node-2", "p-x-node-2-pod-a", "p-x-external"]);
  });

  it("keeps a valid nicRate", () => {
    expect(planTopology({ nicRate: "1gbit" }).nicRate).toBe("1gbit");
    expect(planTopology({ nicRate: "10gbit" }).nicRate).toBe("10gbit");
  });

  it.each([
    [{ nodes: 0 }],
    [{ nodes: 17 }],
    [{ nodes: 1.5 }],
    [{ podsPerNode: 0 }],
    [{ podsPerNode: 27 }],
    [{ mtu: 575 }],
    [{ mtu: 65536 }],
    [{ nicRate: "fast" }],
    [{ prefix: "" }],
    [{ prefix: "ab" }],
    [{ prefix: "abcdefghijkl" }],
    [{ prefix: "a b-" }],
    [{ cni: "ipip" as CniMode }],
    [{ block: -1 }],
    [{ block: 15 }],
    [{ block: 1.5 }],
  ])("refuses %o", (opts) => {
    expect(() => planTopology(opts)).toThrow(/must|not a tc rate|unknown CNI/);
  });

  it("describes every mode, naming the CNI it stands for", () => {
    expect(Object.keys(CNI_DESCRIPTIONS).sort()).toEqual([...CNI_MODES].sort());
    expect(CNI_DESCRIPTIONS["host-gw"]).toMatch(/flannel.*host-gw.*Calico/);
    expect(CNI_DESCRIPTIONS.vxlan).toMatch(/flannel.*vxlan.*Calico/);
    expect(CNI_DESCRIPTIONS.l2).toMatch(/L2/);
  });
});
