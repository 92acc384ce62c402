/**
 * The coordinator process: one gRPC server carrying the agent service (agents
 * dial in) and the control service (the CLI), a registry of live agents, and
 * a sweep that drops agents whose heartbeats stopped (./heartbeat-sweep.ts),
 * and a bound on how many agents register a second (./registration-limiter.ts).
 */
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { AgentService } from "../../gen/netmatrix/v1/agent_pb.js";
import { ControlService, type GetRunResponse } from "../../gen/netmatrix/v1/control_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { implement } from "../../common/src/grpc-adapter.js";
import { authInterceptor } from "../../common/src/token.js";
import { loadServerTls, webServerTls, type ServerTls, type ServerTlsFiles } from "../../common/src/tls.js";
import { addressTrust } from "./address-check.js";
import { agentServiceHandlers } from "./agent-service.js";
import { startHeartbeatSweep } from "./heartbeat-sweep.js";
import { DEFAULT_REGISTRATION_LIMITS, RegistrationLimiter, type RegistrationLimits } from "./registration-limiter.js";
import { listenGrpc } from "./listen.js";
import { controlServiceHandlers } from "./control-service.js";
import { DEFAULT_MATRIX_CAPS, type MatrixCaps } from "./matrix/index.js";
import { AgentLocks } from "./locks.js";
import { Registry } from "./registry.js";
import { ResultsStore } from "./results-store.js";
import { runServiceHandlers } from "./run-service.js";
import type { ServiceProvider } from "../../common/src/service-provider.js";
import { WatchHub } from "./watch-hub.js";
import { startWebServer } from "./web/server.js";

export interface CoordinatorOptions {
  /** HOST:PORT to listen on; port 0 picks one. */
  listen: string;
  token: string;
  /** Where runs are kept (DATA_DIR/runs/RUN_ID). */
  dataDir: string;
  /** Puts services in front of server agents (the lab, Kubernetes); undefined = service scenarios refused. */
  services?: ServiceProvider;
  /** HOST:PORT for the live web page and its WebSocket feed; undefined = no web server. */
  http?: string;
  /**
   * Renders a run as the self-contained HTML report the web page links to
   * (the report's `htmlReport`, given by the command that starts the
   * coordinator, so the coordinator does not depend on the report). Without
   * it the web page lists runs but serves no reports.
   */
  reportHtml?: (run: GetRunResponse) => string;
  /** CSP sources (`'sha256-…'`) of the inline scripts `reportHtml`'s pages run (the report's `reportScriptHashes`). */
  reportScriptHashes?: readonly string[];
  /**
   * Serve gRPC and the web page over TLS with this certificate and key (files
   * watched: a renewed certificate serves new connections); with `clientCa`,
   * gRPC clients must present a certificate it signed (mTLS). Undefined:
   * plaintext.
   */
  tls?: ServerTlsFiles;
  /** Heartbeat interval asked of agents, milliseconds (default DEFAULT_HEARTBEAT_INTERVAL_MS). */
  heartbeatIntervalMs?: number;
  /** Agent sessions admitted per second and at once (`--registration-rate`, `--registration-burst`); default DEFAULT_REGISTRATION_LIMITS. */
  registrationLimits?: RegistrationLimits;
  /** What one run may ask for: case runs and estimated duration (`--max-cases`, `--max-run-duration`); default DEFAULT_MATRIX_CAPS. */
  caps?: MatrixCaps;
  /**
   * Agents' declared addresses to believe without seeing them connect from
   * there: "all", or IP addresses and CIDRs (`--trust-declared-addresses`; the
   * lab, NAT). Default none: an agent's address must be where its session
   * comes from, or it is only ever a client (`--behind-nat`).
   */
  trustDeclaredAddresses?: readonly string[];
}

/** How often agents are asked to send a heartbeat (`--heartbeat-interval`), ms. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2000;

export interface RunningCoordinator {
  /** The port actually bound. */
  port: number;
  /** The web page's port, when serving one. */
  httpPort: number | undefined;
  registry: Registry;
  hub: WatchHub;
  /** Agent sessions admitted and refused so far (its counters). */
  registrations: RegistrationLimiter;
  stop(): Promise<void>;
}

