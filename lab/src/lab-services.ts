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
 * Protocol "udp" installs UDP and TCP rules: iperf3 runs its control
 * connection over TCP on the same port as its UDP data.
 */
import type { ExposedService, ExposeRequest, ServiceProvider } from "../../common/src/service-provider.js";
import type { ServiceKind } from "../../common/src/scenarios.js";
import { NetmatrixError } from "../../common/src/errors.js";
import type { LabTopology } from "./topology-plan.js";
import { addRules, deleteTagged, dnatRules, listTagged, masqueradeRules, serviceTag, type L4, type NatRule, type PortMap } from "./lab-services-rules.js";
import { inNs, sysctl } from "./topology-run.js";

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

function checkPort(what: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min || v > 65535) throw new NetmatrixError("invalid-argument", `${what} must be an integer in ${min}..65535, got ${String(v)}`);
}

export class LabServiceProvider implements ServiceProvider {
  readonly kinds: ServiceKind[] = ["clusterip", "nodeport"];
  readonly hairpin: HairpinMode;
  /** Serialises rule changes: list-then-delete must not interleave with adds. */
  private chain: Promise<unknown> = Promise.resolve();
  private nodesPrepared = false;

  constructor(
    private readonly topo: LabTopology,
    opts: LabServiceOptions = {},
  ) {
    this.hairpin = opts.hairpin ?? defaultHairpin(topo.cni);
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
    if (!IPV4_RE.test(req.serverAddress)) throw new NetmatrixError("invalid-argument", `server address ${JSON.stringify(req.serverAddress)} is not an IPv4 address`);
    checkPort("port", req.port, 1);
    checkPort("dataPort", req.dataPort, 0);
    const tag = serviceTag(this.topo.prefix, req.runId, req.caseId);
    const protos: L4[] = req.protocol === "udp" ? ["udp", "tcp"] : ["tcp"];
    return this.serial(async () => {
      await this.prepareNodes();
      // A service of the same run and case left over (a crash, a retry) is replaced.
      await this.removeWhere((t) => t === tag);
      const used = await this.inUse();
      const service = req.kind === "clusterip" ? this.clusterIpPlan(req, protos, tag, used) : this.nodePortPlan(req, protos, tag, used);
      try {
        for (const node of this.topo.nodes) await addRules(node.ns, service.rules(node.underlayAddress));
      } catch (err) {
        await this.removeWhere((t) => t === tag).catch(() => undefined);
        throw err;
      }
      let released: Promise<void> | undefined;
      return {
        address: service.address,
        port: service.port,
        dataPort: req.dataPort === 0 ? 0 : service.dataPort,
        // Idempotent; a failed release may be retried.
        release: () =>
          (released ??= this.serial(() => this.removeWhere((t) => t === tag)).then(
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
    return this.serial(async () => (await this.removeWhere((t) => t.startsWith(prefix))).size);
  }

  private clusterIpPlan(req: ExposeRequest, protos: L4[], tag: string, used: Set<string>) {
    let n = CLUSTER_IP_FIRST;
    while (n <= CLUSTER_IP_LAST && ((n & 255) === 0 || (n & 255) === 255 || used.has(clusterIp(n)))) n++;
    if (n > CLUSTER_IP_LAST) throw new NetmatrixError("unavailable", "no free ClusterIP in 10.96.0.0/16");
    const address = clusterIp(n);
    const ports: PortMap[] = [{ service: req.port, backend: req.port }];
    if (req.dataPort !== 0) ports.push({ service: req.dataPort, backend: req.dataPort });
    const rules = (): NatRule[] => [
      ...dnatRules(address, req.serverAddress, ports, protos, tag),
      ...(this.hairpin === "masquerade" ? masqueradeRules(address, ports, protos, tag, "cni0") : []),
    ];
    return { address, port: req.port, dataPort: req.dataPort, rules };
  }

  private nodePortPlan(req: ExposeRequest, protos: L4[], tag: string, used: Set<string>) {
    let np = NODE_PORT_MIN;
    while (np < NODE_PORT_MAX && (used.has(String(np)) || used.has(String(np + 1)))) np++;
    if (np >= NODE_PORT_MAX) throw new NetmatrixError("unavailable", `no free NodePort pair in ${NODE_PORT_MIN}–${NODE_PORT_MAX}`);
    const ports: PortMap[] = [{ service: np, backend: req.port }];
    if (req.dataPort !== 0) ports.push({ service: np + 1, backend: req.dataPort });
    const rules = (nodeAddress: string): NatRule[] => [...dnatRules(nodeAddress, req.serverAddress, ports, protos, tag), ...masqueradeRules(nodeAddress, ports, protos, tag)];
    return { address: this.topo.nodes[0]!.underlayAddress, port: np, dataPort: np + 1, rules };
  }

  /** ClusterIPs and NodePorts held by this lab's services now (read from node-1's rules). */
  private async inUse(): Promise<Set<string>> {
    const used = new Set<string>();
    const first = this.topo.nodes[0];
    if (!first) throw new NetmatrixError("failed-precondition", "the lab has no nodes");
    for (const words of await listTagged(first.ns, (t) => t.startsWith(this.tagPrefix))) {
      if (!words.includes("--to-destination")) continue;
      const dst = words[words.indexOf("-d") + 1] ?? "";
      const dport = words[words.indexOf("--dport") + 1] ?? "";
      if (dst.startsWith("10.96.")) used.add(dst.replace(/\/32$/, ""));
      else used.add(dport);
    }
    return used;
  }

  /** Set bridge-nf-call-iptables in every node namespace as the hairpin mode needs (once). */
  private async prepareNodes(): Promise<void> {
    if (this.nodesPrepared) return;
    for (const node of this.topo.nodes) {
      if (this.hairpin === "masquerade") {
        // Absent when br_netfilter is not loaded, which is just as good.
        await sysctl(node.ns, { "net.bridge.bridge-nf-call-iptables": 0 });
        continue;
      }
      try {
        // Not sysctl(): that one skips keys the kernel lacks (-e).
        await inNs(node.ns, ["sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1"]);
      } catch (err) {
        throw new NetmatrixError("failed-precondition", `cannot enable bridge-nf-call-iptables in ${node.ns}`, {
          cause: err,
          hint: 'load br_netfilter (modprobe br_netfilter) or use hairpin "masquerade"',
        });
      }
    }
    this.nodesPrepared = true;
  }

  private async removeWhere(match: (tag: string) => boolean): Promise<Set<string>> {
    const gone = new Set<string>();
    for (const node of this.topo.nodes) for (const t of await deleteTagged(node.ns, match)) gone.add(t);
    return gone;
  }
}
