/**
 * What a case cost, from the samples both ends took while it ran: per-end
 * CPU, memory and per-interface summaries, the interface that carried the
 * traffic, wire bytes per payload byte (encapsulation overhead) and CPU per
 * Gbit/s. Bytes come from the interfaces' cumulative counters
 * (common/src/nic-bytes.ts), rates from the samples. Pure functions over samples.
 */
import { create } from "@bufbuild/protobuf";
import { EndCpuSchema, type EndCpu } from "../../gen/netmatrix/v1/control_pb.js";
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
import { max, mean } from "../../common/src/stats.js";
import { windowBytes, windowTraffic } from "../../common/src/nic-bytes.js";

/** Mean and peak of `values` (0/0 when empty). */
export function stat(values: number[]): Stat {
  return create(StatSchema, { mean: mean(values) ?? 0, peak: max(values) ?? 0 });
}

const MODES = ["user", "system", "softirq", "irq", "iowait", "steal"] as const;

/**
 * Per-interface summary over the samples: rates (mean, peak), bytes from the
 * counters, drops and errors over the window (the agent ships those only as
 * per-second rates). Each with how much traffic it carried, to rank them
 * (`windowTraffic`: its bytes, or its summed rates when the counters give no figure).
 */
function interfaces(samples: NodeSample[]): { summary: InterfaceSummary; traffic: number }[] {
  const by = new Map<string, { rx: number[]; tx: number[]; rxp: number[]; txp: number[]; rxD: number; txD: number; rxE: number; txE: number }>();
  for (const s of samples) {
    const secs = s.intervalMs / 1000;
    for (const i of s.interfaces) {
      let a = by.get(i.name);
      if (!a) by.set(i.name, (a = { rx: [], tx: [], rxp: [], txp: [], rxD: 0, txD: 0, rxE: 0, txE: 0 }));
      a.rx.push(i.rxBps);
      a.tx.push(i.txBps);
      a.rxp.push(i.rxPps);
      a.txp.push(i.txPps);
      a.rxD += i.rxDropsPerS * secs;
      a.txD += i.txDropsPerS * secs;
      a.rxE += i.rxErrorsPerS * secs;
      a.txE += i.txErrorsPerS * secs;
    }
  }
  const bytes = windowBytes(samples);
  const traffic = windowTraffic(samples, bytes);
  return [...by.entries()].map(([name, a]) => {
    const b = bytes.get(name) ?? { problem: "no samples" };
    const known = "problem" in b ? undefined : b;
    return {
      traffic: traffic.get(name) ?? 0,
      summary: create(InterfaceSummarySchema, {
        name,
        rxBps: stat(a.rx),
        txBps: stat(a.tx),
        rxPps: stat(a.rxp),
        txPps: stat(a.txp),
        rxBytes: known?.rxBytes ?? 0,
        txBytes: known?.txBytes ?? 0,
        rxDrops: Math.round(a.rxD),
        txDrops: Math.round(a.txD),
        rxErrors: Math.round(a.rxE),
        txErrors: Math.round(a.txE),
        bytesNote: "problem" in b ? `no byte counts: ${b.problem}` : "",
      }),
    };
  });
}

/**
 * One end's usage over a case window. The carrying interface is the one
 * that carried the most traffic (rx + tx bytes; see `interfaces`).
 */
export function summarizeUsage(samples: NodeSample[], agentId: string, node: string): UsageSummary {
  const ranked = interfaces(samples).sort((a, b) => b.traffic - a.traffic);
  const ifs = ranked.map((r) => r.summary);
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
    carryingInterface: ranked[0] && ranked[0].traffic > 0 ? ranked[0].summary.name : "",
    ...(cpu.some((c) => c.procsRunning !== undefined) ? { procsRunning: stat(cpu.flatMap((c) => (c.procsRunning !== undefined ? [c.procsRunning] : []))) } : {}),
  });
}

/** Mean of `values` weighted by `weights` (the samples' interval lengths); 0 when there is no weight. */
function weightedMean(values: readonly number[], weights: readonly number[]): number {
  let sum = 0;
  let w = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i]! * weights[i]!;
    w += weights[i]!;
  }
  return w > 0 ? sum / w : 0;
}

