import { describe, expect, test } from "vitest";
import { KubeProxyMode } from "../../../gen/netmatrix/v1/fingerprint_pb.js";
import { fixture } from "./fixture.js";
import { kubeProxyModeOf } from "./kube-proxy.js";

const IPVS_ONE_SERVICE =
  "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  0A60000A:0035 rr\n  -> 0AF40002:0035      Masq    1      0          0\n";
const IPVS_EMPTY = "IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n";

describe("kubeProxyModeOf", () => {
  test.each([
    [
      "KUBE-SERVICES in iptables' nat table",
      { iptablesNat: fixture("iptables-save-kube.txt"), nftTables: fixture("nft-list-tables-empty.txt"), links: ["eth0"] },
      KubeProxyMode.IPTABLES,
    ],
    [
      "nftables table kube-proxy (beside an iptables-nft nat table)",
      { iptablesNat: fixture("iptables-save-kube.txt"), nftTables: fixture("nft-list-tables-kube-proxy.txt"), links: [] },
      KubeProxyMode.NFTABLES,
    ],
    ["kube-ipvs0 and KUBE-SERVICES", { iptablesNat: fixture("iptables-save-kube.txt"), ipvs: IPVS_ONE_SERVICE, links: ["kube-ipvs0"] }, KubeProxyMode.IPVS],
    ["IPVS services and KUBE-SERVICES, no kube-ipvs0", { iptablesNat: fixture("iptables-save-kube.txt"), ipvs: IPVS_ONE_SERVICE, links: [] }, KubeProxyMode.IPVS],
    ["ip_vs loaded but empty: iptables", { iptablesNat: fixture("iptables-save-kube.txt"), ipvs: IPVS_EMPTY, links: [] }, KubeProxyMode.IPTABLES],
    ["empty rules: unknown", { iptablesNat: fixture("iptables-save-empty.txt"), nftTables: fixture("nft-list-tables-empty.txt"), links: [] }, KubeProxyMode.UNSPECIFIED],
    ["nothing could be read: unknown", { links: [] }, KubeProxyMode.UNSPECIFIED],
  ])("%s", (_what, inputs, want) => {
    const r = kubeProxyModeOf(inputs);
    expect(r.mode).toBe(want);
    expect(r.evidence.length).toBeGreaterThan(0);
  });

  test("the iptables evidence counts the KUBE-SVC chains", () => {
    expect(kubeProxyModeOf({ iptablesNat: fixture("iptables-save-kube.txt"), links: [] }).evidence).toEqual(["iptables nat: KUBE-SERVICES and 1 KUBE-SVC-* chain(s)"]);
    expect(kubeProxyModeOf({ nftTables: fixture("nft-list-tables-kube-proxy.txt"), links: [] }).evidence).toEqual(["nft tables: ip kube-proxy, ip6 kube-proxy"]);
  });
});
