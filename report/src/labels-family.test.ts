/** An IPv6 case's label says so; an IPv4 one reads as before families. */
import { describe, expect, test } from "vitest";
import { testCompare, testLabelOf } from "./labels.js";

describe("test labels over families", () => {
  const base = { tool: "iperf3", protocol: "tcp", direction: "forward", parallel: 1 };
  test.each([
    [{ ...base }, "iperf3 tcp forward"],
    [{ ...base, family: "ipv6" }, "iperf3 tcp forward IPv6"],
  ])("%j → %s", (p, label) => {
    expect(testLabelOf(p)).toBe(label);
  });

  test("IPv4 sorts before IPv6, all else equal", () => {
    expect(testCompare(base, { ...base, family: "ipv6" })).toBeLessThan(0);
  });
});
