/**
 * The matrix `netmatrix lab run` measures: every scenario the lab supports,
 * TCP and UDP, iperf3 + ping (qperf on request). Honest by default: 3 repetitions (so
 * every row has a spread and a confidence interval), the first second of
 * each measurement omitted (TCP slow start), a UDP rate a 1 Gbit lab NIC and
 * a small machine carry without loss, and the forward direction only, which
 * keeps the quick start under 5 minutes on 2 cores (`reverse` adds the other).
 */
import type { LabTopology } from "./topology.js";

export interface LabSpecOptions {
  durationS: number;
  /** Seconds dropped at the start of each measurement (iperf3 --omit). */
  omitS: number;
  repetitions: number;
  /** Also measure the reverse direction. */
  reverse: boolean;
  /** Tools to run (default iperf3 and ping: throughput and RTT; qperf adds one-way latency and doubles the time). */
  tools?: string[];
  /** "sample": one ordered node pair (reverse covers the other way); "all": every ordered pair. */
  pairs: "sample" | "all";
  /** UDP target rate, bits/s (decimal, e.g. "500M"). */
  udpBitrate: string;
}

/** The spec object (YAML keys), ready for specFromObject. */
export function labSpec(topo: LabTopology, o: LabSpecOptions): Record<string, unknown> {
  const scenarios = ["host-host", "pod-pod-cross", "pod-pod-same", "pod-host", "host-pod", "pod-service-cross", "pod-service-same"];
  if (topo.external) scenarios.push("external-pod", "external-nodeport");
  return {
    name: `lab-${topo.cni}`,
    scenarios,
    tools: o.tools ?? ["iperf3", "ping"],
    protocols: ["tcp", "udp"],
    directions: o.reverse ? ["forward", "reverse"] : ["forward"],
    parallel: [1],
    lengths: [0],
    udpBitrates: [o.udpBitrate],
    duration: o.durationS,
    omit: o.omitS,
    repetitions: o.repetitions,
    pairs: o.pairs === "all" ? "all" : { sample: 1 },
    concurrency: 1,
    thresholds: { cvPercent: 10, udpLossPercent: 1 },
    // A dual-stack lab (--ipv6) runs every case over both families.
    ...(topo.ipv6 ? { families: ["ipv4", "ipv6"] } : {}),
  };
}
