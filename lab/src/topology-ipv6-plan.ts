/**
 * The lab's IPv6 addresses (`--ipv6`), pure: ULA inside the lab's namespaces
 * only, beside the IPv4 plan (topology-plan.ts); topology-ipv6.ts wires them.
 *
 * - underlay fd00:198:18::/64: node i = fd00:198:18::<10+i>, external = ::250;
 * - pods fd00:10:244:<i>::/64 per node: bridge ::1, pod k (0-based) ::<10+k>.
 */
import { NetmatrixError } from "../../common/src/errors.js";

/** The IPv6 addresses of a dual-stack lab (absent in an IPv4-only one). */
export interface LabIpv6 {
  /** Per node (by index − 1): underlay address, pod /64, bridge address, pod addresses (in pod order). */
  nodes: { underlay: string; podCidr: string; bridge: string; pods: string[] }[];
  external?: string;
}

/** Why `--ipv6` cannot be given with `cni`, or undefined. */
export function ipv6Refusal(cni: string): string | undefined {
  return cni === "l2" ? "--ipv6 is not wired for the l2 CNI mode (its pods would need IPv6 on the shared underlay bridge); use --cni host-gw or --cni vxlan" : undefined;
}

/** Pure: the IPv6 plan of `topo` (its nodes and pods as planned). Throws for a mode that is not wired. */
export function planIpv6(topo: { cni: string; nodes: readonly { index: number; pods: readonly unknown[] }[]; external?: unknown }): LabIpv6 {
  const refusal = ipv6Refusal(topo.cni);
  if (refusal) throw new NetmatrixError("invalid-argument", refusal);
  return {
    nodes: topo.nodes.map((n) => ({
      underlay: `fd00:198:18::${10 + n.index}`,
      podCidr: `fd00:10:244:${n.index}::/64`,
      bridge: `fd00:10:244:${n.index}::1`,
      pods: n.pods.map((_, k) => `fd00:10:244:${n.index}::${10 + k}`),
    })),
    ...(topo.external ? { external: "fd00:198:18::250" } : {}),
  };
}
