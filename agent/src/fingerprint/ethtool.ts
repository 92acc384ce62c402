/**
 * Pure parsers of `ethtool -k IFACE` (offload features) and `ethtool -i IFACE`
 * (driver). Only the features that move throughput are kept.
 */

/** The `ethtool -k` features kept, by ethtool's own name. */
export const OFFLOADS = [
  "rx-checksumming",
  "tx-checksumming",
  "scatter-gather",
  "tcp-segmentation-offload",
  "generic-segmentation-offload",
  "generic-receive-offload",
  "large-receive-offload",
  "rx-gro-hw",
  "rx-gro-list",
  "rx-udp-gro-forwarding",
  "tx-udp_tnl-segmentation",
  "tx-udp_tnl-csum-segmentation",
] as const;

const KEPT = new Set<string>(OFFLOADS);
/** "generic-receive-offload: off [fixed]", "\ttx-checksum-sctp: on", "rx-gro-hw: off [requested on]". */
const FEATURE = /^\s*([a-z0-9_-]+): (on|off)\b/;

/** The kept offloads `ethtool -k` reports, on or off (a "[fixed]" one as it is). */
export function parseEthtoolFeatures(text: string): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const line of text.split("\n")) {
    const m = FEATURE.exec(line);
    if (m && KEPT.has(m[1]!)) out[m[1]!] = m[2] === "on";
  }
  return out;
}

/** The driver `ethtool -i` names ("veth", "virtio_net"), or "". */
export function parseEthtoolDriver(text: string): string {
  return /^driver: *(\S+)/m.exec(text)?.[1] ?? "";
}
