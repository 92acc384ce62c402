/**
 * A fast protobuf encoder for the simulator's hot messages (sample batches,
 * heartbeats), driven by the generated descriptors: the same bytes as
 * protobuf-es's `toBinary` (fields in number order, proto3 defaults left
 * out, repeated numbers packed; sim-encode.test.ts checks it byte for byte),
 * at a fraction of the cost — protobuf-es allocates a buffer per double, and
 * a host agent's sample has ~70 of them, which made the simulator, not the
 * coordinator, the limit at 15,000 agents.
 *
 * The bytes reach the wire through the ordinary typed client seam: an
 * AgentMessage whose one field is carried as an unknown field
 * ({@link rawAgentMessage}), which protobuf-es writes out as it is.
 *
 * Supported: double, float, (u)int32, (u)int64, bool, string, bytes and enum
 * fields, singular or repeated, messages, oneofs; not maps (the simulator
 * sends none) — those throw.
 */
import { create, ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { AgentMessageSchema, type AgentMessage } from "../../gen/netmatrix/v1/agent_pb.js";

/** proto3's implicit presence (FeatureSet.FieldPresence.IMPLICIT): a default value is not written. */
const IMPLICIT = 2;

/** A growable buffer with protobuf's primitive writes. */
class Writer {
  buf = Buffer.allocUnsafe(1 << 14);
  pos = 0;
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  /** A non-negative integer below 2^53 as a varint. */
  uvarint(v: number): void {
    this.ensure(10);
    while (v > 127) {
      this.buf[this.pos++] = (v & 127) | 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
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

  tag(no: number, wt: WireType): void {
    this.uvarint(no * 8 + wt);
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  float(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }

  string(s: string): void {
    const n = Buffer.byteLength(s);
    this.uvarint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, "utf8");
  }

  bytes(b: Uint8Array): void {
    this.uvarint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Write what `body` writes, prefixed with its length. */
  delimited(body: () => void): void {
    this.ensure(1);
    const start = this.pos++;
    body();
    const len = this.pos - start - 1;
    if (len < 128) {
      this.buf[start] = len;
      return;
    }
    let k = 1;
    while (len >= 128 ** k) k++;
    this.ensure(k - 1);
    this.buf.copyWithin(start + k, start + 1, this.pos);
    this.pos += k - 1;
    const end = this.pos;
    this.pos = start;
    this.uvarint(len);
    this.pos = end;
  }
}

function wireType(s: ScalarType): WireType {
  switch (s) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    default:
      return WireType.Varint;
  }
}

function writeScalar(w: Writer, s: ScalarType, v: unknown): void {
  switch (s) {
    case ScalarType.DOUBLE:
      return w.double(v as number);
    case ScalarType.FLOAT:
      return w.float(v as number);
    case ScalarType.STRING:
      return w.string(v as string);
    case ScalarType.BYTES:
      return w.bytes(v as Uint8Array);
    case ScalarType.BOOL:
      return w.uvarint(v ? 1 : 0);
    case ScalarType.INT32:
    case ScalarType.UINT32:
    case ScalarType.INT64:
    case ScalarType.UINT64:
      return w.varint64(v as number | bigint);
    default:
      throw new Error(`sim-encode: scalar type ${ScalarType[s]} is not supported`);
  }
}

/** protobuf-es's own rule (isScalarZeroValue): -0 is not a double's default, so it is written. */
function isDefault(s: ScalarType, v: unknown): boolean {
  switch (s) {
    case ScalarType.BOOL:
      return v === false;
    case ScalarType.STRING:
      return v === "";
    case ScalarType.BYTES:
      return v instanceof Uint8Array && v.length === 0;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return Object.is(v, 0);
    default:
      return v === 0 || v === 0n;
  }
}

/** The fields of `desc` in number order (as protobuf-es writes them). */
const sorted = new WeakMap<DescMessage, DescField[]>();
function fieldsOf(desc: DescMessage): DescField[] {
  let f = sorted.get(desc);
  if (!f) sorted.set(desc, (f = [...desc.fields].sort((a, b) => a.number - b.number)));
  return f;
}

function writeMessage(w: Writer, desc: DescMessage, obj: Record<string, unknown>): void {
  for (const f of fieldsOf(desc)) {
    let v: unknown;
    if (f.oneof) {
      const o = obj[f.oneof.localName] as { case?: string; value?: unknown } | undefined;
      if (o?.case !== f.localName) continue;
      v = o.value;
    } else v = obj[f.localName];
    if (v === undefined || v === null) continue;
    switch (f.fieldKind) {
      case "scalar":
      case "enum": {
        const s = f.fieldKind === "enum" ? ScalarType.INT32 : f.scalar;
        if (!f.oneof && f.presence === IMPLICIT && isDefault(s, v)) continue;
        w.tag(f.number, wireType(s));
        writeScalar(w, s, v);
        break;
      }
      case "message":
        w.tag(f.number, WireType.LengthDelimited);
        w.delimited(() => writeMessage(w, f.message, v as Record<string, unknown>));
        break;
      case "list": {
        const list = v as unknown[];
        if (list.length === 0) continue;
        if (f.listKind === "message") {
          for (const item of list) {
            w.tag(f.number, WireType.LengthDelimited);
            w.delimited(() => writeMessage(w, f.message, item as Record<string, unknown>));
          }
          break;
        }
        const s = f.listKind === "enum" ? ScalarType.INT32 : f.scalar;
        if (f.packed) {
          w.tag(f.number, WireType.LengthDelimited);
          w.delimited(() => {
            for (const item of list) writeScalar(w, s, item);
          });
        } else {
          for (const item of list) {
            w.tag(f.number, wireType(s));
            writeScalar(w, s, item);
          }
        }
        break;
      }
      default:
        throw new Error(`sim-encode: ${desc.typeName}.${f.name}: maps are not supported`);
    }
  }
}

const shared = new Writer();

/** `obj` (a message's init shape, without maps) encoded as `desc`: the bytes `toBinary(desc, create(desc, obj))` gives. */
export function encode(desc: DescMessage, obj: object): Uint8Array {
  shared.pos = 0;
  writeMessage(shared, desc, obj as Record<string, unknown>);
  return Uint8Array.prototype.slice.call(shared.buf, 0, shared.pos);
}

/**
 * An AgentMessage carrying `value` in its oneof field `field` (e.g.
 * "sampleBatch"), encoded here: an empty AgentMessage whose one field rides
 * as an unknown field, written to the wire as it is by the client seam.
 */
export function rawAgentMessage(field: "sampleBatch" | "heartbeat", value: object): AgentMessage {
  const f = AgentMessageSchema.field[field];
  if (f.fieldKind !== "message") throw new Error(`AgentMessage.${field} is not a message field`);
  shared.pos = 0;
  shared.delimited(() => writeMessage(shared, f.message, value as Record<string, unknown>));
  const m = create(AgentMessageSchema);
  m.$unknown = [{ no: f.number, wireType: WireType.LengthDelimited, data: Uint8Array.prototype.slice.call(shared.buf, 0, shared.pos) }];
  return m;
}
