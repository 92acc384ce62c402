import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { AgentInfoSchema, NetworkMode } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import type { AgentLink } from "./agent-link.js";
import { baseId, Registry } from "./registry.js";

const link = (id: string, instanceId = id, peer = "10.0.0.1:40000", address = "10.0.0.1") =>
  ({ id, instanceId, peer, closed: false, connectedAtMs: 0, info: create(AgentInfoSchema, { addresses: [address] }) }) as unknown as AgentLink;

describe("Registry", () => {
  const info = (node: string, mode: NetworkMode, pod = "") => create(AgentInfoSchema, { node, mode, pod });
  test.each([
    [info("n1", NetworkMode.HOST), "n1/host"],
    [info("n1", NetworkMode.POD, "netmatrix-pod-a-x1"), "n1/pod/netmatrix-pod-a-x1"],
    [info("ec2", NetworkMode.EXTERNAL), "ec2/external"],
  ])("baseId %#", (i, want) => expect(baseId(i)).toBe(want));

  test("a second live claimant of a name is refused, naming the holder; the first keeps it", () => {
    const r = new Registry();
    const first = link("n1/host", "A");
    r.add(first);
    let err: unknown;
    try {
      r.checkClaim("n1/host", "B", "10.0.0.9:5000");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetmatrixError);
    expect((err as NetmatrixError).code).toBe("already-exists");
    expect((err as NetmatrixError).message).toMatch(/agent name "n1\/host" is held by another live agent, connected from 10\.0\.0\.1 since 1970-01-01T/);
    expect((err as NetmatrixError).hint).toMatch(/its own --node/);
    expect(r.resolve("n1/host")).toBe(first);
  });

  test("the same agent process reconnecting from the same host takes its name back; from another host it is refused", () => {
    const r = new Registry();
    r.add(link("n1/host", "A", "10.0.0.1:40000"));
    expect(() => r.checkClaim("n1/host", "A", "10.0.0.1:40001")).not.toThrow();
    expect(() => r.checkClaim("n1/host", "A", "10.0.0.2:40000")).toThrow(/held by another live agent/);
  });

  test("a name whose holder is gone can be claimed again, and the change is reported", () => {
    const r = new Registry();
    const old = link("n1/host", "A", "10.0.0.1:40000", "10.0.0.1");
    expect(r.add(old).changes).toEqual([]);
    r.remove(old);
    expect(() => r.checkClaim("n1/host", "B", "10.0.0.7:40000")).not.toThrow();
    const { previous, changes } = r.add(link("n1/host", "B", "10.0.0.7:40000", "10.0.0.7"));
    expect(previous).toBeUndefined();
    expect(changes).toEqual(["name n1/host was last held by another agent process at 10.0.0.1; now at 10.0.0.7"]);
  });

  test("an agent process that re-registers under another name or address is reported", () => {
    const r = new Registry();
    const a = link("n1/host", "A", "10.0.0.1:40000", "10.0.0.1");
    r.add(a);
    r.remove(a);
    expect(r.add(link("n2/host", "A", "10.0.0.1:40000", "10.0.0.1")).changes).toEqual(["the agent process registered as n1/host (10.0.0.1) now registers as n2/host (10.0.0.1)"]);
    expect(r.add(link("n2/host", "A", "10.0.0.1:40000", "10.0.0.3")).changes).toEqual(["agent n2/host changed its address from 10.0.0.1 to 10.0.0.3"]);
  });

  test("resolves ids, unique prefixes, and explains the rest", () => {
    const r = new Registry();
    for (const id of ["n1/host", "n1/pod/a", "n1/pod/b", "n2/host"]) r.add(link(id));
    expect(r.resolve("n2/host").id).toBe("n2/host");
    expect(r.resolve("n2").id).toBe("n2/host");
    expect(() => r.resolve("n1/pod")).toThrow(/ambiguous: n1\/pod\/a, n1\/pod\/b/);
    expect(() => r.resolve("n3")).toThrow(/no agent "n3" is connected/);
  });

  test("remove only drops the current session of an id", () => {
    const r = new Registry();
    const old = link("n1/host", "A");
    const fresh = link("n1/host", "A");
    r.add(old);
    r.add(fresh);
    r.remove(old);
    expect(r.list()).toEqual([fresh]);
  });
});
