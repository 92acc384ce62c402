import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { MeasurementSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { mergeServerReport } from "./case-runner.js";

describe("mergeServerReport (iperf2 UDP: loss and jitter live on the server)", () => {
  test("fills what the client lacks, keeps what it has", () => {
    const client = create(MeasurementSchema, { throughputBps: 100e6, senderBps: 100e6, durationS: 2 });
    const server = create(MeasurementSchema, { receiverBps: 97e6, jitterMs: 0.02, lostPackets: 300, packets: 17_000, lossPercent: 1.76 });
    const m = mergeServerReport(client, server);
    expect(m).toMatchObject({ senderBps: 100e6, receiverBps: 97e6, throughputBps: 97e6, jitterMs: 0.02, lostPackets: 300, lossPercent: 1.76 });
  });
  test("a client that already has receiver figures keeps them", () => {
    const client = create(MeasurementSchema, { throughputBps: 90e6, receiverBps: 90e6, lossPercent: 0.5, durationS: 2 });
    const server = create(MeasurementSchema, { receiverBps: 97e6, lossPercent: 3 });
    expect(mergeServerReport(client, server)).toMatchObject({ throughputBps: 90e6, receiverBps: 90e6, lossPercent: 0.5 });
  });
  test("the server's notes about its figures come along; the client's own win on a clash", () => {
    const client = create(MeasurementSchema, { throughputBps: 100e6, durationS: 2, extra: { tcp_mean_rtt_us: 80, shared: 1 } });
    const server = create(MeasurementSchema, { lossPercent: 0, extra: { reordered_packets: 12, shared: 2 } });
    expect(mergeServerReport(client, server).extra).toEqual({ tcp_mean_rtt_us: 80, reordered_packets: 12, shared: 1 });
  });
  test("no server report leaves loss unknown (undefined), never 0", () => {
    const client = create(MeasurementSchema, { throughputBps: 100e6, durationS: 2 });
    expect(mergeServerReport(client, undefined).lossPercent).toBeUndefined();
  });
});
