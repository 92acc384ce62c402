/**
 * Kubernetes Services for the lab, the way kube-proxy's iptables mode makes
 * them: nat rules on EVERY node namespace.
 *
 * - clusterip: a virtual IP from 10.96.0.0/16; DNAT CIP:port → backend:port
 *   (and dataPort) in PREROUTING and OUTPUT. When the backend shares the
 *   client's bridge its replies bypass the node's routing and must still be
 *   un-NATed ({@link HairpinMode}): by br_netfilter (`bridge-nf-call-iptables=1`
 *   in each node namespace: bridged IPv4 passes iptables/conntrack, as on a
 *   kubelet node; the default for host-gw and vxlan) or by masquerading
 *   service traffic that leaves through cni0, so replies return to the node
 *   (`bridge-nf-call-iptables=0`; the default for l2).
 * - nodeport: port N from 30000–32767 (dataPort on N+1) on every node's
 *   underlay address; DNAT to the backend and MASQUERADE, so replies return
 *   through the node the client chose. The address handed out is node-1's.
 *
 * In a dual-stack lab (`--ipv6`) an IPv6 request gets the same rules in
 * ip6tables: a ClusterIP from fd00:10:96::/112 (the IPv4 range's digits, ULA)
 * or NodePorts on the nodes' IPv6 underlay addresses; removal and sweeps
 * cover both tables.
 *
 * Protocol "udp" installs UDP and TCP rules: iperf3 runs its control
 * connection over TCP on the same port as its UDP data.
 *
 * {@link LabKubeProxy} is the one home of kube-proxy's behaviour: "program
 * this Service (ClusterIP and/or NodePorts, ports, backend) in every node".
 * Two paths call it: {@link LabServiceProvider} (a root coordinator with
 * --lab-state allocates and programs directly) and the lab's Kubernetes API
 * stand-in (kube-api.ts: the image's non-root coordinator creates Services
 * and EndpointSlices; the stand-in allocates like the API server and
 * programs what the objects say).
 */
import type { ExposedService, ExposeRequest, ServiceProvider } from "../../common/src/service-provider.js";
import type { ServiceKind } from "../../common/src/scenarios.js";
import { NetmatrixError } from "../../common/src/errors.js";
import type { LabTopology } from "./topology-plan.js";
import { isIPv6 } from "node:net";
import type { FamilyName } from "../../common/src/model.js";
import { addRules, deleteTagged, dnatRules, labFamilies, listTagged, masqueradeRules, serviceTag, type L4, type NatRule, type RuleFamily } from "./lab-services-rules.js";
import { inNs, sysctl } from "./topology-run.js";
import { appendCounterRecords, counterRecord, type ServiceCounterRecord } from "./lab-services-counters.js";

/**
 * How replies from a backend on the client's own bridge get un-NATed:
 * - "bridge-nf": net.bridge.bridge-nf-call-iptables=1 in every node namespace;
 * - "masquerade": bridge-nf-call-iptables=0 and MASQUERADE of ClusterIP
 *   traffic leaving through cni0.
 * l2 needs "masquerade": there the node's NIC is a cni0 port, and br_netfilter
 * would bridge a DNATed NodePort frame straight back out of the eth0 port it
 * came in on, which a bridge never does (no hairpin on NIC ports).
 */
export type HairpinMode = "bridge-nf" | "masquerade";

/** The hairpin handling that works for `cni` (see {@link HairpinMode}). */
export function defaultHairpin(cni: LabTopology["cni"]): HairpinMode {
  return cni === "l2" ? "masquerade" : "bridge-nf";
}

export interface LabServiceOptions {
  /** Default {@link defaultHairpin} of the topology's CNI mode. */
  hairpin?: HairpinMode;
  /**
   * Keep what every removed rule counted here (lab-services-counters.ts; the
   * lab's is DATA_DIR/lab/service-counters.jsonl); undefined: not kept.
   */
  countersFile?: string;
}

