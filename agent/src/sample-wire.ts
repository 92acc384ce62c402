/**
 * Samples straight to protobuf bytes, for what carries many of them (a live
 * stream's batch, a stopped case window): the bytes
 * `toBinary(NodeSampleSchema, pbNodeSample(s))` gives (sample-wire.test.ts
 * checks them byte for byte), written from the samplers' plain objects into
 * one reused buffer — no message objects built per sample, and no buffer per
 * double, which is what protobuf-es's generic writer costs (a node with 50
 * veths has ~600 doubles a sample).
 *
 * The bytes ride in an AgentMessage as its oneof field, carried as an
 * unknown field (protobuf-es writes those out as they are), so they go
 * through the ordinary typed client and the coordinator decodes an ordinary
 * SamplingStopped or SampleBatch.
 */
import { create } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { AgentMessageSchema, type AgentMessage } from "../../gen/netmatrix/v1/agent_pb.js";
import type { NodeSample } from "./samplers/index.js";

/** The NodeSample fields (and those of its parts) written here, by number: sample-wire.test.ts fails when the schema grows one. */
export const WRITTEN_FIELDS = {
  "netmatrix.v1.NodeSample": [1, 2, 3, 4, 5, 6],
  "netmatrix.v1.InterfaceRate": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  "netmatrix.v1.CpuUsage": [1, 2, 3, 4, 5, 6, 7, 8, 9],
  "netmatrix.v1.MemoryInfo": [1, 2, 3],
  "netmatrix.v1.ProcessUsage": [1, 2, 3, 4, 5],
} as const;

const LEN = WireType.LengthDelimited;
const I64 = WireType.Bit64;
const VARINT = WireType.Varint;

/** A growable buffer with the few protobuf writes samples need; reused from message to message. */
class Writer {
  buf = Buffer.allocUnsafe(1 << 16);
  view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  pos = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  /** A non-negative integer below 2^53. */
  varint(v: number): void {
    this.ensure(10);
    while (v > 127) {
      this.buf[this.pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  tag(no: number, wt: WireType): void {
    this.varint(no * 8 + wt);
  }

  /** A double field, left out at its default (+0; -0 is written, as protobuf-es does). */
  double(no: number, v: number): void {
    if (Object.is(v, 0)) return;
    this.tag(no, I64);
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** A string field, left out when empty. */
  string(no: number, s: string): void {
    if (s === "") return;
    this.tag(no, LEN);
    const n = Buffer.byteLength(s, "utf8");
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, "utf8");
  }

  /** Open a length-delimited field; {@link close} with the returned mark writes its length. */
  open(no: number): number {
    this.tag(no, LEN);
    this.ensure(1);
    return this.pos++;
  }

  close(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 128) {
      this.buf[mark] = len;
      return;
    }
    // Lengths of 128 and more take more than the one byte reserved: move the body up.
    let k = 1;
    while (len >= 128 ** k) k++;
    this.ensure(k - 1);
    this.buf.copyWithin(mark + k, mark + 1, this.pos);
    const end = this.pos + k - 1;
    this.pos = mark;
    this.varint(len);
    this.pos = end;
  }
}

const w = new Writer();

function writeSample(s: NodeSample, agentPid: number): void {
  w.double(1, s.wallMs);
  w.double(2, s.intervalMs);
  for (const i of s.interfaces) {
    const m = w.open(3);
    w.string(1, i.name);
    w.double(2, i.rxBps);
    w.double(3, i.txBps);
    w.double(4, i.rxPps);
    w.double(5, i.txPps);
    w.double(6, i.rxDropsPerS);
    w.double(7, i.txDropsPerS);
    w.double(8, i.rxErrorsPerS);
    w.double(9, i.txErrorsPerS);
    w.double(10, i.rxBytesTotal);
    w.double(11, i.txBytesTotal);
    w.close(m);
  }
  const cpu = s.cpu;
  if (cpu) {
    const m = w.open(4);
    w.double(1, cpu.totalPercent);
    w.double(2, cpu.userPercent);
    w.double(3, cpu.systemPercent);
    w.double(4, cpu.softirqPercent);
    w.double(5, cpu.irqPercent);
    w.double(6, cpu.iowaitPercent);
    w.double(7, cpu.stealPercent);
    if (cpu.cores.length) {
      // Packed: one length, then 8 bytes a core.
      w.tag(8, LEN);
      w.varint(cpu.cores.length * 8);
      w.ensure(cpu.cores.length * 8);
      for (const c of cpu.cores) {
        w.view.setFloat64(w.pos, c.busyPercent, true);
        w.pos += 8;
      }
    }
    if (cpu.procsRunning !== undefined) {
      // proto3 `optional`: written whenever set, 0 too.
      w.tag(9, VARINT);
      w.varint(cpu.procsRunning);
    }
    w.close(m);
  }
  if (s.memory) {
    const m = w.open(5);
    w.double(1, s.memory.totalBytes);
    w.double(2, s.memory.availableBytes);
    w.double(3, s.memory.usedBytes);
    w.close(m);
  }
  for (const p of s.processes) {
    const m = w.open(6);
    if (p.pid !== 0) {
      w.tag(1, VARINT);
      w.varint(p.pid);
    }
    w.string(2, p.comm);
    w.double(3, p.cpuPercent);
    w.double(4, p.rssBytes);
    w.string(5, p.pid === agentPid ? "agent" : "tool");
    w.close(m);
  }
}

/** The body of a SamplingStopped or a SampleBatch: `id` as field 1, then `samples` as repeated NodeSample field 2. */
function writeSamples(id: string, samples: readonly NodeSample[], agentPid: number): void {
  w.string(1, id);
  for (const s of samples) {
    const m = w.open(2);
    writeSample(s, agentPid);
    w.close(m);
  }
}

/** One sample's bytes, as `toBinary(NodeSampleSchema, pbNodeSample(s, agentPid))`. */
export function encodeNodeSample(s: NodeSample, agentPid: number): Uint8Array {
  w.pos = 0;
  writeSample(s, agentPid);
  return Uint8Array.prototype.slice.call(w.buf, 0, w.pos);
}

/**
 * An AgentMessage carrying `SamplingStopped{command_id: id, samples}` or
 * `SampleBatch{stream_id: id, samples}`, encoded here (see the module
 * comment); `agentPid`'s process is the "agent", every other one a "tool".
 */
export function samplesMessage(field: "samplingStopped" | "sampleBatch", id: string, samples: readonly NodeSample[], agentPid: number): AgentMessage {
  const f = AgentMessageSchema.field[field];
  w.pos = 0;
  const m = w.open(f.number);
  writeSamples(id, samples, agentPid);
  w.close(m);
  // An unknown field's `data` is what follows its tag: the length, then the body.
  const msg = create(AgentMessageSchema);
  msg.$unknown = [{ no: f.number, wireType: LEN, data: Uint8Array.prototype.slice.call(w.buf, m, w.pos) }];
  return msg;
}
