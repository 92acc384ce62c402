/**
 * The matrix `netmatrix lab run` measures: every scenario the lab supports,
 * TCP and UDP, both directions, iperf3 + qperf + ping, short durations.
 */
import type { LabTopology } from "./topology.js";

export interface LabSpecOptions {
  durationS: number;
  repetitions: number;
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
    tools: ["iperf3", "qperf", "ping"],
    protocols: ["tcp", "udp"],
    directions: ["forward", "reverse"],
    parallel: [1],
    lengths: [0],
    udpBitrates: [o.udpBitrate],
    duration: o.durationS,
    omit: 0,
    repetitions: o.repetitions,
    pairs: o.pairs === "all" ? "all" : { sample: 1 },
    concurrency: 1,
    thresholds: { cvPercent: 10, udpLossPercent: 1 },
  };
}