/** NodePort range, as Kubernetes' default --service-node-port-range. */
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;
/** ClusterIPs handed out: 10.96.0.20 upwards (below are customarily the API server and DNS). */
const CLUSTER_IP_FIRST = 20;
const CLUSTER_IP_LAST = 256 * 256 - 2;

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function clusterIp(n: number): string {
  return `10.96.${n >> 8}.${n & 255}`;
}

/** Whether `ip` is an address the lab hands out as a ClusterIP (10.96.0.0/16, no .0 or .255 host byte). */
export function isLabClusterIp(ip: string): boolean {
  const m = /^10\.96\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m || !IPV4_RE.test(ip)) return false;
  const n = Number(m[1]) * 256 + Number(m[2]);
  return n >= 1 && n <= CLUSTER_IP_LAST && (n & 255) !== 0 && (n & 255) !== 255;
}

/** The lowest ClusterIP not in `used`, or undefined when 10.96.0.0/16 is full. */
export function freeClusterIp(used: ReadonlySet<string>): string | undefined {
  for (let n = CLUSTER_IP_FIRST; n <= CLUSTER_IP_LAST; n++) {
    if ((n & 255) === 0 || (n & 255) === 255 || used.has(clusterIp(n))) continue;
    return clusterIp(n);
  }
  return undefined;
}

/** IPv6 ClusterIPs: fd00:10:96::/112 (ULA inside the lab's namespaces), handed out from ::14 (20) upwards as the IPv4 ones. */
export const CLUSTER_IP6_PREFIX = "fd00:10:96::";
const CLUSTER_IP6_LAST = 0xfffe;

function clusterIp6(n: number): string {
  return `${CLUSTER_IP6_PREFIX}${n.toString(16)}`;
}

/** Whether `ip` is an address the lab hands out as an IPv6 ClusterIP (fd00:10:96::1 … ::fffe, as `clusterIp6` writes it). */
export function isLabClusterIp6(ip: string): boolean {
  const m = /^fd00:10:96::([0-9a-f]{1,4})$/.exec(ip);
  if (!m) return false;
  const n = parseInt(m[1]!, 16);
  return n >= 1 && n <= CLUSTER_IP6_LAST && clusterIp6(n) === ip;
}

/** The lowest IPv6 ClusterIP not in `used`, or undefined when fd00:10:96::/112 is full. */
export function freeClusterIp6(used: ReadonlySet<string>): string | undefined {
  for (let n = CLUSTER_IP_FIRST; n <= CLUSTER_IP6_LAST; n++) if (!used.has(clusterIp6(n))) return clusterIp6(n);
  return undefined;
}

function checkPort(what: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 65535) throw new NetmatrixError("invalid-argument", `${what} must be an integer in ${min}..65535, got ${String(v)}`);
}

/** One port of a Service as kube-proxy programs it: `port` on the ClusterIP and `nodePort` (when set) on every node, both to the backend's `targetPort`. */
export interface ProxyPort {
  protocol: L4;
  port: number;
  nodePort?: number;
  targetPort: number;
}

/**
 * A Service as kube-proxy sees it: its ClusterIP (none: NodePorts only), its
 * ports and its one backend (the endpoint's address). `tag` is the comment on
 * every rule, so they are found and replaced exactly.
 */
export interface ProxiedService {
  tag: string;
  clusterIP?: string;
  ports: ProxyPort[];
  backend: string;
  /** The family of its ClusterIP and backend (absent: ipv4); ipv6 rules go to ip6tables. */
  family?: RuleFamily;
}

/**
 * The nat rules of `svc` on the node whose underlay address is `nodeAddress`,
 * as kube-proxy's iptables mode writes them: DNAT of the ClusterIP's ports
 * (plus MASQUERADE out of cni0 with the "masquerade" hairpin), then DNAT and
 * MASQUERADE of the NodePorts on the node's address. Pure.
 */
