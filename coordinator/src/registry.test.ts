import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { AgentInfoSchema, NetworkMode } from "../../gen/netmatrix/v1/types_pb.js";
import type { AgentLink } from "./agent-link.js";
import { baseId, Registry } from "./registry.js";

const link = (id: string, instanceId = id) => ({ id, instanceId }) as unknown as AgentLink;

describe("Registry", () => {
  const info = (node: string, mode: NetworkMode, pod = "") => create(AgentInfoSchema, { node, mode, pod });
  test.each([
    [info("n1", NetworkMode.HOST), "n1/host"],
    [info("n1", NetworkMode.POD, "netmatrix-pod-a-x1"), "n1/pod/netmatrix-pod-a-x1"],
    [info("ec2", NetworkMode.EXTERNAL), "ec2/external"],
  ])("baseId %#", (i, want) => expect(baseId(i)).toBe(want));

  test("a second agent with the same name gets a suffix; the same instance gets its id back", () => {
    const r = new Registry();
    const i = info("n1", NetworkMode.HOST);
    r.add(link(r.idFor(i, "A"), "A"));
    expect(r.idFor(i, "B")).toBe("n1/host#2");
    expect(r.idFor(i, "A")).toBe("n1/host");
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
