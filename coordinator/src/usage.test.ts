import { readFileSync } from "node:fs";
import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { CaseRecordSchema, type CaseRecord, type Repetition } from "../../gen/netmatrix/v1/control_pb.js";
import { InterfaceSummarySchema, MeasurementSchema, NodeSampleSchema, UsageSummarySchema, type Measurement, type NodeSample } from "../../gen/netmatrix/v1/types_pb.js";
import { directions } from "../../common/src/model.js";
import { driverOfWire, iperf3 } from "../../tools/src/index.js";
import { endCpu, summarizeUsage, wireToPayload } from "./usage.js";

describe("wire bytes per payload byte", () => {
  test("with -O 1 of a 2 s test the NIC's 1.5× bytes are still 1.046× the payload", () => {
    const m = create(MeasurementSchema, { bytesSent: 2 * 1448e6, extra: { omitted_bytes: 1448e6 } });
    const client = create(UsageSummarySchema, { carryingInterface: "eth0", interfaces: [create(InterfaceSummarySchema, { name: "eth0", txBytes: 3 * 1514e6, rxBytes: 1e6 })] });
    expect(wireToPayload(iperf3.payloadBytes(m), client, "forward")).toEqual({ ratio: expect.closeTo(1514 / 1448, 6) });
  });

  test("below 1 is never a result: fewer wire bytes than payload bytes is a note saying so", () => {
    const client = create(UsageSummarySchema, { carryingInterface: "eth0", interfaces: [create(InterfaceSummarySchema, { name: "eth0", txBytes: 997_200, rxBytes: 1e4 })] });
    expect(wireToPayload(1e6, client, "forward")).toEqual({
      note: expect.stringMatching(/^eth0 counted 997200 B on the wire for 1000000 B of payload \(ratio 0\.9972 < 1, which cannot be\)/),
    });
  });

  test("no carrying interface, or one without byte counts: a note; no payload figure: nothing to say", () => {
    const none = create(UsageSummarySchema, { agentId: "n1/host", node: "n1", carryingInterface: "" });
    expect(wireToPayload(1e6, none, "forward")).toEqual({ note: "no sampled interface of the client (n1) carried traffic in the window" });
    const reset = create(UsageSummarySchema, {
      carryingInterface: "eth0",
      interfaces: [create(InterfaceSummarySchema, { name: "eth0", bytesNote: "no byte counts: its tx counter went backwards" })],
    });
    expect(wireToPayload(1e6, reset, "forward")).toEqual({ note: "the carrying interface eth0 has no byte counts: its tx counter went backwards" });
    expect(wireToPayload(undefined, reset, "forward")).toBeUndefined();
  });
});

/** The measured repetitions of a recorded lab run (real agent samples). */
function recorded(cni: string): { rec: CaseRecord; rep: Repetition; m: Measurement }[] {
  return readFileSync(`report/fixtures/runs/${cni}/cases.jsonl`, "utf8")
    .trim()
    .split("\n")
    .map((l) => fromJson(CaseRecordSchema, JSON.parse(l) as JsonValue, { ignoreUnknownFields: true }))
    .flatMap((rec) => rec.result!.repetitions.flatMap((rep) => (rep.outcome.case === "measurement" ? [{ rec, rep, m: rep.outcome.value }] : [])));
}

const bytesFromRates = (samples: NodeSample[], name: string, k: "rxBps" | "txBps"): number =>
  samples.reduce((n, s) => n + ((s.interfaces.find((i) => i.name === name)?.[k] ?? 0) * s.intervalMs) / 8000, 0);

