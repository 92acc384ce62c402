import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { InterfaceSummarySchema, MeasurementSchema, UsageSummarySchema } from "../../gen/netmatrix/v1/types_pb.js";
import { payloadBytes, wireToPayload } from "./usage.js";

describe("payload and wire bytes", () => {
  test.each([
    ["sent bytes", { bytesSent: 1000 }, 1000],
    ["received when nothing was sent", { bytesReceived: 900 }, 900],
    ["from the rate when the tool gives no bytes", { throughputBps: 8000, durationS: 2 }, 2000],
    ["bidir adds the reverse direction", { bytesSent: 1000, extra: { reverse_bytes_received: 500 } }, 1500],
    // iperf3 -O 1: the omitted second is not in the totals, but it crossed the NIC.
    ["iperf3 -O adds the omitted seconds", { bytesSent: 2000, extra: { omitted_bytes: 1000 } }, 3000],
    ["nothing known", {}, undefined],
  ])("%s", (_, m, want) => {
    expect(payloadBytes(create(MeasurementSchema, m))).toBe(want);
  });

  test("with -O 1 of a 2 s test the NIC's 1.5× bytes are still 1.046× the payload", () => {
    const m = create(MeasurementSchema, { bytesSent: 2 * 1448e6, extra: { omitted_bytes: 1448e6 } });
    const client = create(UsageSummarySchema, { carryingInterface: "eth0", interfaces: [create(InterfaceSummarySchema, { name: "eth0", txBytes: 3 * 1514e6, rxBytes: 1e6 })] });
    expect(wireToPayload(m, client, "forward")).toBeCloseTo(1514 / 1448, 6);
  });
});
