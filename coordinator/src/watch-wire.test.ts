import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { AgentSamplesSchema, WatchEventSchema, type WatchEvent } from "../../gen/netmatrix/v1/control_pb.js";
import { NetworkMode, NodeSampleSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { NODE_SAMPLE_FIELDS } from "../../common/src/proto-wire.js";
import { dbl, nodeSample, str, u32 } from "../../test/harness/sample-arbitraries.js";
import { encodeWatchEvent, ENVELOPE_FIELDS } from "./watch-wire.js";

/** Every message type a WatchEvent can carry, found by walking its schema. */
function reachable(root: DescMessage): DescMessage[] {
  const seen = new Map<string, DescMessage>();
  const walk = (m: DescMessage): void => {
    if (seen.has(m.typeName)) return;
    seen.set(m.typeName, m);
    for (const f of m.fields) if (f.message) walk(f.message);
  };
  walk(root);
  return [...seen.values()];
}

const sample = nodeSample();
const mode = fc.constantFrom(NetworkMode.UNSPECIFIED, NetworkMode.HOST, NetworkMode.POD, 7);
const agent = fc.record({ agentId: str, node: str, mode, samples: fc.array(sample, { maxLength: 3 }) });
const event = fc.record({
  agentId: str,
  node: str,
  mode,
  samples: fc.array(sample, { maxLength: 2 }),
  agents: fc.array(agent, { maxLength: 4 }),
  sentAtMs: dbl,
  skippedTicks: u32,
});

describe("encodeWatchEvent: the generic encoder's bytes, faster", () => {
  test("it knows every field of every message a WatchEvent carries (a new field fails here, or in proto-wire.test.ts for a NodeSample's: teach watch-wire.ts to write it)", () => {
    const types = reachable(WatchEventSchema);
    expect(types.map((t) => t.typeName).sort()).toEqual([...Object.keys(ENVELOPE_FIELDS), ...Object.keys(NODE_SAMPLE_FIELDS)].sort());
    for (const t of types)
      if (t.typeName in ENVELOPE_FIELDS)
        expect(
          t.fields.map((f) => f.number).sort((a, b) => a - b),
          t.typeName,
        ).toEqual(ENVELOPE_FIELDS[t.typeName as keyof typeof ENVELOPE_FIELDS]);
  });

  test("the very bytes toBinary gives, for any WatchEvent (zeros, -0, NaN, unicode, empty and absent parts)", () => {
    fc.assert(
      fc.property(event, (init) => {
        const e = create(WatchEventSchema, init);
        const mine = encodeWatchEvent(e);
        expect(Buffer.from(mine).equals(Buffer.from(toBinary(WatchEventSchema, e)))).toBe(true);
        expect(fromBinary(WatchEventSchema, mine)).toEqual(fromBinary(WatchEventSchema, toBinary(WatchEventSchema, e)));
      }),
      { numRuns: 500 },
    );
  });

  test("what it was not written for goes to the generic encoder: unknown fields kept from a newer agent, a negative enum", () => {
    const withUnknown = fromBinary(NodeSampleSchema, Buffer.concat([toBinary(NodeSampleSchema, create(NodeSampleSchema, { wallMs: 5 })), Buffer.from([0xf8, 0x01, 0x2a])]));
    expect(withUnknown.$unknown?.length).toBe(1);
    for (const e of [
      create(WatchEventSchema, { agents: [create(AgentSamplesSchema, { agentId: "a", samples: [withUnknown] })] }),
      create(WatchEventSchema, { agentId: "a", mode: -3 as NetworkMode }),
    ])
      expect(Buffer.from(encodeWatchEvent(e)).equals(Buffer.from(toBinary(WatchEventSchema, e)))).toBe(true);
  });

  test("a 5,000-agent tick costs a fraction of the generic encoder's CPU", () => {
    const tick: WatchEvent = create(WatchEventSchema, {
      sentAtMs: Date.now(),
      agents: Array.from({ length: 5000 }, (_, i) => ({
        agentId: `node-${i}/host`,
        node: `node-${i}`,
        mode: NetworkMode.HOST,
        samples: [
          {
            wallMs: Date.now(),
            intervalMs: 1000,
            interfaces: Array.from({ length: 8 }, (_, k) => ({
              name: k ? `veth${k}` : "eth0",
              rxBps: 1e6 * k + 0.5,
              txBps: 2e6 * k,
              rxPps: k,
              txPps: k,
              rxBytesTotal: 1e12,
              txBytesTotal: 2e12,
            })),
            cpu: { totalPercent: 12.5, userPercent: 8, systemPercent: 4, perCorePercent: [1, 2, 3, 4, 5, 6, 7, 8] },
            memory: { totalBytes: 64e9, availableBytes: 32e9, usedBytes: 32e9 },
          },
        ],
      })),
    });
    const cpuMs = (f: () => unknown) => {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const c0 = process.cpuUsage();
        f();
        const c = process.cpuUsage(c0);
        best = Math.min(best, (c.user + c.system) / 1000);
      }
      return best;
    };
    const generic = cpuMs(() => toBinary(WatchEventSchema, tick));
    const fast = cpuMs(() => encodeWatchEvent(tick));
    console.log(`5,000-agent tick (8 interfaces each): generic encoder ${generic.toFixed(0)} ms CPU, encodeWatchEvent ${fast.toFixed(0)} ms`);
    expect(fast).toBeLessThan(generic / 4);
  });
});
