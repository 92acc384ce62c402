import { describe, expect, test } from "vitest";
import { addressFamily, familyAddress, isLinkLocal6 } from "./addresses.js";

describe("address families", () => {
  test.each([
    ["198.18.0.1", "ipv4"],
    ["fd00:198:18::1", "ipv6"],
    ["2001:db8::5", "ipv6"],
    ["fe80::1", undefined],
    ["FEBF::1", undefined],
    ["::ffff:10.0.0.1", undefined],
    ["node-a", undefined],
  ])("%s is %s", (a, f) => expect(addressFamily(a)).toBe(f));

  test.each([
    [["198.18.0.1", "fe80::1", "fd00:198:18::1"], "ipv4", "198.18.0.1"],
    [["198.18.0.1", "fe80::1", "fd00:198:18::1"], "ipv6", "fd00:198:18::1"],
    [["198.18.0.1", "fe80::1"], "ipv6", undefined],
    [["198.18.0.1", "::1"], "ipv6", undefined],
    [["127.0.0.1", "::1"], "ipv6", "::1"],
    [[], "ipv4", undefined],
  ] as const)("familyAddress(%j, %s) = %s", (addrs, f, want) => expect(familyAddress(addrs, f)).toBe(want));

  test("link-local is fe80::/10 only", () => {
    expect(isLinkLocal6("fe80::1")).toBe(true);
    expect(isLinkLocal6("fec0::1")).toBe(false);
  });
});
