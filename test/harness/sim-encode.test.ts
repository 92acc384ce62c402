import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { expect, test } from "vitest";
import { AgentMessageSchema, HeartbeatSchema, SampleBatchSchema } from "../../gen/netmatrix/v1/agent_pb.js";
import { AgentInfoSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { dbl, str, u32 } from "./sample-arbitraries.js";
import { encode, rawAgentMessage } from "./sim-encode.js";

const sample = fc.record(
  {
    wallMs: dbl,
    intervalMs: dbl,
    interfaces: fc.array(fc.record({ name: str, rxBps: dbl, txBps: dbl, rxPps: dbl, txPps: dbl, rxBytesTotal: dbl, txBytesTotal: dbl, rxDropsPerS: dbl }), { maxLength: 40 }),
    cpu: fc.record(
      { totalPercent: dbl, userPercent: dbl, stealPercent: dbl, perCorePercent: fc.array(dbl, { maxLength: 300 }), procsRunning: u32 },
      { requiredKeys: ["totalPercent"] },
    ),
    memory: fc.record({ totalBytes: dbl, availableBytes: dbl, usedBytes: dbl }),
    processes: fc.array(fc.record({ pid: u32, name: str, cpuPercent: dbl, rssBytes: dbl, role: str }), { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

test("sample batches encode to protobuf-es's own bytes", () => {
  fc.assert(
    fc.property(str, fc.array(sample, { maxLength: 4 }), (streamId, samples) => {
      const obj = { streamId, samples };
      expect(Buffer.from(encode(SampleBatchSchema, obj))).toEqual(Buffer.from(toBinary(SampleBatchSchema, create(SampleBatchSchema, obj))));
    }),
    { numRuns: 300 },
  );
});

test("heartbeats, enums, bools and repeated strings too", () => {
  const hb = { uptimeMs: 1234.5, runningServers: 2, load: { cpuBusyPercent: 12, procsRunning: 3, cpuCount: 4, atMs: Date.now() } };
  expect(Buffer.from(encode(HeartbeatSchema, hb))).toEqual(Buffer.from(toBinary(HeartbeatSchema, create(HeartbeatSchema, hb))));
  const info = {
    node: "n1",
    mode: 2,
    addresses: ["127.0.0.1", "::1"],
    interfaces: [{ name: "eth0", mtu: 1500, addresses: ["10.0.0.1"] }],
    behindNat: true,
    portMin: 1,
    portMax: 65535,
  };
  expect(Buffer.from(encode(AgentInfoSchema, info))).toEqual(Buffer.from(toBinary(AgentInfoSchema, create(AgentInfoSchema, info))));
  expect(() => encode(AgentInfoSchema, { labels: { zone: "a" } })).toThrow(/maps are not supported/);
});

test("a raw AgentMessage goes through the seam's serializer as the message it stands for", () => {
  const value = {
    streamId: "w1:n1/host",
    samples: [{ wallMs: 1, intervalMs: 1000, interfaces: [{ name: "eth0", rxBytesTotal: 5e9 }], cpu: { totalPercent: 3, perCorePercent: [1, 2] } }],
  };
  const raw = rawAgentMessage("sampleBatch", value);
  // What the client seam does to every message: create() (a no-op on a message), then toBinary.
  const wire = toBinary(AgentMessageSchema, create(AgentMessageSchema, raw));
  expect(Buffer.from(wire)).toEqual(Buffer.from(toBinary(AgentMessageSchema, create(AgentMessageSchema, { msg: { case: "sampleBatch", value } }))));
  const back = fromBinary(AgentMessageSchema, wire);
  expect(back.msg.case).toBe("sampleBatch");
  expect(back.msg.value).toEqual(create(SampleBatchSchema, value));
  expect(fromBinary(AgentMessageSchema, toBinary(AgentMessageSchema, rawAgentMessage("heartbeat", { uptimeMs: 5 }))).msg).toEqual({
    case: "heartbeat",
    value: create(HeartbeatSchema, { uptimeMs: 5 }),
  });
  // Long messages: a length prefix of several bytes.
  const big = {
    streamId: "s",
    samples: Array.from({ length: 50 }, (_, i) => ({ wallMs: i, interfaces: Array.from({ length: 30 }, (_, k) => ({ name: `veth${k}`, rxBps: k + 0.5 })) })),
  };
  expect(fromBinary(AgentMessageSchema, toBinary(AgentMessageSchema, rawAgentMessage("sampleBatch", big))).msg.value).toEqual(create(SampleBatchSchema, big));
});
