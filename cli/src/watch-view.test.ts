import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { WatchEventSchema } from "../../gen/netmatrix/v1/control_pb.js";
import { NetworkMode } from "../../gen/netmatrix/v1/types_pb.js";
import { renderWatch, rowName, WatchState } from "./watch-view.js";

const G = 1e9;

/** One agent's sample of its interfaces at `t` s: rates in bits/s, counters since boot in bytes. */
function event(agentId: string, node: string, mode: NetworkMode, t: number, ifaces: [name: string, rxBps: number, txBps: number, rxTotal: number, txTotal: number][]) {
  return create(WatchEventSchema, {
    agentId,
    node,
    mode,
    samples: [
      {
        wallMs: 1_000_000 + t * 1000,
        intervalMs: 1000,
        interfaces: ifaces.map(([name, rxBps, txBps, rxBytesTotal, txBytesTotal]) => ({ name, rxBps, txBps, rxBytesTotal, txBytesTotal })),
      },
    ],
  });
}

/** The node's eth0 at second `t`, moving 1 Gbit/s each way since second 0, read a little after `t` by an agent `lagMs` late. */
function eth0(t: number, lagMs = 0): [string, number, number, number, number] {
  const bytes = 5e9 + (G / 8) * (t + lagMs / 1000);
  return ["eth0", G, G, bytes, bytes];
}

describe("watch: a node's NICs once, whichever agents read them", () => {
  const HOST = NetworkMode.HOST;
  const POD = NetworkMode.POD;

  test.each<[string, ReturnType<typeof event>[], string[]]>([
    ["the host agent alone", [event("n1/host", "n1", HOST, 1, [eth0(1)])], ["n1 eth0 via n1/host"]],
    [
      "host agent and both pod agents read the node's eth0 (the chart's /host/proc/1/net/dev): one row, named by the node",
      [event("n1/host", "n1", HOST, 1, [eth0(1)]), event("n1/pod/a", "n1", POD, 1, [eth0(1, 300)]), event("n1/pod/b", "n1", POD, 1, [eth0(1, 700)])],
      ["n1 eth0 via n1/host, n1/pod/a, n1/pod/b"],
    ],
    [
      "pod agents first, then the host agent: still one row, and the host agent feeds it",
      [event("n1/pod/a", "n1", POD, 1, [eth0(1)]), event("n1/pod/b", "n1", POD, 1, [eth0(1, 200)]), event("n1/host", "n1", HOST, 1, [eth0(1, 400)])],
      ["n1 eth0 via n1/host, n1/pod/a, n1/pod/b"],
    ],
    ["two nodes' eth0 stay two rows", [event("n1/host", "n1", HOST, 1, [eth0(1)]), event("n2/host", "n2", HOST, 1, [eth0(1)])], ["n1 eth0 via n1/host", "n2 eth0 via n2/host"]],
    [
      "a pod agent reading its own namespace's eth0 (no host /proc): other counters, a row of its own named by the agent",
      [event("n1/host", "n1", HOST, 1, [eth0(1)]), event("n1/pod/a", "n1", POD, 1, [["eth0", 1e6, 1e6, 40_000, 30_000]])],
      ["n1 eth0 via n1/host", "n1/pod/a eth0 via n1/pod/a"],
    ],
  ])("%s", (_what, events, expected) => {
    const state = new WatchState();
    for (const e of events) state.add(e);
    const rows = state.snapshot();
    expect(rows.map((r) => `${rowName(r)} ${r.interface} via ${r.agents.join(", ")}`).sort()).toEqual(expected);
  });

  test("bytes and peaks are counted once, not once per agent reading the same NIC", () => {
    const state = new WatchState();
    for (let t = 1; t <= 5; t++) {
      state.add(event("n1/host", "n1", HOST, t, [eth0(t)]));
      state.add(event("n1/pod/a", "n1", POD, t, [eth0(t, 300)]));
      state.add(event("n1/pod/b", "n1", POD, t, [eth0(t, 600)]));
    }
    const [row] = state.snapshot();
    expect(row!.agentId).toBe("n1/host");
    expect(row!.rxBytes).toBeCloseTo((5 * G) / 8, 0);
    expect(row!.peakTxBps).toBe(G);
  });

  test("a batched event (a tick of many agents) gives the same rows as one event per agent", () => {
    const each = new WatchState();
    const batched = new WatchState();
    for (let t = 1; t <= 3; t++) {
      const events = [event("n1/host", "n1", HOST, t, [eth0(t)]), event("n1/pod/a", "n1", POD, t, [eth0(t, 300)]), event("n2/host", "n2", HOST, t, [eth0(t)])];
      for (const e of events) each.add(e);
      batched.add(create(WatchEventSchema, { agents: events.map(({ agentId, node, mode, samples }) => ({ agentId, node, mode, samples })), sentAtMs: 1 }));
    }
    expect(batched.snapshot()).toEqual(each.snapshot());
    expect(batched.snapshot().map((r) => `${rowName(r)} ${r.agents.join(",")}`)).toEqual(["n1 n1/host,n1/pod/a", "n2 n2/host"]);
  });

  test("when the feeding agent goes silent, another reader of the NIC takes over", () => {
    const state = new WatchState();
    state.add(event("n1/host", "n1", HOST, 1, [eth0(1)]));
    state.add(event("n1/pod/a", "n1", POD, 1, [eth0(1, 300)]));
    state.add(event("n1/pod/a", "n1", POD, 10, [eth0(10, 300)]));
    const [row] = state.snapshot();
    expect(row!.agentId).toBe("n1/pod/a");
    expect(row!.updatedMs).toBe(1_000_000 + 10_000);
  });
});

describe("renderWatch", () => {
  const rows = (() => {
    const s = new WatchState();
    s.add(event("n1/host", "n1", NetworkMode.HOST, 1, [eth0(1)]));
    return s.snapshot();
  })();

  test.each([
    [true, true],
    [false, false],
  ])("live %s: the title says q quits: %s", (live, says) => {
    const screen = renderWatch(rows, { columns: 120, intervalMs: 1000, title: "netmatrix watch", live });
    expect(screen.split("\n")[0]!.includes("q to quit")).toBe(says);
    expect(screen).toContain("n1 ");
  });
});