describe("NIC bytes from the counters, on recorded lab runs", () => {
  const runs = [...recorded("host-gw"), ...recorded("vxlan")];

  test("a complete recording: the same bytes, carrying interface and wire/payload as recorded", () => {
    let ratios = 0;
    for (const { rec, rep, m } of runs) {
      const usage = summarizeUsage(rep.clientSamples, rep.clientUsage!.agentId, rep.clientUsage!.node);
      expect(usage.carryingInterface).toBe(rep.clientUsage!.carryingInterface);
      for (const i of rep.clientUsage!.interfaces) {
        expect(usage.interfaces.find((x) => x.name === i.name)).toMatchObject({ rxBytes: i.rxBytes, txBytes: i.txBytes, bytesNote: "" });
      }
      const payload = driverOfWire(rec.result!.spec!.tool)!.payloadBytes(m);
      const w = wireToPayload(payload, usage, directions.toName(rec.result!.spec!.direction) ?? "forward");
      if (rep.wireToPayload === undefined) continue;
      // Recorded when the sender's bytes were the payload; the receiver's come first now. The wire bytes are the same.
      const recordedPayload = (m.bytesSent ?? m.bytesReceived ?? 0) + (m.extra.reverse_bytes_received ?? 0) + (m.extra.omitted_bytes ?? 0);
      expect(w).toEqual({ ratio: expect.closeTo((rep.wireToPayload * recordedPayload) / payload!, 9) });
      ratios++;
    }
    expect(ratios).toBeGreaterThan(50);
  });

  test("an interval the agent did not rate: rate × time loses it (wire/payload below 1), the counters do not", () => {
    // A pod-pod-same case: veth traffic, wire/payload recorded as 1.0015.
    const { rec, rep, m } = runs.find((r) => r.rec.scenario === "pod-pod-same" && r.rep.wireToPayload !== undefined)!;
    const name = rep.clientUsage!.carryingInterface;
    const payload = driverOfWire(rec.result!.spec!.tool)!.payloadBytes(m)!;
    // What the agent sends when it cannot rate an interface over one interval (net/dev unreadable,
    // or another of its counters stepping back): the sample without that interface.
    const samples = rep.clientSamples.map((s, i) => (i === 3 ? create(NodeSampleSchema, { ...s, interfaces: s.interfaces.filter((x) => x.name !== name) }) : s));
    const lost = bytesFromRates(rep.clientSamples, name, "rxBps") - bytesFromRates(samples, name, "rxBps");
    expect(lost).toBeGreaterThan(0.05 * payload);
    expect(Math.max(bytesFromRates(samples, name, "rxBps"), bytesFromRates(samples, name, "txBps")) / payload).toBeLessThan(1);

    const usage = summarizeUsage(samples, rep.clientUsage!.agentId, rep.clientUsage!.node);
    const nic = usage.interfaces.find((i) => i.name === name)!;
    expect([nic.rxBytes, nic.txBytes]).toEqual([
      rep.clientUsage!.interfaces.find((i) => i.name === name)!.rxBytes,
      rep.clientUsage!.interfaces.find((i) => i.name === name)!.txBytes,
    ]);
    expect(wireToPayload(payload, usage, "forward")).toEqual({ ratio: expect.closeTo(rep.wireToPayload!, 12) });
    expect(rep.wireToPayload).toBeGreaterThan(1);
  });

  test("a counter that goes backwards in the window: no byte counts for that interface, and wire/payload says why", () => {
    const { rec, rep, m } = runs.find((r) => r.rec.scenario === "pod-pod-cross" && r.rep.wireToPayload !== undefined)!;
    const name = rep.clientUsage!.carryingInterface;
    // The interface re-created mid-window: its counters start again near 0.
    const samples = rep.clientSamples.map((s, i) =>
      i < 4
        ? s
        : create(NodeSampleSchema, {
            ...s,
            interfaces: s.interfaces.map((x) => (x.name === name ? { ...x, txBytesTotal: x.txBytesTotal - 1e8, rxBytesTotal: x.rxBytesTotal - 1e6 } : x)),
          }),
    );
    const usage = summarizeUsage(samples, rep.clientUsage!.agentId, rep.clientUsage!.node);
    const nic = usage.interfaces.find((i) => i.name === name)!;
    expect(nic).toMatchObject({ rxBytes: 0, txBytes: 0, bytesNote: expect.stringMatching(/^no byte counts: its rx counter went backwards/) });
    // Still ranked by its traffic (its rates), so it stays the carrying interface.
    expect(usage.carryingInterface).toBe(name);
    expect(wireToPayload(driverOfWire(rec.result!.spec!.tool)!.payloadBytes(m), usage, "forward")).toEqual({ note: `the carrying interface ${name} has ${nic.bytesNote}` });
  });
});

describe("endCpu: one end's CPU while its tool ran", () => {
  /** A sample of `ms` with node busy `busy` %, steal, run queue, and the tool at `tool` % of a core (undefined: not running). */
  const sample = (ms: number, busy: number, tool?: number, steal = 0, queue?: number): NodeSample =>
    create(NodeSampleSchema, {
      intervalMs: ms,
      cpu: { totalPercent: busy, stealPercent: steal, ...(queue !== undefined ? { procsRunning: queue } : {}) },
      processes: [{ pid: 1, role: "agent", cpuPercent: 2 }, ...(tool !== undefined ? [{ pid: 2, role: "tool", cpuPercent: tool }] : [])],
    });

  test("only the samples in which the tool ran, each weighted by its interval", () => {
    const samples = [sample(100, 10), sample(100, 100, 90, 0, 4), sample(300, 100, 100, 0, 3), sample(50, 96, 80, 0, 5), sample(100, 5)];
    const e = endCpu(samples, "client", "n1/host", "n1", 2)!;
    expect(e).toMatchObject({
      end: "client",
      agentId: "n1/host",
      node: "n1",
      cpuCount: 2,
      samples: 3,
      windowMs: 450,
      nodeBusyPercent: expect.closeTo((100 * 100 + 100 * 300 + 96 * 50) / 450, 9),
      toolCpuPercent: expect.closeTo((90 * 100 + 100 * 300 + 80 * 50) / 450, 9),
      stealPercent: 0,
      procsRunning: expect.closeTo((4 * 100 + 3 * 300 + 5 * 50) / 450, 9),
      procsRunningPeak: 5,
      reasons: [],
    });
  });

  test("no sample shows the tool (ping's far end): all samples; no CPU figures at all: no verdict", () => {
    const e = endCpu([sample(100, 20, undefined, 12), sample(100, 40, undefined, 8)], "server", "n2/host", "n2", 4)!;
    expect([e.samples, e.nodeBusyPercent, e.toolCpuPercent, e.stealPercent, e.procsRunning]).toEqual([2, 30, 0, 10, undefined]);
    expect(endCpu([create(NodeSampleSchema, { intervalMs: 100 })], "server", "n2/host", "n2", 4)).toBeUndefined();
    expect(endCpu([], "client", "n1/host", "n1", 2)).toBeUndefined();
  });

  test("the run queue over a case's window is in the usage summary, absent when never reported", () => {
    expect(summarizeUsage([sample(100, 50, 10, 0, 2), sample(100, 50, 10, 0, 6)], "a", "n").procsRunning).toEqual(expect.objectContaining({ mean: 4, peak: 6 }));
    expect(summarizeUsage([sample(100, 50, 10)], "a", "n").procsRunning).toBeUndefined();
  });
});
