import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { TestSpecSchema, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { measurementMs } from "./spec-doc.js";

describe("measurementMs", () => {
  test.each([
    [{ tool: Tool.IPERF3, durationS: 10, omitS: 2 }, 12_000],
    [{ tool: Tool.QPERF, durationS: 5 }, 10_000],
    [{ tool: Tool.PING, durationS: 10, pingCount: 20, pingIntervalMs: 500 }, 10_000],
    [{ tool: Tool.PING, durationS: 3 }, 3_000],
  ])("%j → %d ms", (s, want) => expect(measurementMs(create(TestSpecSchema, s))).toBe(want));
});
