/**
 * What a case cost, from the samples both ends took while it ran: per-end
 * CPU, memory and per-interface summaries, the interface that carried the
 * traffic, wire bytes per payload byte (encapsulation overhead) and CPU per
 * Gbit/s. Pure functions over samples.
 */
import { create } from "@bufbuild/protobuf";
import {
  InterfaceSummarySchema,
  StatSchema,
  UsageSummarySchema,
  type InterfaceSummary,
  type Measurement,
  type NodeSample,
  type Stat,
  type UsageSummary,
} from "../../gen/netmatrix/v1/types_pb.js";
import type { DirectionName } from "../../common/src/model.js";

/** Mean and peak of `values` (0/0 when empty). */
export function stat(values: number[]): Stat {
  if (!values.length) return create(StatSchema, { mean: 0, peak: 0 });
  let sum = 0;
  let peak = -Infinity;
  for (const v of values) {
    sum += v;
    if (v > peak) peak = v;
  }
  return create(StatSchema, { mean: sum / values.length, peak });
}

const MODES = ["user", "system", "softirq", "irq", "iowait", "steal"] as const;

/** Per-interface summary over the samples: rates (mean, peak) and counts over the window. */
function interfaces(samples: NodeSample[]): InterfaceSummary[] {
  const by = new Map<string, { rx: number[]; tx: number[]; rxp: number[]; txp: number[]; rxB: number; txB: number; rxD: number; txD: number; rxE: number; txE: number }>();
  for (const s of samples) {
    const secs = s.intervalMs / 1000;
    for (const i of s.interfaces) {
      let a = by.get(i.name);
      if (!a) by.set(i.name, (a = { rx: [], tx: [], rxp: [], txp: [], rxB: 0, txB: 0, rxD: 0, txD: 0, rxE: 0, txE: 0 }));
      a.rx.push(i.rxBps);
      a.tx.push(i.txBps);
      a.rxp.push(i.rxPps);
      a.txp.push(i.txPps);
      a.rxB += (i.rxBps / 8) * secs;
      a.txB += (i.txBps / 8) * secs;
      a.rxD += i.rxDropsPerS * secs;
      a.txD += i.txDropsPerS * secs;
      a.rxE += i.rxErrorsPerS * secs;
      a.txE += i.txErrorsPerS * secs;
    }
  }
  return [...by.entries()].map(([name, a]) =>
    create(InterfaceSummarySchema, {
      name,
      rxBps: stat(a.rx),
      txBps: stat(a.tx),
      rxPps: stat(a.rxp),
      txPps: stat(a.txp),
      rxBytes: Math.round(a.rxB),
      txBytes: Math.round(a.txB),
      rxDrops: Math.round(a.rxD),
      txDrops: Math.round(a.txD),
      rxErrors: Math.round(a.rxE),
      txErrors: Math.round(a.txE),
    }),
  );
}

/** One end's usage over a case window. The carrying interface is the one with the most bytes (rx + tx). */
export function summarizeUsage(samples: NodeSample[], agentId: string, node: string): UsageSummary {
  const ifs = interfaces(samples).sort((a, b) => b.rxBytes + b.txBytes - (a.rxBytes + a.txBytes));
  const cpu = samples.flatMap((s) => (s.cpu ? [s.cpu] : []));
  const modes: Record<string, Stat> = {};
  for (const m of MODES) modes[m] = stat(cpu.map((c) => c[`${m}Percent`]));
  const procs = (role: string) => samples.map((s) => s.processes.filter((p) => p.role === role).reduce((n, p) => n + p.cpuPercent, 0));
  return create(UsageSummarySchema, {
    agentId,
    node,
    samples: samples.length,
    windowMs: samples.reduce((n, s) => n + s.intervalMs, 0),
    cpuTotalPercent: stat(cpu.map((c) => c.totalPercent)),
    cpuModePercent: modes,
    memoryUsedBytes: stat(samples.flatMap((s) => (s.memory ? [s.memory.usedBytes] : []))),
    interfaces: ifs,
    toolCpuPercent: stat(procs("tool")),
    agentCpuPercent: stat(procs("agent")),
    carryingInterface: ifs[0] && ifs[0].rxBytes + ifs[0].txBytes > 0 ? ifs[0].name : "",
  });
}

/**
 * Payload bytes the tool moved in the measured direction(s), from its own
 * figures, plus what it moved in the omitted seconds (iperf3 -O): the NIC
 * counted those too.
 */
export function payloadBytes(m: Measurement): number | undefined {
  const forward = m.bytesSent ?? m.bytesReceived ?? (m.throughputBps !== undefined ? (m.throughputBps * m.durationS) / 8 : undefined);
  if (forward === undefined) return undefined;
  const reverse = m.extra.reverse_bytes_received ?? 0;
  return forward + reverse + (m.extra.omitted_bytes ?? 0);
}

/**
 * Wire bytes on the client's carrying interface in the payload's direction
 * divided by the tool's payload bytes: 1514/1448 ≈ 1.046 for plain TCP over
 * Ethernet, more with encapsulation (VXLAN adds 50 bytes per packet). The
 * payload direction is the busier of rx and tx (both for bidir): a pod agent
 * that samples its node's NICs sees its own traffic on the node's side of its
 * veth, where the pod's tx is rx.
 */
export function wireToPayload(m: Measurement, client: UsageSummary, direction: DirectionName): number | undefined {
  const payload = payloadBytes(m);
  const nic = client.interfaces.find((i) => i.name === client.carryingInterface);
  if (!payload || !nic) return undefined;
  const wire = direction === "bidir" ? nic.txBytes + nic.rxBytes : Math.max(nic.txBytes, nic.rxBytes);
  return wire > 0 ? wire / payload : undefined;
}

/** Mean CPU (% of the node) per Gbit/s of throughput; undefined without throughput. */
export function cpuPerGbps(usage: UsageSummary, m: Measurement): number | undefined {
  const gbps = (m.throughputBps ?? 0) / 1e9;
  const cpu = usage.cpuTotalPercent?.mean;
  return gbps > 0 && cpu !== undefined && usage.samples > 0 ? cpu / gbps : undefined;
}
