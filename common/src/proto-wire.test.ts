/**
 * The shared writes give protobuf-es's own bytes: the primitives (long
 * lengths moved up, 64-bit varints), a NodeSample of any content, and what
 * the writes cannot reproduce clears `fits`. The NodeSample field list is
 * held to the schemas here, for every encoder that uses it (agent, coordinator).
 */
import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CpuUsageSchema, InterfaceRateSchema, MemoryInfoSchema, NodeSampleSchema, ProcessUsageSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { nodeSample } from "../../test/harness/sample-arbitraries.js";
import { NODE_SAMPLE_FIELDS, Writer, writePbNodeSample } from "./proto-wire.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("the NodeSample schemas have no field writeNodeSample leaves out", () => {
  test.each([NodeSampleSchema, InterfaceRateSchema, CpuUsageSchema, MemoryInfoSchema, ProcessUsageSchema] as DescMessage[])("%s", (schema) => {
    // A field added to the proto must be written by proto-wire.ts (and the agent's pbNodeSample) too: add it there, then here.
    expect(schema.fields.map((f) => f.number)).toEqual(NODE_SAMPLE_FIELDS[schema.typeName as keyof typeof NODE_SAMPLE_FIELDS]);
  });

  test("and NodeSample carries no message type but those listed", () => {
    const nested = new Set<string>([NodeSampleSchema.typeName]);
    for (const f of NodeSampleSchema.fields) if (f.message) nested.add(f.message.typeName);
    expect([...nested].sort()).toEqual(Object.keys(NODE_SAMPLE_FIELDS).sort());
  });
});

describe("Writer: protobuf-es's primitive bytes", () => {
  test("varints (up to 2^53, negative and bigint 64-bit), doubles, floats, strings, bytes", () => {
    const w = new Writer(4);
    const ref = new BinaryWriter();
    for (const v of [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      w.uvarint(v);
      ref.uint64(v);
    }
    for (const v of [-1, -(2 ** 31), 2n ** 64n - 1n, -(2n ** 63n)]) {
      w.varint64(v);
      ref.int64(BigInt.asIntN(64, BigInt(v)));
    }
    for (const v of [0.5, -0, NaN, Infinity]) {
      w.rawDouble(v);
      ref.double(v);
      w.rawFloat(v);
      ref.float(v);
    }
    for (const s of ["", "eth0", "网卡 ✓", "x".repeat(20_000)]) {
      w.rawString(s);
      ref.string(s);
    }
    w.rawBytes(new Uint8Array([1, 2, 3]));
    ref.bytes(new Uint8Array([1, 2, 3]));
    expect(hex(w.bytes())).toBe(hex(ref.finish()));
  });

  test("nested lengths of one, two and three bytes are moved into place, nested in each other", () => {
    for (const n of [0, 1, 126, 127, 128, 200, 16383, 16384, 70_000]) {
      const w = new Writer(16);
      const ref = new BinaryWriter();
      const outer = w.open(1);
      w.string(2, "a");
      const inner = w.open(3);
      w.string(4, "x".repeat(n));
      w.close(inner);
      w.close(outer);
      ref.tag(1, 2).fork().tag(2, 2).string("a").tag(3, 2).fork();
      if (n) ref.tag(4, 2).string("x".repeat(n));
      ref.join().join();
      expect(hex(w.bytes()), `n=${n}`).toBe(hex(ref.finish()));
    }
  });

  test("fields leave out proto3's defaults (+0 but not -0, empty, 0) and write an optional's 0; a uint32 out of range clears fits", () => {
    const w = new Writer();
    w.double(1, 0);
    w.string(2, "");
    w.uint32(3, 0);
    expect(w.pos).toBe(0);
    w.double(1, -0);
    w.optionalUint32(4, 0);
    w.optionalUint32(4, undefined);
    expect(hex(w.bytes())).toBe("0900000000000000802000");
    expect(w.fits).toBe(true);
    for (const bad of [-1, 2 ** 32, 1.5, NaN, Infinity]) {
      w.reset();
      w.uint32(3, bad);
      expect(w.fits, String(bad)).toBe(false);
    }
    w.reset();
    expect(w.fits).toBe(true);
  });
});

const sample = nodeSample({ interfaces: 20, cores: 40 });

describe("writeNodeSample (of generated messages): toBinary's bytes", () => {
  test("for any NodeSample (zeros, -0, NaN, unicode, empty and absent parts, long lengths)", () => {
    const w = new Writer(64);
    fc.assert(
      fc.property(sample, (init) => {
        const s = create(NodeSampleSchema, init);
        w.reset();
        writePbNodeSample(w, s);
        expect(w.fits).toBe(true);
        expect(hex(w.bytes())).toBe(hex(toBinary(NodeSampleSchema, s)));
      }),
      { numRuns: 500 },
    );
  });

  test("a part with unknown fields (kept from a newer agent) clears fits", () => {
    const unknown = (desc: DescMessage, init: Record<string, unknown>): Uint8Array => Buffer.concat([toBinary(desc, create(desc, init)), Buffer.from([0xf8, 0x01, 0x2a])]);
    const parts = {
      sample: fromBinary(NodeSampleSchema, unknown(NodeSampleSchema, { wallMs: 5 })),
      iface: create(NodeSampleSchema, { interfaces: [fromBinary(InterfaceRateSchema, unknown(InterfaceRateSchema, { name: "eth0" }))] }),
      cpu: create(NodeSampleSchema, { cpu: fromBinary(CpuUsageSchema, unknown(CpuUsageSchema, { totalPercent: 1 })) }),
      memory: create(NodeSampleSchema, { memory: fromBinary(MemoryInfoSchema, unknown(MemoryInfoSchema, { totalBytes: 1 })) }),
      process: create(NodeSampleSchema, { processes: [fromBinary(ProcessUsageSchema, unknown(ProcessUsageSchema, { pid: 1 }))] }),
    };
    const w = new Writer();
    for (const [name, s] of Object.entries(parts)) {
      w.reset();
      writePbNodeSample(w, s);
      expect(w.fits, name).toBe(false);
    }
  });
});
