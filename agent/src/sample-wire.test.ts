/**
 * The agent's own sample encoder writes exactly protobuf-es's bytes for the
 * same samples (real ones from this machine's /proc, and edge cases), the
 * coordinator decodes them as ordinary messages, and the envelopes have no
 * field it leaves out (the NodeSample's fields: common/src/proto-wire.test.ts).
 */
import { spawn } from "node:child_process";
import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { AgentMessageSchema, SampleBatchSchema, SamplingStoppedSchema } from "../../gen/netmatrix/v1/agent_pb.js";
import { NodeSampleSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { readProcConstants, SamplerSet, type NodeSample } from "./samplers/index.js";
import { pbNodeSample } from "./sample-convert.js";
import { encodeNodeSample, ENVELOPE_FIELDS, samplesMessage } from "./sample-wire.js";

const PID = 4242;

const iface = (name: string, v: number): NodeSample["interfaces"][number] => ({
  name,
  rxBps: v,
  txBps: v * 2,
  rxPps: v / 3,
  txPps: 0,
  rxDropsPerS: -0,
  txDropsPerS: Number.NaN,
  rxErrorsPerS: Number.POSITIVE_INFINITY,
  txErrorsPerS: 1e-300,
  rxBytesTotal: 2 ** 53 - 1,
  txBytesTotal: 0,
});

const base: NodeSample = { monoNs: 1n, wallMs: 1_700_000_000_123.5, intervalMs: 100.25, interfaces: [], processes: [] };

/** Samples that exercise every branch: empty and absent parts, defaults, -0, NaN, long lengths, non-ASCII names. */
const EDGES: [string, NodeSample][] = [
  ["an empty sample", { ...base, wallMs: 0, intervalMs: 0 }],
  ["one interface with odd values", { ...base, interfaces: [iface("eth0", 1e9)] }],
  ["60 interfaces (a sample over 16 KiB: three-byte lengths)", { ...base, interfaces: Array.from({ length: 60 }, (_, i) => iface(`veth${i}abcdef`, i * 1e6)) }],
  ["an interface name of 200 bytes", { ...base, interfaces: [iface("x".repeat(200), 5)] }],
  [
    "cpu with cores and procs_running 0",
    {
      ...base,
      cpu: {
        totalPercent: 12.5,
        userPercent: 0,
        systemPercent: -0,
        softirqPercent: 1,
        irqPercent: 0.1,
        iowaitPercent: 3,
        stealPercent: 0,
        idlePercent: 87.5,
        cores: [0, 1, 2, 3].map((id) => ({ id, busyPercent: id * 10 })),
        procsRunning: 0,
      },
    },
  ],
  [
    "cpu without cores or procs_running",
    {
      ...base,
      cpu: { totalPercent: 0, userPercent: 0, systemPercent: 0, softirqPercent: 0, irqPercent: 0, iowaitPercent: 0, stealPercent: 0, idlePercent: 100, cores: [] },
    },
  ],
  ["memory", { ...base, memory: { totalBytes: 8e9, availableBytes: 0, usedBytes: 8e9, freeBytes: 1, buffersBytes: 2, cachedBytes: 3 } }],
  [
    "processes: the agent, a tool, pid 0, a non-ASCII name",
    {
      ...base,
      processes: [
        { pid: PID, comm: "node", cpuPercent: 1.5, rssBytes: 7e7 },
        { pid: 99_999_999, comm: "iperf3", cpuPercent: 250, rssBytes: 0 },
        { pid: 0, comm: "", cpuPercent: 0, rssBytes: 0 },
        { pid: 7, comm: "näive ✓ (x)", cpuPercent: -0, rssBytes: 1 },
      ],
    },
  ],
];

/** protobuf-es's bytes for `s`: the reference. */
const reference = (s: NodeSample): Uint8Array => toBinary(NodeSampleSchema, pbNodeSample(s, PID));

describe("encodeNodeSample: protobuf-es's bytes, byte for byte", () => {
  test.each(EDGES)("%s", (_, s) => {
    expect(Buffer.from(encodeNodeSample(s, PID)).toString("hex")).toBe(Buffer.from(reference(s)).toString("hex"));
  });

  test("real samples of this machine, with this process and a child as the watched processes", async () => {
    const child = spawn("sleep", ["5"], { stdio: "ignore" });
    try {
      const set = new SamplerSet({ constants: await readProcConstants(), pids: () => [process.pid, child.pid!] });
      set.sample(process.hrtime.bigint());
      const samples: NodeSample[] = [];
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const s = set.sample(process.hrtime.bigint());
        if (s) samples.push(s);
      }
      set.close();
      expect(samples.length).toBeGreaterThan(0);
      for (const s of samples) {
        expect(s.cpu).toBeDefined();
        expect(s.processes.length).toBe(2);
        expect(Buffer.from(encodeNodeSample(s, process.pid))).toEqual(Buffer.from(toBinary(NodeSampleSchema, pbNodeSample(s, process.pid))));
      }
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("samplesMessage: an AgentMessage the coordinator decodes as an ordinary one", () => {
  const samples = EDGES.map(([, s]) => s);

  test.each([
    ["sampleBatch", "stream-1"],
    ["samplingStopped", "c42"],
    ["sampleBatch", ""],
  ] as const)("%s %j: the bytes of the same message built by protobuf-es", (field, id) => {
    const ours = toBinary(AgentMessageSchema, samplesMessage(field, id, samples, PID));
    const pb = samples.map((s) => pbNodeSample(s, PID));
    const theirs = toBinary(
      AgentMessageSchema,
      create(AgentMessageSchema, {
        msg: field === "sampleBatch" ? { case: field, value: { streamId: id, samples: pb } } : { case: field, value: { commandId: id, samples: pb } },
      }),
    );
    expect(Buffer.from(ours).toString("hex")).toBe(Buffer.from(theirs).toString("hex"));
    const decoded = fromBinary(AgentMessageSchema, ours).msg;
    if (decoded.case !== "sampleBatch" && decoded.case !== "samplingStopped") throw new Error(`decoded as ${decoded.case}`);
    expect(decoded.case).toBe(field);
    expect(decoded.value.samples).toHaveLength(samples.length);
  });

  test("no samples: only the id", () => {
    const decoded = fromBinary(AgentMessageSchema, toBinary(AgentMessageSchema, samplesMessage("sampleBatch", "s", [], PID)));
    expect(decoded.msg).toMatchObject({ case: "sampleBatch", value: { streamId: "s", samples: [] } });
  });
});

describe("the envelopes have no field the encoder leaves out", () => {
  test.each([SampleBatchSchema, SamplingStoppedSchema] as DescMessage[])("%s", (schema) => {
    // A field added to the proto must be written by sample-wire.ts too: add it there, then here.
    expect(schema.fields.map((f) => f.number)).toEqual(ENVELOPE_FIELDS[schema.typeName as keyof typeof ENVELOPE_FIELDS]);
  });
});
