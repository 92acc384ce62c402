import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { HttpMode, TestSpecSchema, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { measurementMs, specDoc } from "./spec-doc.js";

describe("measurementMs", () => {
  test.each([
    [{ tool: Tool.IPERF3, durationS: 10, omitS: 2 }, 12_000],
    [{ tool: Tool.QPERF, durationS: 5 }, 10_000],
    [{ tool: Tool.PING, durationS: 10, pingCount: 20, pingIntervalMs: 500 }, 10_000],
    [{ tool: Tool.PING, durationS: 3 }, 3_000],
    [{ tool: Tool.HTTP, durationS: 3 }, 3_000],
    [{ tool: Tool.SOCKPERF, durationS: 3 }, 5_500],
  ])("%j → %d ms", (s, want) => expect(measurementMs(create(TestSpecSchema, s))).toBe(want));
});

test("the request/response fields by name, with their defaults", () => {
  expect(specDoc(create(TestSpecSchema, { tool: Tool.HTTP, httpMode: HttpMode.NEW_CONNECTION, connections: 16, bodyBytes: 1024 }))).toMatchObject({
    tool: "http",
    httpMode: "new-connection",
    connections: 16,
    bodyBytes: 1024,
    messageRatePerS: 0,
  });
  expect(specDoc(create(TestSpecSchema, { tool: Tool.SOCKPERF, messageRatePerS: 5000 }))).toMatchObject({ httpMode: "keepalive", connections: 1, messageRatePerS: 5000 });
});
