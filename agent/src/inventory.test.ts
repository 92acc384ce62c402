import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { NetInterfaceSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { listInterfaces, otherAddresses, primaryAddress } from "./inventory.js";

describe("listInterfaces", () => {
  test("reads MTU and speed from sysfs; unreadable speed (veth) is 0", () => {
    const root = mkdtempSync(join(tmpdir(), "nm-sysfs-"));
    for (const [name, mtu, speed] of [
      ["eth0", "1450\n", "10000\n"],
      ["veth1", "1500\n", null],
    ] as const) {
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, "mtu"), mtu);
      if (speed) writeFileSync(join(root, name, "speed"), speed);
      writeFileSync(join(root, name, "address"), "aa:bb:cc:dd:ee:ff\n");
    }
    const ifs = listInterfaces(root);
    expect(ifs.map((i) => [i.name, i.mtu, i.speedMbps])).toEqual([
      ["eth0", 1450, 10000],
      ["veth1", 1500, 0],
    ]);
  });
  test("this machine has lo with MTU 65536", () => {
    expect(listInterfaces().find((i) => i.name === "lo")?.mtu).toBe(65536);
  });
});

describe("primaryAddress", () => {
  const ifs = [create(NetInterfaceSchema, { name: "lo", addresses: ["127.0.0.1", "::1"] }), create(NetInterfaceSchema, { name: "eth0", addresses: ["fe80::1", "198.18.0.2"] })];
  test.each([
    ["given wins", "10.244.1.5", "10.244.1.5"],
    ["first non-loopback IPv4", undefined, "198.18.0.2"],
  ])("%s", (_n, given, want) => expect(primaryAddress(ifs, given)).toBe(want));
  test("falls back to loopback", () => expect(primaryAddress(ifs.slice(0, 1))).toBe("127.0.0.1"));
});

describe("otherAddresses (every family after the primary)", () => {
  const iface = (name: string, addresses: string[]) => create(NetInterfaceSchema, { name, addresses });
  const node = [iface("cni0", ["10.244.1.1", "fd00:10:244:1::1", "fe80::a"]), iface("eth0", ["198.18.0.11", "fd00:198:18::11", "fe80::b"]), iface("lo", ["127.0.0.1", "::1"])];

  test.each([
    ["interfaces only: link-local and loopback left out, the primary not repeated", [], ["10.244.1.1", "fd00:10:244:1::1", "fd00:198:18::11"]],
    ["the pod's IPs first (status.podIPs: which IPv6 address is its own)", ["198.18.0.11", "fd00:198:18::11"], ["fd00:198:18::11", "10.244.1.1", "fd00:10:244:1::1"]],
  ])("%s", (_what, podIps, want) => {
    expect(otherAddresses("198.18.0.11", podIps, node, 255)).toEqual(want);
  });

  test("at most `max`", () => {
    expect(otherAddresses("198.18.0.11", [], node, 1)).toEqual(["10.244.1.1"]);
  });
});