export function serviceRules(svc: ProxiedService, nodeAddress: string, hairpin: HairpinMode): NatRule[] {
  const rules: NatRule[] = [];
  const family = svc.family ?? "ipv4";
  const map = (p: ProxyPort, service: number) => [{ service, backend: p.targetPort }];
  if (svc.clusterIP) {
    for (const p of svc.ports) rules.push(...dnatRules(svc.clusterIP, svc.backend, map(p, p.port), [p.protocol], svc.tag, family));
    if (hairpin === "masquerade") for (const p of svc.ports) rules.push(...masqueradeRules(svc.clusterIP, map(p, p.port), [p.protocol], svc.tag, "cni0", family));
  }
  const nodePorts = svc.ports.filter((p): p is ProxyPort & { nodePort: number } => p.nodePort !== undefined && p.nodePort !== 0);
  for (const p of nodePorts) rules.push(...dnatRules(nodeAddress, svc.backend, map(p, p.nodePort), [p.protocol], svc.tag, family));
  for (const p of nodePorts) rules.push(...masqueradeRules(nodeAddress, map(p, p.nodePort), [p.protocol], svc.tag, undefined, family));
  return rules;
}

/**
 * kube-proxy for the lab: programs Services as nat rules in every node
 * namespace and removes them by tag, keeping what the removed rules counted
 * (`countersFile`). Not serialised itself: callers order their calls (a
 * list-then-delete must not interleave with adds).
 */
export class LabKubeProxy {
  readonly hairpin: HairpinMode;
  readonly countersFile: string | undefined;
  /** The nat tables its rules live in: iptables, and ip6tables in a dual-stack lab. */
  readonly families: RuleFamily[];
  private nodesPrepared = false;

  constructor(
    private readonly topo: LabTopology,
    opts: LabServiceOptions = {},
  ) {
    this.hairpin = opts.hairpin ?? defaultHairpin(topo.cni);
    this.countersFile = opts.countersFile;
    this.families = labFamilies(topo.ipv6 !== undefined);
  }

  /** The address of `node` (0-based index) that NodePorts of `family` listen on. */
  nodeAddress(i: number, family: RuleFamily = "ipv4"): string {
    const node = this.topo.nodes[i]!;
    if (family === "ipv4") return node.underlayAddress;
    const v6 = this.topo.ipv6?.nodes[node.index - 1];
    if (!v6) throw new NetmatrixError("failed-precondition", `the lab has no IPv6 addresses (run lab up --ipv6) for an IPv6 service`);
    return v6.underlay;
  }

