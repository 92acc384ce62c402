/**
 * Two nodes joined by one veth pair, each in its own network namespace, with
 * a coordinator in the first and an agent in each: the smallest real network
 * path netmatrix can measure. Used by the namespace tests and benchmarks.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addNamespace, rateLimit, sweepNamespaces, vethPair } from "./netns.js";
import { startAgentProc, startCoordinatorProc, type CoordinatorProc } from "./local-cluster.js";
import { runNetmatrix, type Proc } from "./processes.js";

/** Underlay addresses of the two nodes (198.18.0.0/15 is reserved for benchmarks). */
export const PAIR_ADDR = { a: "198.18.0.1", b: "198.18.0.2" } as const;
const COORD_PORT = 7400;

export interface PairOptions {
  /** Prefix of both namespaces, e.g. "nm-t-"; everything with it is swept first and on close. */
  prefix: string;
  /** tbf rate on node a's eth0 egress (e.g. "1gbit"); none when undefined. */
  rate?: string;
  /** Start agents (default true). */
  agents?: boolean;
}

export interface Pair {
  nsA: string;
  nsB: string;
  coordinator: CoordinatorProc | undefined;
  agentA: Proc | undefined;
  agentB: Proc | undefined;
  /** `netmatrix ARGS` run inside node a against the pair's coordinator. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Stop processes, delete namespaces and the temp dir. Safe to call twice. */
  close(): Promise<void>;
}

export async function createPair(opts: PairOptions): Promise<Pair> {
  const nsA = `${opts.prefix}a`;
  const nsB = `${opts.prefix}b`;
  const dir = mkdtempSync(join(tmpdir(), `${opts.prefix}`));
  const procs: Proc[] = [];
  const pair: Pair = {
    nsA,
    nsB,
    coordinator: undefined,
    agentA: undefined,
    agentB: undefined,
    cli: (args) =>
      runNetmatrix([...args, "--coordinator", `127.0.0.1:${COORD_PORT}`, "--token-file", pair.coordinator?.tokenFile ?? ""], { ns: nsA }),
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
    if (opts.agents ?? true) {
      pair.coordinator = await startCoordinatorProc({ dataDir: dir, ns: nsA, listen: `0.0.0.0:${COORD_PORT}` });
      procs.push(pair.coordinator.proc);
      const tokenFile = pair.coordinator.tokenFile;
      pair.agentA = await startAgentProc({ ns: nsA, coordinator: `127.0.0.1:${COORD_PORT}`, tokenFile, node: "node-a", address: PAIR_ADDR.a });
      procs.push(pair.agentA);
      pair.agentB = await startAgentProc({ ns: nsB, coordinator: `${PAIR_ADDR.a}:${COORD_PORT}`, tokenFile, node: "node-b", address: PAIR_ADDR.b });
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
