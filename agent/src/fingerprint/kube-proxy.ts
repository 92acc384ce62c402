/**
 * Pure: kube-proxy's mode from the rules it leaves: the nftables table
 * `kube-proxy` (nftables mode), the `kube-ipvs0` link or IPVS services
 * (IPVS mode, which also keeps a KUBE-SERVICES chain), a KUBE-SERVICES chain
 * in iptables' nat table (iptables mode).
 */
import { KubeProxyMode } from "../../../gen/netmatrix/v1/fingerprint_pb.js";

export interface KubeProxyInputs {
  /** `iptables-save -t nat`; undefined when it could not run. */
  iptablesNat?: string | undefined;
  /** `nft list tables`; undefined when it could not run. */
  nftTables?: string | undefined;
  /** /proc/net/ip_vs; undefined when absent (no IPVS in the kernel). */
  ipvs?: string | undefined;
  /** The namespace's link names. */
  links: readonly string[];
}

/** IPVS services in /proc/net/ip_vs: lines beginning "TCP", "UDP" or "SCTP". */
function ipvsServices(text: string): number {
  return text.split("\n").filter((l) => /^(?:TCP|UDP|SCTP)\s/.test(l)).length;
}

export function kubeProxyModeOf(i: KubeProxyInputs): { mode: KubeProxyMode; evidence: string[] } {
  const nft = (i.nftTables ?? "").split("\n").filter((l) => /^table (?:ip|ip6|inet) kube-proxy$/.test(l.trim()));
  if (nft.length) return { mode: KubeProxyMode.NFTABLES, evidence: [`nft tables: ${nft.map((l) => l.trim().slice(6)).join(", ")}`] };
  const chains = (i.iptablesNat ?? "").split("\n").filter((l) => l.startsWith(":KUBE-"));
  const services = chains.some((l) => l.startsWith(":KUBE-SERVICES "));
  const svc = chains.filter((l) => l.startsWith(":KUBE-SVC-")).length;
  const ipvs = i.ipvs === undefined ? 0 : ipvsServices(i.ipvs);
  if (i.links.includes("kube-ipvs0") || (services && ipvs > 0)) {
    const evidence = [...(i.links.includes("kube-ipvs0") ? ["link kube-ipvs0"] : []), `/proc/net/ip_vs: ${ipvs} virtual service(s)`];
    return { mode: KubeProxyMode.IPVS, evidence };
  }
  if (services) return { mode: KubeProxyMode.IPTABLES, evidence: [`iptables nat: KUBE-SERVICES and ${svc} KUBE-SVC-* chain(s)`] };
  return {
    mode: KubeProxyMode.UNSPECIFIED,
    evidence: ["no KUBE-SERVICES chain in iptables' nat table, no nftables table kube-proxy, no kube-ipvs0 link"],
  };
}