  /** Program `svc` on every node, replacing the rules of its tag; when that fails, none of its rules stay. */
  async program(svc: ProxiedService): Promise<void> {
    await this.prepareNodes();
    await this.remove((t) => t === svc.tag);
    try {
      for (const [i, node] of this.topo.nodes.entries()) await addRules(node.ns, serviceRules(svc, this.nodeAddress(i, svc.family), this.hairpin));
    } catch (err) {
      await this.remove((t) => t === svc.tag).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Delete every rule whose tag satisfies `match` on every node (their
   * counters read in one iptables call per node, and kept in `countersFile`,
   * even when a later node fails); returns the tags whose rules went.
   */
  async remove(match: (tag: string) => boolean): Promise<Set<string>> {
    const gone = new Set<string>();
    const records: ServiceCounterRecord[] = [];
    try {
      for (const node of this.topo.nodes) {
        const deleted = await deleteTagged(node.ns, match, this.families);
        const at = new Date();
        for (const t of deleted.tags) gone.add(t);
        if (this.countersFile) for (const r of deleted.removed) records.push(counterRecord(this.topo.prefix, node, r, at));
      }
    } finally {
      this.keepCounters(records);
    }
    return gone;
  }

  /** Append `records` to `countersFile`; a failure (a full disk) is warned about, never fails the removal. */
  private keepCounters(records: ServiceCounterRecord[]): void {
    if (!this.countersFile || records.length === 0) return;
    try {
      appendCounterRecords(this.countersFile, records);
    } catch (err) {
      process.emitWarning(`could not keep the counters of ${records.length} removed Service rules in ${this.countersFile}: ${(err as Error).message}`, {
        code: "NETMATRIX_LAB_COUNTERS",
      });
    }
  }

  /** The rules (as `-A CHAIN …` words) on the first node whose tag satisfies `match`, of every family. */
  async programmed(match: (tag: string) => boolean): Promise<string[][]> {
    const first = this.topo.nodes[0];
    if (!first) throw new NetmatrixError("failed-precondition", "the lab has no nodes");
    const rules: string[][] = [];
    for (const family of this.families) rules.push(...(await listTagged(first.ns, match, family)));
    return rules;
  }

  /** Set bridge-nf-call-iptables in every node namespace as the hairpin mode needs (once). */
  private async prepareNodes(): Promise<void> {
    if (this.nodesPrepared) return;
    for (const node of this.topo.nodes) {
      const keys = this.families.map((f) => (f === "ipv6" ? "net.bridge.bridge-nf-call-ip6tables" : "net.bridge.bridge-nf-call-iptables"));
      if (this.hairpin === "masquerade") {
        // Absent when br_netfilter is not loaded, which is just as good.
        await sysctl(node.ns, Object.fromEntries(keys.map((k) => [k, 0])));
        continue;
      }
      try {
        // Not sysctl(): that one skips keys the kernel lacks (-e).
        await inNs(node.ns, ["sysctl", "-q", "-w", ...keys.map((k) => `${k}=1`)]);
      } catch (err) {
        throw new NetmatrixError("failed-precondition", `cannot enable bridge-nf-call-iptables in ${node.ns}`, {
          cause: err,
          hint: 'load br_netfilter (modprobe br_netfilter) or use hairpin "masquerade"',
        });
      }
    }
    this.nodesPrepared = true;
  }
}

export class LabServiceProvider implements ServiceProvider {
  readonly kinds: ServiceKind[] = ["clusterip", "nodeport"];
  /** IPv4, and IPv6 in a dual-stack lab (`--ipv6`). */
  readonly families: FamilyName[];
  readonly hairpin: HairpinMode;
  private readonly proxy: LabKubeProxy;
  /** Serialises rule changes: list-then-delete must not interleave with adds. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly topo: LabTopology,
    opts: LabServiceOptions = {},
  ) {
    this.proxy = new LabKubeProxy(topo, opts);
    this.hairpin = this.proxy.hairpin;
    this.families = this.proxy.families;
  }

  /** The tag prefix of every rule this lab's services own. */
  private get tagPrefix(): string {
    return `${this.topo.prefix}svc:`;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  async expose(req: ExposeRequest): Promise<ExposedService> {
    if (!this.kinds.includes(req.kind)) throw new NetmatrixError("invalid-argument", `unknown service kind ${JSON.stringify(req.kind)}`);
    const family: RuleFamily = req.family ?? "ipv4";
    if (!this.families.includes(family))
      throw new NetmatrixError("failed-precondition", `the lab offers no ${family === "ipv6" ? "IPv6" : family} services`, { hint: "run netmatrix lab up --ipv6" });
    if (family === "ipv6" ? !isIPv6(req.serverAddress) : !IPV4_RE.test(req.serverAddress))
      throw new NetmatrixError("invalid-argument", `server address ${JSON.stringify(req.serverAddress)} is not an ${family === "ipv6" ? "IPv6" : "IPv4"} address`);
    checkPort("port", req.port, 1);
    checkPort("dataPort", req.dataPort, 0);
    const tag = serviceTag(this.topo.prefix, req.runId, req.caseId);
    const protos: L4[] = req.protocol === "udp" ? ["udp", "tcp"] : ["tcp"];
    return this.serial(async () => {
      // A service of the same run and case left over (a crash, a retry) is replaced.
      await this.proxy.remove((t) => t === tag);
      const used = await this.inUse();
      const service = req.kind === "clusterip" ? this.clusterIpPlan(req, protos, tag, used, family) : this.nodePortPlan(req, protos, tag, used, family);
      await this.proxy.program(service.proxied);
      let released: Promise<void> | undefined;
      return {
        address: service.address,
        port: service.port,
        dataPort: req.dataPort === 0 ? 0 : service.dataPort,
        // Idempotent; a failed release may be retried.
        release: () =>
          (released ??= this.serial(() => this.proxy.remove((t) => t === tag)).then(
            () => undefined,
            (err: unknown) => {
              released = undefined;
              throw err;
            },
          )),
      };
    });
  }

  /** Delete the rules of `runId`'s services (of every service when undefined); returns how many services went. */
  async sweep(runId?: string): Promise<number> {
    const prefix = runId === undefined ? this.tagPrefix : `${this.tagPrefix}${runId}:`;
    return this.serial(async () => (await this.proxy.remove((t) => t.startsWith(prefix))).size);
  }

  /** The service's ports: the tool's port (and data port) on each protocol, protocol-major. */
  private proxyPorts(req: ExposeRequest, protos: L4[], service: (backend: number, i: number) => number): ProxyPort[] {
    const backends = req.dataPort !== 0 ? [req.port, req.dataPort] : [req.port];
    return protos.flatMap((protocol) => backends.map((backend, i) => ({ protocol, port: service(backend, i), targetPort: backend })));
  }

  private clusterIpPlan(req: ExposeRequest, protos: L4[], tag: string, used: Set<string>, family: RuleFamily) {
    const address = family === "ipv6" ? freeClusterIp6(used) : freeClusterIp(used);
    if (!address) throw new NetmatrixError("unavailable", `no free ClusterIP in ${family === "ipv6" ? `${CLUSTER_IP6_PREFIX}/112` : "10.96.0.0/16"}`);
    const proxied: ProxiedService = {
      tag,
      clusterIP: address,
      backend: req.serverAddress,
      ports: this.proxyPorts(req, protos, (backend) => backend),
      ...(family === "ipv6" ? { family } : {}),
    };
    return { address, port: req.port, dataPort: req.dataPort, proxied };
  }

  private nodePortPlan(req: ExposeRequest, protos: L4[], tag: string, used: Set<string>, family: RuleFamily) {
    let np = NODE_PORT_MIN;
    while (np < NODE_PORT_MAX && (used.has(String(np)) || used.has(String(np + 1)))) np++;
    if (np >= NODE_PORT_MAX) throw new NetmatrixError("unavailable", `no free NodePort pair in ${NODE_PORT_MIN}–${NODE_PORT_MAX}`);
    const ports = this.proxyPorts(req, protos, (_backend, i) => np + i).map((p) => ({ ...p, nodePort: p.port }));
    const proxied: ProxiedService = { tag, backend: req.serverAddress, ports, ...(family === "ipv6" ? { family } : {}) };
    return { address: this.proxy.nodeAddress(0, family), port: np, dataPort: np + 1, proxied };
  }

  /** ClusterIPs (both families) and NodePorts held by this lab's services now (read from node-1's rules). */
  private async inUse(): Promise<Set<string>> {
    const used = new Set<string>();
    for (const words of await this.proxy.programmed((t) => t.startsWith(this.tagPrefix))) {
      if (!words.includes("--to-destination")) continue;
      const dst = words[words.indexOf("-d") + 1] ?? "";
      const dport = words[words.indexOf("--dport") + 1] ?? "";
      if (dst.startsWith("10.96.")) used.add(dst.replace(/\/32$/, ""));
      else if (dst.startsWith(CLUSTER_IP6_PREFIX)) used.add(dst.replace(/\/128$/, ""));
      else used.add(dport);
    }
    return used;
  }
}
