import { describe, expect, test } from "vitest";
import { planTopology } from "./topology-plan.js";
import { ipv6Refusal } from "./topology-ipv6-plan.js";

describe("the lab's IPv6 plan (--ipv6)", () => {
  test("ULA underlay and per-node pod /64s whose digits read as the IPv4 plan's", () => {
    const t = planTopology({ nodes: 2, ipv6: true, external: true, block: 3 });
    expect(t.ipv6).toEqual({
      nodes: [
        { underlay: "fd00:198:18::11", podCidr: "fd00:10:244:1::/64", bridge: "fd00:10:244:1::1", pods: ["fd00:10:244:1::10", "fd00:10:244:1::11"] },
        { underlay: "fd00:198:18::12", podCidr: "fd00:10:244:2::/64", bridge: "fd00:10:244:2::1", pods: ["fd00:10:244:2::10", "fd00:10:244:2::11"] },
      ],
      external: "fd00:198:18::250",
    });
  });

  test("without --ipv6 the plan (and state.json) is as before", () => {
    expect(planTopology({ nodes: 2 })).not.toHaveProperty("ipv6");
  });

  test.each([
    ["host-gw", undefined],
    ["vxlan", undefined],
    ["l2", /not wired for the l2 CNI mode/],
  ] as const)("%s", (cni, refusal) => {
    if (refusal === undefined) {
      expect(ipv6Refusal(cni)).toBeUndefined();
      expect(planTopology({ cni, ipv6: true }).ipv6?.nodes).toHaveLength(2);
    } else {
      expect(ipv6Refusal(cni)).toMatch(refusal);
      expect(() => planTopology({ cni, ipv6: true })).toThrow(refusal);
    }
  });
});
