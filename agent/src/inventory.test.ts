import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { NetInterfaceSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { listInterfaces, primaryAddress } from "./inventory.js";

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
