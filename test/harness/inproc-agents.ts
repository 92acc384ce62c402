/**
 * Real agent sessions in this process: the agent's own session loop
 * (agent/src/session.ts `runSessions`: registration, heartbeats, reconnect
 * backoff, retry-after) over real gRPC to a coordinator, without tools —
 * for tests of how the coordinator and the agents behave together when many
 * dial in at once, where one process per agent would be too heavy.
 */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { pino, type Logger } from "pino";
import { AgentInfoSchema, NetworkMode } from "../../gen/netmatrix/v1/types_pb.js";
import { VERSION } from "../../common/src/version.js";
import { runSessions } from "../../agent/src/session.js";
import { SamplingManager } from "../../agent/src/sampling.js";
import { ServerManager } from "../../agent/src/servers.js";
import { readProcConstants } from "../../agent/src/samplers/index.js";

export interface InProcessAgents {
  /** Every agent's log records, parsed (all agents in one list, each with its `node`). */
  readonly records: Record<string, unknown>[];
  /** Records whose message matches `re`. */
  logged(re: RegExp): Record<string, unknown>[];
  /** Stop every session; resolves when all have ended. */
  stop(): Promise<void>;
}

/** Start one host agent per node name in `nodes`, each declaring 127.0.0.1 (where it connects from). */
export async function startInProcessAgents(o: {
  coordinator: string;
  token: string;
  nodes: readonly string[];
  backoffMs?: { initial: number; max: number };
}): Promise<InProcessAgents> {
  const records: Record<string, unknown>[] = [];
  const root: Logger = pino({ level: "debug" }, { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) });
  const constants = await readProcConstants();
  const stopper = new AbortController();
  const done = o.nodes.map((node) => {
    const log = root.child({ node });
    const info = create(AgentInfoSchema, {
      node,
      mode: NetworkMode.HOST,
      addresses: ["127.0.0.1"],
      agentVersion: VERSION,
      portMin: 20_000,
      portMax: 20_010,
    });
    return runSessions(
      {
        coordinator: o.coordinator,
        token: o.token,
        instanceId: randomUUID(),
        info: () => Promise.resolve(info),
        tools: new Map(),
        servers: new ServerManager(new Map(), { min: 20_000, max: 20_010 }, log),
        sampling: new SamplingManager({ procRoot: "/proc", constants, log }),
        log,
        ...(o.backoffMs ? { backoffMs: o.backoffMs } : {}),
      },
      stopper.signal,
    );
  });
  return {
    records,
    logged: (re) => records.filter((r) => re.test(String(r.msg))),
    stop: async () => {
      stopper.abort();
      await Promise.allSettled(done);
    },
  };
}
