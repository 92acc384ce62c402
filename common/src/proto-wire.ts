/**
 * Protobuf wire bytes written by hand, for the few messages that carry many
 * samples (an agent's sample batch, a watcher's tick, the simulator's
 * traffic): protobuf-es's generic writer allocates per double, and a node
 * sample has dozens of them. Two things live here, once:
 *
 * - {@link Writer}: a growable buffer, reused from message to message, with
 *   protobuf's primitive writes (varint, tag, fixed64/fixed32, length-
 *   delimited). A nested message's length is back-patched: one byte is
 *   reserved and the body moved up in the rare case it needs more (measured
 *   faster than sizing every message in a first pass, and it needs no size
 *   code to keep in step with the writes).
 * - {@link writeNodeSample}: a NodeSample and its parts (InterfaceRate,
 *   CpuUsage, MemoryInfo, ProcessUsage), the one list of their fields
 *   ({@link NODE_SAMPLE_FIELDS}, which proto-wire.test.ts holds to the
 *   schemas) and the one set of their writes. It reads the agent's samplers'
 *   plain samples and generated NodeSample messages alike: the two differ
 *   only in how they hold the per-core percentages and a process's name and
 *   role, which a {@link SampleReader} gives.
 *
 * The bytes are protobuf-es's own (`toBinary`): fields in number order,
 * proto3 defaults left out (+0 but not -0, as protobuf-es does), repeated
 * doubles packed, lengths in as few bytes as they fit.
 */
import type { CpuUsage, InterfaceRate, MemoryInfo, NodeSample, ProcessUsage } from "../../gen/netmatrix/v1/types_pb.js";

/** Protobuf's wire types (as `WireType` of @bufbuild/protobuf/wire). */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const I32 = 5;

/** A growable buffer with protobuf's primitive writes; reuse one (see {@link reset}). */
export class Writer {
  buf: Buffer;
  pos = 0;
  /**
   * False once a message held what these writes do not reproduce the way
   * protobuf-es would (unknown fields, a uint32 out of range): the bytes are
   * then not to be used, the caller falls back to `toBinary`.
   */
  fits = true;
  private view: DataView;

