/** `--mtu` as written (lab-mtu.ts) and the pod MTU the plan derives or refuses (topology-plan.ts). */
import { describe, expect, test } from "vitest";
import { parseLabMtu } from "./lab-mtu.js";
import { planTopology, type CniMode } from "./topology-plan.js";

describe("--mtu", () => {
  test.each([
    ["9000", { mtu: 9000 }],
    ["9001", { mtu: 9001 }],
    ["576", { mtu: 576 }],
    ["65535", { mtu: 65535 }],
    ["node=9000,pod=8950", { mtu: 9000, podMtu: 8950 }],
    ["pod=1400", { podMtu: 1400 }],
    [" node = 9000 , pod = 4000 ", { mtu: 9000, podMtu: 4000 }],
  ])("%s → %o", (text, want) => {
    expect(parseLabMtu(text)).toEqual(want);
  });

  test.each([
    ["575", "--mtu: node MTU 575 is outside 576..65535 bytes"],
    ["65536", "--mtu: node MTU 65536 is outside 576..65535 bytes"],
    ["jumbo", '--mtu: node MTU "jumbo" is not a whole number of bytes; write e.g. `--mtu 9000` (nodes and pods), or `--mtu node=9000,pod=8950`'],
    ["1500.5", '--mtu: node MTU "1500.5" is not a whole number of bytes'],
    ["node=9000,pod=100", "--mtu: pod MTU 100 is outside 576..65535 bytes"],
    ["node=9000,link=1500", '--mtu: "link=1500" is not node=BYTES or pod=BYTES'],
    ["node=9000,node=1500", "--mtu: node is given twice"],
    ["pod=", '--mtu: pod MTU "" is not a whole number of bytes'],
  ])("%s is refused: %s", (text, message) => {
    expect(() => parseLabMtu(text)).toThrow(message);
  });
});

describe("the pod network's MTU", () => {
  test.each<[CniMode, number, number | undefined, number]>([
    ["vxlan", 9000, undefined, 8950],
    ["vxlan", 9000, 8950, 8950],
    ["vxlan", 9001, 4000, 4000],
    ["host-gw", 9000, undefined, 9000],
    ["host-gw", 9000, 1500, 1500],
    ["l2", 65535, undefined, 65535],
    ["host-gw", 576, undefined, 576],
  ])("%s, node MTU %i, pod MTU asked %s → %i", (cni, mtu, podMtu, want) => {
    expect(planTopology({ cni, mtu, ...(podMtu !== undefined ? { podMtu } : {}) })).toMatchObject({ mtu, podMtu: want });
  });

  test.each<[CniMode, number, number | undefined, string]>([
    ["vxlan", 9000, 9000, "pod MTU 9000 does not fit the node MTU 9000 less VXLAN's 50-byte header (vxlan): use a pod MTU of at most 8950, or a node MTU of at least 9050"],
    ["host-gw", 1500, 9000, "pod MTU 9000 does not fit the node MTU 1500 (host-gw): use a pod MTU of at most 1500, or a node MTU of at least 9000"],
    ["vxlan", 600, undefined, "mtu 600 less VXLAN's 50-byte header leaves the pods 550 bytes, below 576: use a node MTU of at least 626"],
    ["host-gw", 1500, 500, "podMtu must be an integer in 576..65535, got 500"],
  ])("%s, node MTU %i, pod MTU %s is refused", (cni, mtu, podMtu, message) => {
    expect(() => planTopology({ cni, mtu, ...(podMtu !== undefined ? { podMtu } : {}) })).toThrow(message);
  });
});
