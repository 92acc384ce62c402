/**
 * A fast protobuf encoder for the simulator's hot messages (sample batches,
 * heartbeats), driven by the generated descriptors: the same bytes as
 * protobuf-es's `toBinary` (fields in number order, proto3 defaults left
 * out, repeated numbers packed; sim-encode.test.ts checks it byte for byte),
 * at a fraction of the cost (common/src/proto-wire.ts's Writer) — protobuf-es allocates a buffer per double, and
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
import { Writer } from "../../common/src/proto-wire.js";

/** proto3's implicit presence (FeatureSet.FieldPresence.IMPLICIT): a default value is not written. */
const IMPLICIT = 2;

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
      return w.rawDouble(v as number);
    case ScalarType.FLOAT:
      return w.rawFloat(v as number);
    case ScalarType.STRING:
      return w.rawString(v as string);
    case ScalarType.BYTES:
      return w.rawBytes(v as Uint8Array);
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
        writeNested(w, f.number, f.message, v);
        break;
      case "list": {
        const list = v as unknown[];
        if (list.length === 0) continue;
        if (f.listKind === "message") {
          for (const item of list) writeNested(w, f.number, f.message, item);
          break;
        }
        const s = f.listKind === "enum" ? ScalarType.INT32 : f.scalar;
        if (f.packed) {
          const m = w.open(f.number);
          for (const item of list) writeScalar(w, s, item);
          w.close(m);
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

/** A message field `no` holding `v`. */
function writeNested(w: Writer, no: number, desc: DescMessage, v: unknown): void {
  const m = w.open(no);
  writeMessage(w, desc, v as Record<string, unknown>);
  w.close(m);
}

const shared = new Writer(1 << 14);

/** `obj` (a message's init shape, without maps) encoded as `desc`: the bytes `toBinary(desc, create(desc, obj))` gives. */
export function encode(desc: DescMessage, obj: object): Uint8Array {
  shared.reset();
  writeMessage(shared, desc, obj as Record<string, unknown>);
  return shared.bytes();
}

/**
 * An AgentMessage carrying `value` in its oneof field `field` (e.g.
 * "sampleBatch"), encoded here: an empty AgentMessage whose one field rides
 * as an unknown field, written to the wire as it is by the client seam.
 */
export function rawAgentMessage(field: "sampleBatch" | "heartbeat", value: object): AgentMessage {
  const f = AgentMessageSchema.field[field];
  if (f.fieldKind !== "message") throw new Error(`AgentMessage.${field} is not a message field`);
  shared.reset();
  const mark = shared.fork();
  writeMessage(shared, f.message, value as Record<string, unknown>);
  shared.close(mark);
  const m = create(AgentMessageSchema);
  m.$unknown = [{ no: f.number, wireType: WireType.LengthDelimited, data: shared.bytes() }];
  return m;
}
