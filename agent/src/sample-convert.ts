/**
 * The samplers' plain samples as wire messages: the reference mapping. The
 * agent sends samples through ./sample-wire.ts, which writes the same bytes
 * without building these (sample-wire.test.ts holds it to them).
 */
import { create } from "@bufbuild/protobuf";
import { NodeSampleSchema, type NodeSample as PbNodeSample } from "../../gen/netmatrix/v1/types_pb.js";
import type { NodeSample } from "./samplers/index.js";

/** `s` as a protobuf NodeSample; `agentPid`'s process is the "agent", every other watched pid a "tool". */
export function pbNodeSample(s: NodeSample, agentPid: number): PbNodeSample {
  return create(NodeSampleSchema, {
    wallMs: s.wallMs,
    intervalMs: s.intervalMs,
    interfaces: s.interfaces,
    ...(s.cpu
      ? {
          cpu: {
            totalPercent: s.cpu.totalPercent,
            userPercent: s.cpu.userPercent,
            systemPercent: s.cpu.systemPercent,
            softirqPercent: s.cpu.softirqPercent,
            irqPercent: s.cpu.irqPercent,
            iowaitPercent: s.cpu.iowaitPercent,
            stealPercent: s.cpu.stealPercent,
            perCorePercent: s.cpu.cores.map((c) => c.busyPercent),
            ...(s.cpu.procsRunning !== undefined ? { procsRunning: s.cpu.procsRunning } : {}),
          },
        }
      : {}),
    ...(s.memory ? { memory: { totalBytes: s.memory.totalBytes, availableBytes: s.memory.availableBytes, usedBytes: s.memory.usedBytes } } : {}),
    processes: s.processes.map((p) => ({ pid: p.pid, name: p.comm, cpuPercent: p.cpuPercent, rssBytes: p.rssBytes, role: p.pid === agentPid ? "agent" : "tool" })),
  });
}
