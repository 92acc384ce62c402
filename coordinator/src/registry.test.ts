import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { AgentInfoSchema, NetworkMode } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import type { AgentLink } from "./agent-link.js";
import { naturalCompare } from "../../common/src/natural-compare.js";
import { baseId, Registry } from "./registry.js";

const link = (id: string, instanceId = id, peer = "10.0.0.1:40000", address = "10.0.0.1") =>
  ({ id, instanceId, peer, closed: false, connectedAtMs: 0, info: create(AgentInfoSchema, { addresses: [address] }) }) as unknown as AgentLink;

/** A link of node `node` (its id's first part unless given). */
const onNode = (id: string, node = id.split("/")[0]!) =>
  ({ id, instanceId: id, peer: "10.0.0.1:40000", closed: false, connectedAtMs: 0, info: create(AgentInfoSchema, { node, addresses: ["10.0.0.1"] }) }) as unknown as AgentLink;

/** Every id of `r`, read page by page with `limit` per page, calling `between` after each page. */
function pageAll(r: Registry, limit: number, between: (lastId: string) => void = () => {}, query: { node?: string; filter?: (l: AgentLink) => boolean } = {}): string[] {
  const seen: string[] = [];
  let afterId: string | undefined;
  for (let pages = 0; ; pages++) {
    if (pages > 10_000) throw new Error("paging does not end");
    const p = r.page({ ...query, limit, ...(afterId === undefined ? {} : { afterId }) });
    expect(p.links.length).toBeLessThanOrEqual(limit);
    seen.push(...p.links.map((l) => l.id));
    if (!p.more) return seen;
    expect(p.links.length).toBe(limit);
    afterId = p.links.at(-1)!.id;
    between(afterId);
  }
}

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

  test("lists agents in natural order (n2 before n10), kept as they come and go, not sorted per call", () => {
    const r = new Registry();
    for (const id of ["n10/host", "n2/pod/b", "n2/host", "n1/host", "node-b/host", "n2/pod/a", "N3/host"]) r.add(onNode(id));
    expect(r.list().map((l) => l.id)).toEqual(["N3/host", "n1/host", "n2/host", "n2/pod/a", "n2/pod/b", "n10/host", "node-b/host"]);
    r.remove(r.get("n2/host")!);
    r.add(onNode("n9/host"));
    expect(r.list().map((l) => l.id)).toEqual(["N3/host", "n1/host", "n2/pod/a", "n2/pod/b", "n9/host", "n10/host", "node-b/host"]);
    expect(r.size).toBe(7);
    expect(r.get("n9/host")?.id).toBe("n9/host");
    expect(r.get("n9")).toBeUndefined();
    expect(r.byNode("n2").map((l) => l.id)).toEqual(["n2/pod/a", "n2/pod/b"]);
    expect(r.byNode("n7")).toEqual([]);
  });

  test("the indexes agree with a plain model through thousands of random registrations, reconnects and departures", () => {
    const r = new Registry();
    const model = new Map<string, AgentLink>();
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let step = 0; step < 5_000; step++) {
      const id = `node-${rand(300)}/${["host", "pod/a", "pod/b"][rand(3)]}`;
      if (rand(3) === 0 && model.has(id)) {
        r.remove(model.get(id)!);
        model.delete(id);
      } else {
        const l = onNode(id);
        r.add(l); // a new registration, or a reconnect replacing the session
        model.set(id, l);
      }
    }
    const want = [...model.keys()].sort(naturalCompare);
    expect(r.list().map((l) => l.id)).toEqual(want);
    expect(r.size).toBe(model.size);
    for (const node of ["node-0", "node-17", "node-299"]) expect(r.byNode(node).map((l) => l.id)).toEqual(want.filter((id) => id.startsWith(`${node}/`)));
    for (const id of want) expect(r.get(id)).toBe(model.get(id));
    expect(pageAll(r, 13)).toEqual(want);
  });

  test("a page starts after its cursor, holds at most `limit`, and says whether more follow", () => {
    const r = new Registry();
    for (let i = 1; i <= 25; i++) r.add(onNode(`n${i}/host`));
    const first = r.page({ limit: 10 });
    expect(first.links.map((l) => l.id)).toEqual(Array.from({ length: 10 }, (_, i) => `n${i + 1}/host`));
    expect(first.more).toBe(true);
    expect(r.page({ afterId: "n20/host", limit: 10 })).toMatchObject({
      links: [{ id: "n21/host" }, { id: "n22/host" }, { id: "n23/host" }, { id: "n24/host" }, { id: "n25/host" }],
      more: false,
    });
    // Exactly `limit` left: no further page is promised.
    expect(r.page({ afterId: "n15/host", limit: 10 }).more).toBe(false);
    // A cursor that has left the registry still places the page.
    r.remove(r.get("n5/host")!);
    expect(r.page({ afterId: "n5/host", limit: 1 }).links.map((l) => l.id)).toEqual(["n6/host"]);
    // Filters and the node index.
    const odd = (l: AgentLink) => Number(/\d+/.exec(l.id)![0]) % 2 === 1;
    expect(pageAll(r, 4, undefined, { filter: odd })).toEqual(Array.from({ length: 13 }, (_, i) => `n${2 * i + 1}/host`).filter((id) => id !== "n5/host"));
    expect(r.count({ filter: odd })).toBe(12);
    expect(r.count()).toBe(24);
    expect(r.page({ node: "n7", limit: 5 }).links.map((l) => l.id)).toEqual(["n7/host"]);
    expect(r.count({ node: "n5" })).toBe(0);
  });

  test("paging while agents come and go lists each agent present throughout exactly once, in order", () => {
    const r = new Registry();
    const initial = Array.from({ length: 200 }, (_, i) => `n${i}/host`);
    for (const id of initial) r.add(onNode(id));
    const removedAhead = new Set<string>();
    const removedBehind = new Set<string>();
    const addedAhead: string[] = [];
    let k = 0;
    const seen = pageAll(r, 7, (lastId) => {
      k++;
      // One leaves ahead of the cursor, one behind it; one arrives ahead, one behind; the last one listed reconnects.
      const ahead = r.page({ afterId: lastId, limit: 3 }).links.at(-1);
      if (ahead) {
        r.remove(ahead);
        removedAhead.add(ahead.id);
      }
      const behind = r.page({ afterId: "n", limit: 1 }).links[0]!;
      r.remove(behind);
      removedBehind.add(behind.id);
      addedAhead.push(`n${1000 + k}/pod/x`);
      r.add(onNode(`n${1000 + k}/pod/x`));
      r.add(onNode(`a${k}/host`)); // sorts first: behind the cursor
      r.add(onNode(lastId));
    });
    expect(k).toBeGreaterThan(20);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort(naturalCompare)).toEqual(seen);
    for (const id of initial) if (!removedAhead.has(id)) expect(seen).toContain(id);
    for (const id of removedAhead) expect(seen).not.toContain(id);
    for (const id of addedAhead) if (!removedAhead.has(id)) expect(seen).toContain(id);
    expect(addedAhead.filter((id) => seen.includes(id)).length).toBeGreaterThan(10);
    expect(seen.filter((id) => id.startsWith("a"))).toEqual([]);
    expect(removedBehind.size).toBe(k);
  });

  test("a prefix resolves by its own range: n1 is not n10, and long lists are cut short in messages", () => {
    const r = new Registry();
    for (const id of ["n1/host", "n10/host", "n10/pod/a", "n11/host", "n1a/host"]) r.add(onNode(id));
    expect(r.resolve("n1").id).toBe("n1/host");
    expect(r.resolve("n11").id).toBe("n11/host");
    expect(r.resolve("n10/pod").id).toBe("n10/pod/a");
    expect(() => r.resolve("n10")).toThrow(/ambiguous: n10\/host, n10\/pod\/a$/);
    for (let i = 0; i < 30; i++) r.add(onNode(`big/pod/p${i}`));
    expect(() => r.resolve("big")).toThrow(/ambiguous: big\/pod\/p0, big\/pod\/p1, .*big\/pod\/p9 and 20 more$/);
    let err: NetmatrixError | undefined;
    try {
      r.resolve("nowhere");
    } catch (e) {
      err = e as NetmatrixError;
    }
    expect(err?.code).toBe("not-found");
    expect(err?.hint).toBe(
      "connected agents: big/pod/p0, big/pod/p1, big/pod/p2, big/pod/p3, big/pod/p4, big/pod/p5, big/pod/p6, big/pod/p7, big/pod/p8, big/pod/p9 and 25 more (`netmatrix agents` lists them all)",
    );
  });

  test("with 15,000 agents, lookups, pages and prefixes take microseconds, not a sort of the registry", () => {
    const r = new Registry();
    const ids: string[] = [];
    for (let n = 0; n < 5_000; n++) for (const m of ["host", "pod/netmatrix-pod-a-x", "pod/netmatrix-pod-b-y"]) ids.push(`node-${n}/${m}`);
    // Registered in a scrambled order, as a thundering herd would.
    for (let i = 0; i < ids.length; i++) r.add(onNode(ids[(i * 7919) % ids.length]!));
    expect(r.size).toBe(15_000);
    const t0 = performance.now();
    for (let i = 0; i < 1_000; i++) {
      expect(r.get(ids[i * 15]!)).toBeDefined();
      r.resolve(`node-${i * 5}`.replace(/$/, "/host"));
      r.page({ afterId: ids[i * 15]!, limit: 100 });
    }
    const perCallMs = (performance.now() - t0) / 1_000;
    // The reference, measured here: what every call cost before, a copy and sort of the 15,000 ids.
    const s0 = performance.now();
    for (let i = 0; i < 5; i++) [...ids].sort(naturalCompare);
    const sortMs = (performance.now() - s0) / 5;
    expect(perCallMs).toBeLessThan(sortMs);
  });
});