export async function startCoordinator(opts: CoordinatorOptions, log: Logger): Promise<RunningCoordinator> {
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const trust = addressTrust(opts.trustDeclaredAddresses);
  if (trust.description !== "none")
    log.warn({ trustDeclaredAddresses: trust.description }, "agents' declared addresses in this list are believed without checking where they connect from");
  // Read and checked before anything listens: a wrong file fails here, naming it.
  const tls = opts.tls ? loadServerTls(opts.tls) : undefined;
  const registry = new Registry();
  const locks = new AgentLocks();
  const hub = new WatchHub(registry, log.child({ component: "watch" }));
  const server = new grpc.Server({
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_timeout_ms": 5_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 5_000,
  });
  // Every call of every method of both services passes the one auth check first.
  const interceptors = [authInterceptor(opts.token, log.child({ component: "auth" }))];
  const registrations = new RegistrationLimiter(opts.registrationLimits ?? DEFAULT_REGISTRATION_LIMITS);
  const agents = implement(AgentService, agentServiceHandlers({ registry, log: log.child({ component: "agents" }), heartbeatIntervalMs, trust, registrations }), { interceptors });
  server.addService(agents.definition, agents.implementation);
  const store = new ResultsStore(opts.dataDir);
  // Runs a stopped coordinator left "running" become "interrupted" (resumable); a damaged tail of cases.jsonl is cut off.
  for (const p of store.recover()) log.warn({ runId: p.runId, reason: p.error.message, hint: p.error.hint }, "could not repair a run left by the last coordinator");
  const running = new Set<string>();
  const runs = runServiceHandlers({ registry, locks, store, services: opts.services, running, log: log.child({ component: "runs" }), caps: opts.caps ?? DEFAULT_MATRIX_CAPS });
  const control = implement(
    ControlService,
    { ...controlServiceHandlers({ registry, locks, hub, log: log.child({ component: "control" }), caps: opts.caps ?? DEFAULT_MATRIX_CAPS }), ...runs },
    { interceptors },
  );
  server.addService(control.definition, control.implementation);
  // A renewed certificate serves new gRPC connections, and new web connections once the web server is up.
  let onTlsReload: ((next: ServerTls) => void) | undefined;
  const listener = await listenGrpc(
    server,
    opts.listen,
    tls,
    { services: [AgentService, ControlService], onReload: (next) => onTlsReload?.(next) },
    log.child({ component: "tls" }),
  );
  const port = listener.port;
  if (tls)
    log.info(
      tls.summary,
      `TLS on: gRPC and the web page; ${tls.summary.clientCertificates ? "clients must present a certificate signed by the client CA" : "no client certificates asked"}`,
    );
  // Drop agents whose heartbeats stopped but whose connection did not (a frozen process, a cut link); not for the coordinator's own stalls.
  const sweep = startHeartbeatSweep({
    links: () => registry.list(),
    drop: (link, reason) => {
      link.onClosed(reason);
      registry.remove(link);
      link.end();
    },
    heartbeatIntervalMs,
    log: log.child({ component: "agents" }),
  });
  const renderReport = (run: GetRunResponse): string => {
    if (!opts.reportHtml)
      throw new NetmatrixError("not-found", `this coordinator serves no HTML reports; render it with \`netmatrix report ${run.info?.runId ?? "RUN_ID"} --output html\``);
    return opts.reportHtml(run);
  };
  const web = opts.http
    ? await startWebServer(opts.http, {
        hub,
        token: opts.token,
        log: log.child({ component: "web" }),
        ...(tls ? { tls: webServerTls(tls) } : {}),
        runs: {
          list: () => store.list(running),
          reportHtml: (id) => renderReport(store.snapshot(id, running)),
          ...(opts.reportScriptHashes ? { reportScriptHashes: opts.reportScriptHashes } : {}),
        },
      })
    : undefined;
  onTlsReload = (next) => web?.setTls?.(webServerTls(next));
  if (web) log.info({ httpPort: web.port }, `live page on port ${web.port}: open ${tls ? "https" : "http"}://HOST:${web.port}/?token=TOKEN`);
  log.info({ listen: opts.listen, port }, "coordinator listening");
  return {
    port,
    httpPort: web?.port,
    registry,
    hub,
    registrations,
    stop: async () => {
      sweep.stop();
      await web?.close();
      listener.close();
      for (const link of registry.list()) link.end();
      // Give streams a moment to close cleanly, then cut what is left.
      await Promise.race([new Promise<void>((r) => server.tryShutdown(() => r())), new Promise((r) => setTimeout(r, 1000))]);
      server.forceShutdown();
    },
  };
}
