import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { AgentInfoSchema, MeasurementSchema } from "../../../gen/netmatrix/v1/types_pb.js";
import { RepetitionSchema } from "../../../gen/netmatrix/v1/control_pb.js";
import { ladderPathKey, ladderStart, nicSpeedBps } from "./start.js";
import { ladderResult, stepOutcome } from "./run-ladder.js";

const agent = (address: string, speedMbps: number) =>
  create(AgentInfoSchema, {
    addresses: [address],
    interfaces: [
      { name: "lo", addresses: ["127.0.0.1/8"], speedMbps: 0 },
      { name: "eth0", addresses: [`${address}/24`], speedMbps },
    ],
  });

describe("where a ladder starts", () => {
  test.each<[string, number | undefined, number, number, { bps: number; from: string }]>([
    ["the same path's TCP result first", 940e6, 10_000, 25_000, { bps: 940e6, from: "tcp" }],
    ["else the slower NIC", undefined, 10_000, 25_000, { bps: 10e9, from: "nic" }],
    ["one NIC known", undefined, 0, 25_000, { bps: 25e9, from: "nic" }],
    ["else 1 Gbit/s", undefined, 0, 0, { bps: 1e9, from: "default" }],
    ["a TCP figure that is no rate is not used", Number.NaN, 0, 0, { bps: 1e9, from: "default" }],
  ])("%s", (_what, tcp, a, b, want) => {
    expect(ladderStart(tcp, agent("10.0.0.1", a), agent("10.0.0.2", b))).toEqual(want);
  });

  test("an absurd speed from an agent is not believed", () => {
    expect(nicSpeedBps(agent("10.0.0.1", 4_000_000))).toBeUndefined();
  });

  test("paths differ by agents, how and direction", () => {
    const k = { client: "a", server: "b", via: "direct", direction: "forward" };
    expect(ladderPathKey(k)).not.toBe(ladderPathKey({ ...k, client: "b", server: "a" }));
    expect(ladderPathKey(k)).not.toBe(ladderPathKey({ ...k, via: "service" }));
  });
});

describe("a step from a repetition", () => {
  test.each<[string, Parameters<typeof create<typeof RepetitionSchema>>[1], ReturnType<typeof stepOutcome>]>([
    [
      "a measurement: receiver rate, loss, jitter and what was sent",
      { outcome: { case: "measurement", value: create(MeasurementSchema, { receiverBps: 4.8e8, senderBps: 4.9e8, throughputBps: 4.8e8, lossPercent: 0.02, jitterMs: 0.01 }) } },
      { receivedBps: 4.8e8, lossPercent: 0.02, jitterMs: 0.01, sentBps: 4.9e8 },
    ],
    ["a failure: its reason", { outcome: { case: "failure", value: { reason: "iperf3: unable to connect" } } }, { failure: "iperf3: unable to connect" }],
    [
      "a measurement without loss: not a step figure",
      { outcome: { case: "measurement", value: create(MeasurementSchema, { throughputBps: 1e9 }) } },
      { failure: "the tool reported no received rate or loss for the step" },
    ],
  ])("%s", (_what, rep, want) => {
    expect(stepOutcome(create(RepetitionSchema, rep))).toEqual(want);
  });

  test("the stored ladder: every step with its verdict; no found figures when nothing was good", () => {
    const params = { lossPercent: 0.1, maxSteps: 3, stepDurationS: 1 };
    const r = ladderResult(
      params,
      { bps: 1e9, from: "default" },
      {
        steps: [
          { offeredBps: 1e9, phase: "up", outcome: { receivedBps: 4e8, sentBps: 1e9, lossPercent: 60 } },
          { offeredBps: 5e8, phase: "down", outcome: { failure: "gone" } },
        ],
        found: undefined,
        stopReason: "step 2 at 500.0 Mbit/s failed: gone",
      },
    );
    expect(r.found).toBe(false);
    expect(r.foundOfferedBps).toBeUndefined();
    expect(r.steps.map((s) => [s.offeredBps, s.good, s.lossPercent, s.failure?.reason])).toEqual([
      [1e9, false, 60, undefined],
      [5e8, false, undefined, "gone"],
    ]);
  });
});
