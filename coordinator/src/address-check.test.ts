import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { AgentInfoSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { addressTrust, checkDeclaredAddress, peerHost, portProblem, serverProblem, targetAddress, targetProblem, type AddressCheck, type TargetAgent } from "./address-check.js";

const info = (address: string, behindNat = false) => create(AgentInfoSchema, { addresses: [address], portMin: 21000, portMax: 21099, behindNat });
const agent = (id: string, address: string, addressCheck: AddressCheck = "peer", closed = false): TargetAgent => ({ id, info: info(address), addressCheck, closed });

describe("peerHost", () => {
  test.each([
    ["127.0.0.1:45678", "127.0.0.1"],
    ["::1:45678", "::1"],
    ["[::1]:45678", "::1"],
    ["::ffff:10.0.0.7:45678", "10.0.0.7"],
    ["2001:DB8:0:0::1:443", "2001:db8::1"],
    ["unix:/tmp/sock", undefined],
    ["unknown", undefined],
  ])("%s → %s", (peer, want) => expect(peerHost(peer)).toBe(want));
});

describe("checkDeclaredAddress", () => {
  const none = addressTrust(undefined);
  test("an agent that connects from its declared address is checked by its peer", () => {
    expect(checkDeclaredAddress(info("127.0.0.1"), "127.0.0.1:5000", none)).toBe("peer");
    expect(checkDeclaredAddress(info("10.0.0.7"), "::ffff:10.0.0.7:5000", none)).toBe("peer");
  });

  test("a declared address that is not where it connects from is refused, naming both and the ways out", () => {
    let err: unknown;
    try {
      checkDeclaredAddress(info("192.0.2.1"), "127.0.0.1:5000", none);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetmatrixError);
    expect((err as NetmatrixError).code).toBe("permission-denied");
    expect((err as NetmatrixError).message).toBe("registration refused: the agent declares address 192.0.2.1 but connects from 127.0.0.1");
    expect((err as NetmatrixError).hint).toMatch(/--address 127\.0\.0\.1.*--behind-nat.*--trust-declared-addresses 192\.0\.2\.1/);
  });

  test("--behind-nat makes it unverified (a client only), not believed", () => {
    expect(checkDeclaredAddress(info("192.0.2.1", true), "127.0.0.1:5000", none)).toBe("unverified");
  });

  test("--trust-declared-addresses believes exactly the listed addresses and CIDRs", () => {
    const trust = addressTrust(["198.18.0.0/15,10.244.1.5", "2001:db8::/32"]);
    expect(checkDeclaredAddress(info("198.19.255.1"), "198.18.2.2:5000", trust)).toBe("trusted");
    expect(checkDeclaredAddress(info("10.244.1.5"), "198.18.2.2:5000", trust)).toBe("trusted");
    expect(checkDeclaredAddress(info("2001:db8::9"), "198.18.2.2:5000", trust)).toBe("trusted");
    expect(() => checkDeclaredAddress(info("10.244.1.6"), "198.18.2.2:5000", trust)).toThrow(/declares address 10\.244\.1\.6/);
    expect(checkDeclaredAddress(info("192.0.2.1"), "127.0.0.1:5000", addressTrust(["all"]))).toBe("trusted");
  });

  test.each(["10.0.0.0/33", "10.0.0.0/8/1", "example.com", "10.0.0.0/x", "::/129"])("a malformed trust entry %s is refused, naming it", (entry) => {
    expect(() => addressTrust([entry])).toThrow(new RegExp(`"${entry.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}" is not an IP address or CIDR`));
  });
});

describe("targets", () => {
  const client = agent("a/host", "127.0.0.1");
  const server = agent("b/host", "127.0.0.1");

  test("the server's own address and a port in its range is a target", () => {
    expect(targetProblem(client, server, { target: "127.0.0.1", port: 21000, dataPort: 21001, needsServer: true })).toBeUndefined();
    expect(targetProblem(client, server, { target: "127.0.0.1", port: 0, dataPort: 0, needsServer: false })).toBeUndefined();
  });

  test.each([
    ["a port below the range", { target: "127.0.0.1", port: 22, dataPort: 0, needsServer: true }, /answered port 22, outside its declared range 21000–21099/],
    ["a data port above it", { target: "127.0.0.1", port: 21099, dataPort: 21100, needsServer: true }, /answered port 21100/],
    ["another address", { target: "192.0.2.1", port: 21000, dataPort: 0, needsServer: true }, /not the registered address of agent b\/host/],
    ["a port for a tool without a server", { target: "127.0.0.1", port: 22, dataPort: 0, needsServer: false }, /needs no port/],
  ])("%s is refused", (_what, to, re) => {
    const err = targetProblem(client, server, to);
    expect(err?.code).toBe("permission-denied");
    expect(err?.message).toMatch(re);
  });

  test("a service the coordinator created is a target; anything else in its place is not", () => {
    const service = { address: "10.96.0.20", port: 21000, dataPort: 0 };
    expect(targetProblem(client, server, { target: "10.96.0.20", port: 21000, dataPort: 0, needsServer: true }, service)).toBeUndefined();
    expect(targetProblem(client, server, { target: "10.96.0.21", port: 21000, dataPort: 0, needsServer: true }, service)?.message).toMatch(/not the service created/);
  });

  test("an unverified (behind NAT) server is never a target, even behind a service", () => {
    const nat = agent("vm/external", "192.0.2.1", "unverified");
    expect(serverProblem(client, nat)?.message).toMatch(/cannot be a server: its address 192\.0\.2\.1 is unverified/);
    expect(targetProblem(client, nat, { target: "10.96.0.20", port: 30000, dataPort: 0, needsServer: true }, { address: "10.96.0.20", port: 30000, dataPort: 0 })).toBeDefined();
  });

  test("a gone server's address is no target", () => {
    const err = targetProblem(client, agent("b/host", "127.0.0.1", "peer", true), { target: "127.0.0.1", port: 21000, dataPort: 0, needsServer: true });
    expect(err?.code).toBe("unavailable");
    expect(err?.message).toMatch(/left before the client started/);
  });

  test("a loopback server is a target only for a client on the coordinator's machine", () => {
    expect(serverProblem(agent("far/host", "10.0.0.5"), server)?.message).toMatch(/loopback, which would point far\/host at its own machine/);
    expect(serverProblem(agent("far/host", "127.0.0.1", "trusted"), server)).toBeDefined();
    expect(serverProblem(client, server)).toBeUndefined();
  });

  test("portProblem checks both ports against the declared range", () => {
    expect(portProblem(server, 21000, 0)).toBeUndefined();
    expect(portProblem(server, 20999, 0)).toBeDefined();
    expect(portProblem(server, 21000, 65535)).toBeDefined();
  });
});

describe("IPv6 targets (dual stack)", () => {
  const dual = (addresses: string[]): TargetAgent => ({
    id: "n2/host",
    info: create(AgentInfoSchema, { addresses, portMin: 21000, portMax: 21099 }),
    addressCheck: "trusted",
    closed: false,
  });
  const from = dual(["198.18.0.11", "fd00:198:18::11"]);
  const to = dual(["198.18.0.12", "fe80::1", "fd00:198:18::12", "fd00:10:244:2::1"]);

  test.each([
    ["ipv4", "198.18.0.12"],
    ["ipv6", "fd00:198:18::12"],
  ] as const)("the %s target is %s (IPv6: the first registered, link-local skipped)", (family, address) => {
    expect(targetAddress(to.info, family)).toBe(address);
  });

  test.each([
    ["its registered IPv6 address", "fd00:198:18::12", undefined],
    ["the same spelled long", "fd00:198:18:0:0:0:0:12", undefined],
    ["another of its IPv6 addresses", "fd00:10:244:2::1", /not the registered IPv6 address of agent n2\/host/],
    ["its link-local address", "fe80::1", /not the registered IPv6 address/],
    ["an address it never registered", "fd00:198:18::99", /not the registered IPv6 address/],
  ])("%s: %s", (_what, target, re) => {
    const err = targetProblem(from, to, { target, port: 21000, dataPort: 0, needsServer: true });
    if (re === undefined) expect(err).toBeUndefined();
    else expect(err?.message).toMatch(re);
  });

  test("an agent without an IPv6 address has no IPv6 target", () => {
    expect(targetAddress(dual(["198.18.0.12", "fe80::1"]).info, "ipv6")).toBeUndefined();
  });
});