  constructor(size = 1 << 16) {
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Start a new message at the start of the buffer. */
  reset(): void {
    this.pos = 0;
    this.fits = true;
  }

  /** A copy of the bytes written from `from` on. */
  bytes(from = 0): Uint8Array {
    return Uint8Array.prototype.slice.call(this.buf, from, this.pos);
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  // --- Primitive writes: no tag, no default left out. ---

  /** A non-negative integer below 2^53 as a varint. */
  uvarint(v: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (v > 127) {
      buf[pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** Any integer (number or bigint) as a 64-bit two's-complement varint. */
  varint64(v: number | bigint): void {
    if (typeof v === "number" && v >= 0 && v < 2 ** 53) return this.uvarint(v);
    let b = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (b > 127n) {
      this.buf[this.pos++] = Number(b & 127n) | 128;
      b >>= 7n;
    }
    this.buf[this.pos++] = Number(b);
  }

  tag(no: number, wireType: number): void {
    this.uvarint(no * 8 + wireType);
  }

  /** A double, 8 bytes little-endian. */
  rawDouble(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** A float, 4 bytes little-endian. */
  rawFloat(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  /** A string's UTF-8 length, then its bytes. */
  rawString(s: string): void {
    const n = Buffer.byteLength(s, "utf8");
    this.uvarint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, "utf8");
  }

  /** Bytes' length, then the bytes. */
  rawBytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Reserve a length for what follows; {@link close} with the returned mark writes it. */
  fork(): number {
    this.ensure(1);
    return this.pos++;
  }

  /** A length-delimited field `no` (a nested message): its tag, then {@link fork}. */
  open(no: number): number {
    this.tag(no, LEN);
    return this.fork();
  }

  /** Write the length of what followed `mark` ({@link fork}, {@link open}). */
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
    this.uvarint(len);
    this.pos = end;
  }

  // --- Fields with proto3's implicit presence: left out at their default. ---

  /** A double field, left out at +0 (-0 is written, as protobuf-es does). */
  double(no: number, v: number): void {
    if (v === 0 && 1 / v > 0) return;
    this.tag(no, I64);
    this.rawDouble(v);
  }

  /** A string field, left out when empty. */
  string(no: number, s: string): void {
    if (s === "") return;
    this.tag(no, LEN);
    this.rawString(s);
  }

  /** A uint32 (or non-negative enum) field, left out at 0; anything else a uint32 cannot be clears {@link fits}. */
  uint32(no: number, v: number): void {
    if (v !== 0) this.optionalUint32(no, v);
  }

  /** A proto3 `optional` uint32 field: written whenever set, 0 too. */
  optionalUint32(no: number, v: number | undefined): void {
    if (v === undefined) return;
    if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
      this.fits = false;
      return;
    }
    this.tag(no, VARINT);
    this.uvarint(v);
  }

  /** A message's unknown fields are not written here: one that has some clears {@link fits}. */
  known(m: Unknowns): void {
    if (m.$unknown?.length) this.fits = false;
  }
}

/** A generated message's unknown fields, absent from plain objects. */
interface Unknowns {
  $unknown?: readonly unknown[] | undefined;
}

/** A message's fields without protobuf-es's bookkeeping. */
type Fields<T> = Omit<T, "$typeName" | "$unknown"> & Unknowns;

export type InterfaceRateFields = Fields<InterfaceRate>;
export type MemoryInfoFields = Fields<MemoryInfo>;
/** CpuUsage but the per-core percentages, which the {@link SampleReader} gives. */
export type CpuUsageFields = Omit<Fields<CpuUsage>, "perCorePercent">;

/** A NodeSample as {@link writeNodeSample} reads it: `C` and `P` its CPU and process objects. */
export interface SampleFields<C extends CpuUsageFields, P> extends Unknowns {
  wallMs: number;
  intervalMs: number;
  interfaces: readonly InterfaceRateFields[];
  cpu?: C | undefined;
  memory?: MemoryInfoFields | undefined;
  processes: readonly P[];
}

/** What differs between sample shapes: the per-core percentages (CpuUsage field 8) and a process (ProcessUsage). */
export interface SampleReader<C extends CpuUsageFields, P> {
  coreCount(cpu: C): number;
  corePercent(cpu: C, i: number): number;
  process(w: Writer, p: P): void;
}

/** The fields of NodeSample and its parts, by number, all written by {@link writeNodeSample}: proto-wire.test.ts fails when a schema grows one. */
export const NODE_SAMPLE_FIELDS = {
  "netmatrix.v1.NodeSample": [1, 2, 3, 4, 5, 6],
  "netmatrix.v1.InterfaceRate": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  "netmatrix.v1.CpuUsage": [1, 2, 3, 4, 5, 6, 7, 8, 9],
  "netmatrix.v1.MemoryInfo": [1, 2, 3],
  "netmatrix.v1.ProcessUsage": [1, 2, 3, 4, 5],
} as const;

/** A ProcessUsage's fields (the body of NodeSample field 6); {@link SampleReader.process} calls this with its own name and role. */
export function writeProcess(w: Writer, pid: number, name: string, cpuPercent: number, rssBytes: number, role: string): void {
  w.uint32(1, pid);
  w.string(2, name);
  w.double(3, cpuPercent);
  w.double(4, rssBytes);
  w.string(5, role);
}

/** The fields of the NodeSample `s` (its body, without tag or length). */
export function writeNodeSample<C extends CpuUsageFields, P>(w: Writer, s: SampleFields<C, P>, read: SampleReader<C, P>): void {
  w.known(s);
  w.double(1, s.wallMs);
  w.double(2, s.intervalMs);
  for (const i of s.interfaces) {
    w.known(i);
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
    w.known(cpu);
    const m = w.open(4);
    w.double(1, cpu.totalPercent);
    w.double(2, cpu.userPercent);
    w.double(3, cpu.systemPercent);
    w.double(4, cpu.softirqPercent);
    w.double(5, cpu.irqPercent);
    w.double(6, cpu.iowaitPercent);
    w.double(7, cpu.stealPercent);
    const cores = read.coreCount(cpu);
    if (cores) {
      // Packed: one length, then 8 bytes a core.
      w.tag(8, LEN);
      w.uvarint(cores * 8);
      for (let k = 0; k < cores; k++) w.rawDouble(read.corePercent(cpu, k));
    }
    w.optionalUint32(9, cpu.procsRunning);
    w.close(m);
  }
  const memory = s.memory;
  if (memory) {
    w.known(memory);
    const m = w.open(5);
    w.double(1, memory.totalBytes);
    w.double(2, memory.availableBytes);
    w.double(3, memory.usedBytes);
    w.close(m);
  }
  for (const p of s.processes) {
    const m = w.open(6);
    read.process(w, p);
    w.close(m);
  }
}

/** The {@link SampleReader} of generated NodeSample messages. */
export const PB_SAMPLE: SampleReader<CpuUsage, ProcessUsage> = {
  coreCount: (cpu) => cpu.perCorePercent.length,
  corePercent: (cpu, i) => cpu.perCorePercent[i]!,
  process: (w, p) => {
    w.known(p);
    writeProcess(w, p.pid, p.name, p.cpuPercent, p.rssBytes, p.role);
  },
};

/** The fields of a generated NodeSample message. */
export function writePbNodeSample(w: Writer, s: NodeSample): void {
  writeNodeSample(w, s, PB_SAMPLE);
}
