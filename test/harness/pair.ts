/**
 * Two nodes joined by one veth pair (the data path, "eth0"), each in its own
 * network namespace, and a coordinator in the root namespace reached over a
 * separate control link per node — a management network, so control traffic
 * never shares the measured path. An agent runs in each node. Used by the
 * namespace tests, the demo and the benchmarks.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addNamespace, ip, rateLimit, sweepNamespaces, vethPair } from "../../lab/src/netns.js";
import { blockAddresses } from "../../lab/src/topology-plan.js";
import { startAgentProc, startCoordinatorProc, type CoordinatorProc } from "./local-cluster.js";
import { runNetmatrix, type Proc } from "./processes.js";

/** Data-path addresses of the two nodes (198.18.0.0/15 is reserved for benchmarks), inside their namespaces only. */
export const PAIR_ADDR = { a: "198.18.0.1", b: "198.18.0.2" } as const;

/**
 * Control links, root side / node side, one /30 per node: the first two /30s
 * of the lab address block's control network (a lab's start at .128), so a
 * pair and a lab of the same block can coexist.
 */
function controlAddresses(block: number) {
  const { control } = blockAddresses(block);
  return { a: { root: `${control}.1`, node: `${control}.2` }, b: { root: `${control}.5`, node: `${control}.6` } };
}

export interface PairOptions {
  /** Prefix of every namespace and root-side link, e.g. "nm-t-"; swept first and on close. */
  prefix: string;
  /** Lab address block of the root-visible control links (see lab/src/topology-plan.ts); two pairs at once need two. */
  block: number;
  /** tbf rate on node a's eth0 egress (e.g. "1gbit"); none when undefined. */
  rate?: string;
  /** Start the coordinator and agents (default true). */
  agents?: boolean;
}

export interface Pair {
  nsA: string;
  nsB: string;
  coordinator: CoordinatorProc | undefined;
  agentA: Proc | undefined;
  agentB: Proc | undefined;
  /** `netmatrix ARGS` against the pair's coordinator. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Stop processes, delete namespaces (their links go with them) and the temp dir. Safe to call twice. */
  close(): Promise<void>;
}

/** A veth from the root namespace (`rootIf`) into `ns` (`ctl0`), a /30 each side. */
async function controlLink(ns: string, rootIf: string, addr: { root: string; node: string }): Promise<void> {
  await ip(["link", "add", rootIf, "type", "veth", "peer", "name", "ctl0", "netns", ns]);
  await ip(["addr", "add", `${addr.root}/30`, "dev", rootIf]);
  await ip(["link", "set", rootIf, "up"]);
  await ip(["addr", "add", `${addr.node}/30`, "dev", "ctl0"], ns);
  await ip(["link", "set", "ctl0", "up"], ns);
}

export async function createPair(opts: PairOptions): Promise<Pair> {
  const nsA = `${opts.prefix}a`;
  const nsB = `${opts.prefix}b`;
  const control = controlAddresses(opts.block);
  const dir = mkdtempSync(join(tmpdir(), `${opts.prefix}`));
  const procs: Proc[] = [];
  const pair: Pair = {
    nsA,
    nsB,
    coordinator: undefined,
    agentA: undefined,
    agentB: undefined,
    cli: (args) => runNetmatrix([...args, "--coordinator", `127.0.0.1:${pair.coordinator?.port ?? 0}`, "--token-file", pair.coordinator?.tokenFile ?? ""]),
    close: async () => {
      await Promise.all(procs.map((p) => p.stop()));
      await sweepNamespaces(opts.prefix);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await sweepNamespaces(opts.prefix);
    await addNamespace(nsA);
    await addNamespace(nsB);
    await vethPair({ ns: nsA, ifName: "eth0", cidr: `${PAIR_ADDR.a}/24` }, { ns: nsB, ifName: "eth0", cidr: `${PAIR_ADDR.b}/24` });
    if (opts.rate) await rateLimit(nsA, "eth0", opts.rate);
    await controlLink(nsA, `${opts.prefix}ra`, control.a);
    await controlLink(nsB, `${opts.prefix}rb`, control.b);
    if (opts.agents ?? true) {
      // The agents connect over their control links, from other addresses than the data-path ones they declare.
      pair.coordinator = await startCoordinatorProc({ dataDir: dir, listen: "0.0.0.0:0", trustDeclaredAddresses: `${PAIR_ADDR.a},${PAIR_ADDR.b}` });
      procs.push(pair.coordinator.proc);
      const { tokenFile, port } = pair.coordinator;
      pair.agentA = await startAgentProc({ ns: nsA, coordinator: `${control.a.root}:${port}`, tokenFile, node: "node-a", address: PAIR_ADDR.a });
      procs.push(pair.agentA);
      pair.agentB = await startAgentProc({ ns: nsB, coordinator: `${control.b.root}:${port}`, tokenFile, node: "node-b", address: PAIR_ADDR.b });
      procs.push(pair.agentB);
    }
    return pair;
  } catch (err) {
    await pair.close();
    throw err;
  }
}

/** Theoretical TCP goodput over Ethernet at `rateBps`: payload 1448 B (MSS with timestamps) per 1514 B frame. */
export function tcpGoodputBps(rateBps: number): number {
  return (rateBps * 1448) / 1514;
}
