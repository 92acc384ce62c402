import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { NodeLoadSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { boundedLoad } from "./agent-link.js";

describe("boundedLoad: an agent's load report, never believed blindly", () => {
  test.each([
    {
      what: "in range: kept",
      load: { cpuBusyPercent: 87, stealPercent: 1, loadAverage1m: 3.9, procsRunning: 5, cpuCount: 2 },
      want: { cpuBusyPercent: 87, stealPercent: 1, loadAverage1m: 3.9 },
    },
    { what: "above 100 %: 100", load: { cpuBusyPercent: 100.00000000000001, stealPercent: 250 }, want: { cpuBusyPercent: 100, stealPercent: 100 } },
    {
      what: "negative or not a number: 0",
      load: { cpuBusyPercent: -5, stealPercent: Number.NaN, loadAverage1m: Number.POSITIVE_INFINITY },
      want: { cpuBusyPercent: 0, stealPercent: 0, loadAverage1m: 0 },
    },
  ])("$what", ({ load, want }) => {
    expect(boundedLoad(create(NodeLoadSchema, load))).toMatchObject(want);
  });
});

test("boundedLoad clamps the heartbeat's own message in place and drops fields this coordinator does not know", () => {
  const l = create(NodeLoadSchema, { cpuBusyPercent: 300, atMs: 5 });
  l.$unknown = [{ no: 99, wireType: 2, data: new Uint8Array(1000) }];
  const b = boundedLoad(l);
  expect(b).toBe(l);
  expect(b.cpuBusyPercent).toBe(100);
  expect(b.$unknown).toBeUndefined();
});
