import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { MeasurementSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { drivers, type ToolName } from "./index.js";

describe("payload bytes each tool reports (what its NIC bytes are compared with)", () => {
  test.each<[string, ToolName, Record<string, unknown>, number | undefined]>([
    ["sent bytes when the receiver's are unknown", "iperf2", { bytesSent: 1000 }, 1000],
    // The sender counts what it wrote to its socket; the tail still in the socket buffer never crossed the NIC.
    ["received bytes before sent bytes", "iperf3", { bytesSent: 1000, bytesReceived: 990 }, 990],
    ["from the rate when the tool gives no bytes", "qperf", { throughputBps: 8000, durationS: 2 }, 2000],
    ["bidir adds the reverse direction", "iperf2", { bytesSent: 1000, extra: { reverse_bytes_received: 500 } }, 1500],
    // iperf3 -O 1: the omitted second is not in the totals, but it crossed the NIC.
    ["iperf3 -O adds the omitted seconds", "iperf3", { bytesSent: 2000, extra: { omitted_bytes: 1000 } }, 3000],
    ["only iperf3 omits: another tool's stray key is not payload", "iperf2", { bytesSent: 2000, extra: { omitted_bytes: 1000 } }, 2000],
    ["nothing known", "iperf3", {}, undefined],
    ["ping moves no payload worth a ratio", "ping", { bytesSent: 64, durationS: 2 }, undefined],
  ])("%s (%s)", (_, tool, m, want) => {
    expect(drivers[tool].payloadBytes(create(MeasurementSchema, m))).toBe(want);
  });
});
