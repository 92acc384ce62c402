/**
 * The agent: finds its tools, then keeps a session with the coordinator until
 * stopped. It opens no control port; only the tool servers a test asks for.
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import { create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { AgentInfoSchema, ToolInfoSchema, type AgentInfo } from "../../gen/netmatrix/v1/types_pb.js";
import { modes, type FamilyName, type ModeName } from "../../common/src/model.js";
import { familyAddress } from "../../common/src/addresses.js";
import { tools as toolTable, type ToolName } from "../../tools/src/index.js";
import { VERSION } from "../../common/src/version.js";
import type { ClientTls } from "../../common/src/tls.js";
import { drivers } from "../../tools/src/index.js";
import { REGISTRATION_LIMITS } from "../../common/src/registration.js";
import { collectFingerprint } from "./fingerprint/collect.js";
import { boundInterfaces, kernelAndCpu, listInterfaces, otherAddresses, primaryAddress } from "./inventory.js";
import type { PortRange } from "./ports.js";
import { metricsRegistry, serveMetrics } from "./metrics.js";
import { netDevPathFor, readProcConstants } from "./samplers/index.js";
import { SamplingManager } from "./sampling.js";
import { ServerManager } from "./servers.js";
import { runSessions } from "./session.js";
import { LoadMeter } from "./samplers/load.js";
import { discoverTools, usable, type FoundTool } from "./tools.js";

export interface AgentConfig {
  /** HOST:PORT of the coordinator. */
  coordinator: string;
  node: string;
  mode: ModeName;
  /** Address peers use to reach this agent's tool servers; default: first non-loopback IPv4. */
  address?: string;
  /** The pod's addresses of every family (the chart's status.podIPs, env NETMATRIX_POD_IPS), registered after the primary. */
  podIps?: string[];
  pod?: string;
  /** The coordinator sees this agent connect from another address than `address` (NAT): it registers as a client only, unless the coordinator trusts the address. */
  behindNat?: boolean;
  /** Labels of the node (--label KEY=VALUE), checked with common/src/registration.ts `parseLabels`. */
  labels?: Record<string, string>;
  token: string;
  /** Verify the coordinator over TLS (and present a client certificate); undefined: plaintext. */
  tls?: ClientTls;
  portRange: PortRange;
  /** procfs root for the samplers (default /proc). */
  procRoot?: string;
  /** net/dev file to read NIC counters from (default PROC_ROOT/net/dev; a pod agent reads the host's /proc/1/net/dev). */
  netDevPath?: string;
  /** HOST:PORT for Prometheus `/metrics`; undefined = off. */
  metrics?: string;
  /** Where the token came from (a file, `$NETMATRIX_TOKEN`), named when the coordinator refuses it. */
  tokenSource?: string;
  /** Give up (`done` rejects) once the coordinator has refused this agent's credentials this long, ms (default 5 min; see SessionOptions). */
  authGiveUpMs?: number;
}

