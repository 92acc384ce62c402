import { describe, expect, test } from "vitest";
import type { CaseComparison, CaseIdentity } from "./compare-types.js";
import { matchingNotes, untestedNote, type MatchSide } from "./compare-matching.js";

/** A case identity as compareRuns builds it (match key: scenario/via/tool/protocol/direction/P/B/L/W/M/pair). */
function id(scenario: string, pair: string, o: { tool?: string; protocol?: string; direction?: string; parallel?: number } = {}): CaseIdentity {
  const [clientNode, serverNode] = pair.split("→") as [string, string];
  const { tool = "iperf3", protocol = "tcp", direction = "forward", parallel = 1 } = o;
  return {
    matchKey: [scenario, "direct", tool, protocol, direction, `P${parallel}`, "B0", "L0", "W0", "M0", pair].join("/"),
    scenario,
    via: "direct",
    clientNode,
    serverNode,
    path: pair.replace("→", " → "),
    test: `${tool} ${protocol} ${direction}${parallel > 1 ? ` P${parallel}` : ""}`,
    tool,
    protocol,
    direction,
    parallel,
    bitrateBps: 0,
    lengthBytes: 0,
    windowBytes: 0,
    mss: 0,
  };
}

const matched = (c: CaseIdentity, verdict: CaseComparison["metrics"][number]["verdict"] = "no significant change"): CaseComparison => ({
  ...c,
  keyA: c.matchKey,
  keyB: c.matchKey,
  comparable: true,
  reasons: [],
  notes: [],
  metrics: [
    {
      metric: "throughputBps",
      label: "throughput",
      unit: "bit/s",
      better: "higher",
      headline: true,
      a: { mean: 1, n: 3 },
      b: { mean: 1, n: 3 },
      changePercent: 0,
      changePercentCi95: null,
      p: null,
      significant: false,
      verdict,
      reason: null,
    },
  ],
});

const NODES = ["n1", "n2", "n3"];
const side = (o: Partial<MatchSide> = {}): MatchSide => ({ name: "r", status: "finished", cases: 3, spec: { pairs: { sample: 1 }, seed: 0, repetitions: 3 }, nodes: NODES, ...o });

describe("matchingNotes", () => {
  test("nothing unmatched: no note", () => {
    expect(matchingNotes(side(), side(), [matched(id("host-host", "n1→n2"))], [], [])).toEqual([]);
  });

  test("other test parameters: named per side, with the spec keys to align", () => {
    const notes = matchingNotes(
      side(),
      side(),
      [matched(id("host-host", "n1→n2"))],
      [id("host-host", "n1→n2", { parallel: 4 })],
      [id("host-host", "n1→n2", { direction: "reverse" })],
    );
    expect(notes).toEqual([
      "matched 1 of 3 cases; 1 only in A and 1 only in B differ in their test parameters (protocol, direction, streams, length or bitrate; " +
        "A: host-host iperf3 tcp forward P4; B: host-host iperf3 tcp reverse) — give both specs the same protocols, directions, parallel, lengths and udpBitrates.",
    ]);
  });

  test("other node sets come before the seed: the sample is drawn from the node names", () => {
    const notes = matchingNotes(side(), side({ nodes: ["n1", "n2", "n4"] }), [], [id("host-host", "n1→n3")], [id("host-host", "n4→n1")]);
    expect(notes[0]).toBe(
      "matched 0 of 3 cases; 1 only in A and 1 only in B differ only in their node pairs (A: n1→n3, B: n4→n1): the runs ran on different nodes (n3 only in A; n4 only in B), " +
        "and a sample is drawn from the node names — compare runs on clusters with the same node names.",
    );
  });

  test("every pair with the same nodes: a run that did not finish, else refused cases", () => {
    const all = { spec: { pairs: "all" as const, seed: 0, repetitions: 3 } };
    const args = [[matched(id("host-host", "n1→n2"))], [id("host-host", "n1→n3")], []] as const;
    expect(matchingNotes(side(all), side({ ...all, status: "cancelled" }), ...args)[0]).toMatch(
      /one run did not finish \(B is cancelled\) — `netmatrix run --resume RUN_ID` measures the rest\.$/,
    );
    expect(matchingNotes(side(all), side(all), ...args)[0]).toMatch(
      /one run did not measure those pairs \(an agent missing on a node, or cases refused and run with --allow-partial\)/,
    );
  });

  test("long lists are cut after four, saying how many", () => {
    const pairs = ["n1→n2", "n1→n3", "n2→n1", "n2→n3", "n3→n1", "n3→n2"];
    const notes = matchingNotes(
      side({ cases: 7 }),
      side({ cases: 2, spec: { pairs: "all", seed: 0 } }),
      [matched(id("host-host", "n9→n7"))],
      pairs.map((p) => id("host-host", p)),
      [id("host-host", "n9→n8")],
    );
    expect(notes[0]).toContain(
      "matched 1 of A's 7 and B's 2 cases; 6 only in A and 1 only in B differ only in their node pairs (A: n1→n2, n1→n3, n2→n1, n2→n3, … (6 in all), B: n9→n8)",
    );
  });
});

describe("untestedNote", () => {
  test("only when a verdict is missing; names the run that ran one repetition", () => {
    expect(untestedNote(side(), side(), [matched(id("host-host", "n1→n2"))])).toEqual([]);
    const one = side({ spec: { repetitions: 1 } });
    expect(untestedNote(side(), one, [matched(id("host-host", "n1→n2"), "not tested (n<2)")])).toEqual([
      '1 of 1 comparison has no verdict ("not tested (n<2)"): Welch\'s t-test needs at least 2 measured repetitions of a case in each run; ' +
        "B ran 1 repetition per case — run both with `--repetitions 3` (or `repetitions: 3` in the spec; 3 or more to see a change).",
    ]);
    // A run without a spec (recorded by hand): still the fix.
    expect(untestedNote(side({ spec: undefined }), side({ spec: undefined }), [matched(id("host-host", "n1→n2"), "not tested (n<2)")])[0]).toMatch(
      /— run both with `--repetitions 3`\.$/,
    );
  });
});