/**
 * One end's CPU over a repetition's measured interval: the samples in which
 * its tool ran (a watched "tool" process alive over the whole interval), or
 * all its samples when none shows the tool. Means are weighted by each
 * sample's interval. `reasons` is left empty (the rules are common/src/busy.ts).
 */
export function endCpu(samples: readonly NodeSample[], end: "client" | "server", agentId: string, node: string, cpuCount: number): EndCpu | undefined {
  const withCpu = samples.filter((s) => s.cpu !== undefined);
  const running = withCpu.filter((s) => s.processes.some((p) => p.role === "tool"));
  const window = running.length ? running : withCpu;
  if (!window.length) return undefined;
  const weights = window.map((s) => s.intervalMs);
  const queue = window.filter((s) => s.cpu!.procsRunning !== undefined);
  return create(EndCpuSchema, {
    end,
    agentId,
    node,
    cpuCount,
    samples: window.length,
    windowMs: weights.reduce((a, b) => a + b, 0),
    nodeBusyPercent: weightedMean(
      window.map((s) => s.cpu!.totalPercent),
      weights,
    ),
    toolCpuPercent: weightedMean(
      window.map((s) => s.processes.filter((p) => p.role === "tool").reduce((n, p) => n + p.cpuPercent, 0)),
      weights,
    ),
    stealPercent: weightedMean(
      window.map((s) => s.cpu!.stealPercent),
      weights,
    ),
    ...(queue.length
      ? {
          procsRunning: weightedMean(
            queue.map((s) => s.cpu!.procsRunning!),
            queue.map((s) => s.intervalMs),
          ),
          procsRunningPeak: max(queue.map((s) => s.cpu!.procsRunning!)),
        }
      : {}),
  });
}

/** Wire bytes per payload byte, or why there is none although the tool reported its payload. */
export type WireToPayload = { ratio: number } | { note: string };

/**
 * Wire bytes on the client's carrying interface in the payload's direction
 * divided by the tool's payload bytes (its driver's `payloadBytes`): 1514/1448 ≈ 1.046 for plain TCP over
 * Ethernet, more with encapsulation (VXLAN adds 50 bytes per packet). The
 * payload direction is the busier of rx and tx (both for bidir): a pod agent
 * that samples its node's NICs sees its own traffic on the node's side of its
 * veth, where the pod's tx is rx.
 *
 * Every payload byte crossed the wire with its headers, so a ratio below 1
 * is a measurement error, never a result: it, like a carrying interface
 * whose counters gave no figure, comes back as a note saying why. Undefined
 * when the tool reports no payload bytes (nothing to divide by).
 */
export function wireToPayload(payload: number | undefined, client: UsageSummary, direction: DirectionName): WireToPayload | undefined {
  if (payload === undefined || !Number.isFinite(payload) || payload <= 0) return undefined;
  const nic = client.interfaces.find((i) => i.name === client.carryingInterface);
  if (!nic) return { note: `no sampled interface of the client (${client.node || client.agentId}) carried traffic in the window` };
  if (nic.bytesNote) return { note: `the carrying interface ${nic.name} has ${nic.bytesNote}` };
  const wire = direction === "bidir" ? nic.txBytes + nic.rxBytes : Math.max(nic.txBytes, nic.rxBytes);
  if (wire < payload) {
    return {
      note: `${nic.name} counted ${wire} B on the wire for ${payload} B of payload (ratio ${(wire / payload).toFixed(4)} < 1, which cannot be): the counters and the tool disagree about the window`,
    };
  }
  return { ratio: wire / payload };
}

/** Mean CPU (% of the node) per Gbit/s of throughput; undefined without throughput. */
export function cpuPerGbps(usage: UsageSummary, m: Measurement): number | undefined {
  const gbps = (m.throughputBps ?? 0) / 1e9;
  const cpu = usage.cpuTotalPercent?.mean;
  return gbps > 0 && cpu !== undefined && usage.samples > 0 ? cpu / gbps : undefined;
}
