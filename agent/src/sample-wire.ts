/**
 * Samples straight to protobuf bytes, for what carries many of them (a live
 * stream's batch, a stopped case window): the bytes
 * `toBinary(NodeSampleSchema, pbNodeSample(s))` gives (sample-wire.test.ts
 * checks them byte for byte), written from the samplers' plain objects into
 * one reused buffer by common/src/proto-wire.ts — no message objects built
 * per sample, and no buffer per double, which is what protobuf-es's generic
 * writer costs (a node with 50 veths has ~600 doubles a sample). This file
 * writes only the envelope: SampleBatch or SamplingStopped in an AgentMessage.
 *
 * The bytes ride in an AgentMessage as its oneof field, carried as an
 * unknown field (protobuf-es writes those out as they are), so they go
 * through the ordinary typed client and the coordinator decodes an ordinary
 * SamplingStopped or SampleBatch.
 */
import { create } from "@bufbuild/protobuf";
import { AgentMessageSchema, type AgentMessage } from "../../gen/netmatrix/v1/agent_pb.js";
import { LEN, Writer, writeNodeSample, writeProcess, type SampleReader } from "../../common/src/proto-wire.js";
import type { CpuUsage, NodeSample, ProcessUsage } from "./samplers/index.js";

/** The envelopes' fields written here, by number (the NodeSample's are proto-wire.ts's): sample-wire.test.ts fails when a schema grows one. */
export const ENVELOPE_FIELDS = {
  "netmatrix.v1.SampleBatch": [1, 2],
  "netmatrix.v1.SamplingStopped": [1, 2],
} as const;

const w = new Writer();

/** The samplers' sample as a NodeSample: per-core percentages from `cores`, a process's `comm` as its name, `agentPid`'s process the "agent", every other one a "tool". */
class PlainSample implements SampleReader<CpuUsage, ProcessUsage> {
  agentPid = 0;
  coreCount(cpu: CpuUsage): number {
    return cpu.cores.length;
  }
  corePercent(cpu: CpuUsage, i: number): number {
    return cpu.cores[i]!.busyPercent;
  }
  process(w: Writer, p: ProcessUsage): void {
    writeProcess(w, p.pid, p.comm, p.cpuPercent, p.rssBytes, p.pid === this.agentPid ? "agent" : "tool");
  }
}

const plain = new PlainSample();

/** One sample's bytes, as `toBinary(NodeSampleSchema, pbNodeSample(s, agentPid))`. */
export function encodeNodeSample(s: NodeSample, agentPid: number): Uint8Array {
  w.reset();
  plain.agentPid = agentPid;
  writeNodeSample(w, s, plain);
  return w.bytes();
}

/**
 * An AgentMessage carrying `SamplingStopped{command_id: id, samples}` or
 * `SampleBatch{stream_id: id, samples}`, encoded here (see the module
 * comment); `agentPid`'s process is the "agent", every other one a "tool".
 */
export function samplesMessage(field: "samplingStopped" | "sampleBatch", id: string, samples: readonly NodeSample[], agentPid: number): AgentMessage {
  const f = AgentMessageSchema.field[field];
  w.reset();
  plain.agentPid = agentPid;
  const m = w.open(f.number);
  w.string(1, id);
  for (const s of samples) {
    const n = w.open(2);
    writeNodeSample(w, s, plain);
    w.close(n);
  }
  w.close(m);
  // An unknown field's `data` is what follows its tag: the length, then the body.
  const msg = create(AgentMessageSchema);
  msg.$unknown = [{ no: f.number, wireType: LEN, data: w.bytes(m) }];
  return msg;
}
