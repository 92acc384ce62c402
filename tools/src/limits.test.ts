import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { Direction, Protocol, TestSpecSchema, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { CoordinatorMessageSchema } from "../../gen/netmatrix/v1/agent_pb.js";
import { deadlineProblem, MAX_DEADLINE_MS, specProblems, stepDeadlines } from "./limits.js";

const ok = { tool: Tool.IPERF3, protocol: Protocol.TCP, direction: Direction.FORWARD, durationS: 10, parallel: 1 };

describe("specProblems", () => {
  test("a sane spec has none", () => expect(specProblems(create(TestSpecSchema, ok))).toEqual([]));
  test.each([
    [{ durationS: 0 }, /duration 0 s is outside 1..3600 s/],
    [{ durationS: 100_000 }, /duration/],
    [{ parallel: 129 }, /parallel 129 is outside 1..128/],
    [{ bitrateBps: 1e12 }, /bitrate/],
    [{ protocol: Protocol.UDP, lengthBytes: 70_000 }, /length 70000 B is outside 0..65507 B/],
    [{ omitS: 10 }, /omit 10 s must be shorter than duration/],
    [{ tool: Tool.UNSPECIFIED }, /tool is not set/],
    [{ direction: Direction.UNSPECIFIED }, /direction is not set/],
    [{ tool: Tool.PING, pingIntervalMs: 10 }, /below 200 ms/],
    [{ tool: Tool.HTTP, connections: 10_001 }, /connections 10001 is outside 0..10000/],
    [{ tool: Tool.HTTP, bodyBytes: 64 * 1024 * 1024 + 1 }, /body 67108865 B is outside 0..67108864 B/],
    [{ tool: Tool.HTTP, httpMode: 7 }, /http mode 7 is unknown/],
    [{ tool: Tool.SOCKPERF, messageRatePerS: 2e6 }, /message rate 2000000 \/s is outside 0..1000000 \/s/],
    [{ tool: Tool.SOCKPERF, messageRatePerS: Number.NaN }, /message rate NaN/],
  ])("%j is refused", (patch, re) => {
    expect(specProblems(create(TestSpecSchema, { ...ok, ...patch })).join("; ")).toMatch(re);
  });
});

describe("a tool's real run length is within the cap, whatever decides it", () => {
  const spec = (patch: object) => create(TestSpecSchema, { ...ok, ...patch });
  test.each([
    // [what, patch, message]
    [
      "ping: count × interval (100000 × 60 s)",
      { tool: Tool.PING, protocol: Protocol.UNSPECIFIED, pingCount: 100_000, pingIntervalMs: 60_000 },
      "ping would run for 6000000 s (100000 requests × 60 s), above the 3600 s a test may run; send fewer requests or at a shorter interval",
    ],
    [
      "ping: count at the default interval (20000 × 0.2 s)",
      { tool: Tool.PING, protocol: Protocol.UNSPECIFIED, pingCount: 20_000 },
      "ping would run for 4000 s (20000 requests × 0.2 s), above the 3600 s a test may run; send fewer requests or at a shorter interval",
    ],
    [
      "qperf: two tests of the duration",
      { tool: Tool.QPERF, durationS: 1801 },
      "qperf would run for 3602 s (2 tests × 1801 s), above the 3600 s a test may run; use a shorter duration (qperf runs its bandwidth and latency tests one after the other)",
    ],
    [
      "sockperf: the duration and its start and wind-down",
      { tool: Tool.SOCKPERF, durationS: 3600 },
      "sockperf would run for 3603 s (3600 s + 2.5 s of sockperf's start and wind-down), above the 3600 s a test may run; use a shorter duration",
    ],
    [
      "iperf3: duration + omit",
      { durationS: 3590, omitS: 11 },
      "iperf3 would run for 3601 s (3590 s + 11 s omitted), above the 3600 s a test may run; use a shorter duration or omit",
    ],
  ])("%s is refused with the computed length", (_what, patch, message) => {
    expect(specProblems(spec(patch))).toEqual([message]);
    // The one place deadlines come from refuses it too, rather than compute one past what agents take or a uint32 holds.
    expect(() => stepDeadlines(spec(patch))).toThrow(`spec refused: ${message}`);
  });

  test.each([
    ["ping 18000 × 0.2 s", { tool: Tool.PING, protocol: Protocol.UNSPECIFIED, pingCount: 18_000 }, 3_600_000],
    ["qperf 1800 s", { tool: Tool.QPERF, durationS: 1800 }, 3_600_000],
    ["iperf3 3599 s + 1 s", { durationS: 3599, omitS: 1 }, 3_600_000],
    ["iperf2 3600 s", { tool: Tool.IPERF2, durationS: 3600 }, 3_600_000],
  ])("%s: at the cap, accepted, and every deadline fits the agents' bound and its uint32 field", (_what, patch, runMs) => {
    const s = spec(patch);
    expect(specProblems(s)).toEqual([]);
    const d = stepDeadlines(s);
    expect(d.runMs).toBe(runMs);
    for (const ms of [d.clientMs, d.serverMs, d.samplingMs, d.clientReplyMs]) {
      expect(ms).toBeGreaterThan(runMs);
      expect(deadlineProblem("client", ms)).toBeUndefined();
      expect(ms).toBeLessThanOrEqual(MAX_DEADLINE_MS);
    }
    expect(MAX_DEADLINE_MS).toBeLessThan(2 ** 32);
    // The largest deadline encodes (the overflow once dropped both agents' sessions).
    const cmd = create(CoordinatorMessageSchema, { msg: { case: "startServer", value: { commandId: "c1", deadlineMs: MAX_DEADLINE_MS } } });
    expect(fromBinary(CoordinatorMessageSchema, toBinary(CoordinatorMessageSchema, cmd))).toEqual(cmd);
  });

  test.each([
    [0, "the server deadline 0 ms is not set"],
    [-5, "the server deadline -5 ms is not set"],
    [MAX_DEADLINE_MS + 1, `the server deadline ${MAX_DEADLINE_MS + 1} ms is beyond ${MAX_DEADLINE_MS} ms (a test runs at most 3600 s, plus margins)`],
    [4_000_000_000, `the server deadline 4000000000 ms is beyond ${MAX_DEADLINE_MS} ms (a test runs at most 3600 s, plus margins)`],
  ])("an agent refuses a deadline of %s ms", (ms, message) => {
    expect(deadlineProblem("server", ms)).toBe(message);
  });
});