export interface RunningAgent {
  /** Resolves when the agent has stopped; rejects when it gave up (the coordinator kept refusing its credentials). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** `text` on one line within `max` characters (the coordinator refuses longer registration fields, and control characters). */
function clip(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export async function startAgent(cfg: AgentConfig, log: Logger): Promise<RunningAgent> {
  const found = await discoverTools(Object.values(drivers));
  const tools = new Map<ToolName, FoundTool>(found.map((f) => [f.driver.tool, f]));
  const toolLog = log.child({ component: "tools" });
  for (const f of found) {
    if (f.problem) toolLog.warn({ tool: f.driver.tool, path: f.path, problem: f.problem }, `tool unusable: ${f.problem}`);
    else if (f.path) toolLog.info({ tool: f.driver.tool, version: f.version, path: f.path }, "tool found");
    else toolLog.warn({ tool: f.driver.tool, package: f.driver.debianPackage }, "tool missing");
  }
  const local = new Set(Object.values(os.networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address)));
  const bindV4 = cfg.address && local.has(cfg.address) ? cfg.address : undefined;
  // Servers for an IPv6 case bind the IPv6 address the agent registers (the one clients target), when it is local.
  const bind = (family: FamilyName): string | undefined => {
    if (family === "ipv4") return bindV4;
    const v6 = familyAddress([cfg.address ?? "", ...(cfg.podIps ?? []), ...listInterfaces().flatMap((i) => (i.name === "lo" ? [] : i.addresses))], "ipv6");
    const now = new Set(Object.values(os.networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address)));
    return v6 !== undefined && now.has(v6) ? v6 : undefined;
  };
  const servers = new ServerManager(tools, cfg.portRange, log.child({ component: "servers" }), bind);
  const constants = await readProcConstants();
  const procRoot = cfg.procRoot ?? "/proc";
  const metrics = cfg.metrics
    ? await serveMetrics(cfg.metrics, metricsRegistry({ node: cfg.node, procRoot, netDevPath: cfg.netDevPath ?? netDevPathFor(procRoot), constants }))
    : undefined;
  if (metrics) log.info({ metricsPort: metrics.port }, `Prometheus metrics on :${metrics.port}/metrics`);
  const sampling = new SamplingManager({
    procRoot,
    constants,
    ...(cfg.netDevPath ? { netDevPath: cfg.netDevPath } : {}),
    log: log.child({ component: "sampling" }),
  });
  // The node's load for heartbeats: what the machine was doing before a run (the first reading covers the time since start-up).
  const loadMeter = new LoadMeter(procRoot);
  const noted = new Set<string>();
  const info = async (): Promise<AgentInfo> => {
    const all = listInterfaces();
    const primary = primaryAddress(all, cfg.address);
    // Within the coordinator's registration limits; what is cut is said once.
    const { interfaces, notes } = boundInterfaces(all);
    for (const note of notes) {
      if (!noted.has(note)) log.warn(note);
      noted.add(note);
    }
    const others = otherAddresses(primary, cfg.podIps ?? [], interfaces, REGISTRATION_LIMITS.addresses - 1);
    // Taken at every registration (a few ms to a few hundred; bounded by its own deadline, never failing).
    const [cpu, fingerprint] = await Promise.all([kernelAndCpu(), collectFingerprint({ pod: cfg.mode === "pod" })]);
    for (const note of fingerprint.notes) {
      if (!noted.has(note)) log.info(`environment fingerprint: ${note}`);
      noted.add(note);
    }
    return create(AgentInfoSchema, {
      node: cfg.node,
      pod: cfg.pod ?? "",
      mode: modes.toEnum(cfg.mode, "mode"),
      addresses: [primary, ...others],
      interfaces,
      tools: found.map((f) =>
        create(ToolInfoSchema, {
          tool: toolTable.toEnum(f.driver.tool, "tool"),
          available: usable(f),
          version: f.version ?? "",
          path: f.path ?? "",
          package: f.driver.debianPackage,
          problem: clip(f.problem ?? "", REGISTRATION_LIMITS.problem),
        }),
      ),
      ...cpu,
      fingerprint,
      agentVersion: VERSION,
      portMin: cfg.portRange.min,
      portMax: cfg.portRange.max,
      behindNat: cfg.behindNat ?? false,
      labels: { ...cfg.labels },
    });
  };
  const stopper = new AbortController();
  const done = runSessions(
    {
      coordinator: cfg.coordinator,
      token: cfg.token,
      ...(cfg.tls ? { tls: cfg.tls } : {}),
      instanceId: randomUUID(),
      info,
      tools,
      servers,
      sampling,
      load: () => loadMeter.read(),
      log: log.child({ component: "session" }),
      ...(cfg.tokenSource ? { tokenSource: cfg.tokenSource } : {}),
      ...(cfg.authGiveUpMs !== undefined ? { authGiveUpMs: cfg.authGiveUpMs } : {}),
    },
    stopper.signal,
  ).finally(() => {
    sampling.stopAll();
    metrics?.server.close();
    return servers.stopAll();
  });
  return {
    done,
    stop: async () => {
      stopper.abort();
      await done;
    },
  };
}
