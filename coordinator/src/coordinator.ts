/**
 * The coordinator process: one gRPC server carrying the agent service (agents
 * dial in) and the control service (the CLI), a registry of live agents, and
 * a sweep that drops agents whose heartbeats stopped.
 */
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { AgentService } from "../../gen/netmatrix/v1/agent_pb.js";
import { ControlService, type GetRunResponse } from "../../gen/netmatrix/v1/control_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { implement } from "../../common/src/grpc-adapter.js";
import { authInterceptor } from "../../common/src/token.js";
import { agentServiceHandlers } from "./agent-service.js";
import { controlServiceHandlers } from "./control-service.js";
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
  /** Heartbeat interval asked of agents, milliseconds (default 2000). */
  heartbeatIntervalMs?: number;
}

export interface RunningCoordinator {
  /** The port actually bound. */
  port: number;
  /** The web page's port, when serving one. */
  httpPort: number | undefined;
  registry: Registry;
  hub: WatchHub;
  stop(): Promise<void>;
}

export async function startCoordinator(opts: CoordinatorOptions, log: Logger): Promise<RunningCoordinator> {
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? 2000;
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
  const agents = implement(AgentService, agentServiceHandlers({ registry, log: log.child({ component: "agents" }), heartbeatIntervalMs }), { interceptors });
  server.addService(agents.definition, agents.implementation);
  const store = new ResultsStore(opts.dataDir);
  const running = new Set<string>();
  const runs = runServiceHandlers({ registry, locks, store, services: opts.services, running, log: log.child({ component: "runs" }) });
  const control = implement(ControlService, { ...controlServiceHandlers({ registry, locks, hub, log: log.child({ component: "control" }) }), ...runs }, { interceptors });
  server.addService(control.definition, control.implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.listen, grpc.ServerCredentials.createInsecure(), (err, p) => {
      if (err) {
        reject(
          new NetmatrixError("unavailable", `cannot listen on ${opts.listen}: ${err.message}`, {
            cause: err,
            hint: "pick another --listen HOST:PORT, or stop what holds that port",
          }),
        );
      } else resolve(p);
    });
  });
  // Drop agents whose heartbeats stopped but whose connection did not (a frozen process, a cut link).
  const sweep = setInterval(() => {
    const limit = heartbeatIntervalMs * 3 + 5_000;
    for (const link of registry.list()) {
      if (performance.now() - link.lastSeen > limit) {
        log.warn({ agentId: link.id }, "agent missed its heartbeats; dropping it");
        link.onClosed(`no heartbeat for ${Math.round(limit / 1000)} s`);
        registry.remove(link);
        link.end();
      }
    }
  }, heartbeatIntervalMs);
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
        runs: { list: () => store.list(running), reportHtml: (id) => renderReport(store.snapshot(id, running)) },
      })
    : undefined;
  if (web) log.info({ httpPort: web.port }, `live page on port ${web.port}: open http://HOST:${web.port}/?token=TOKEN`);
  log.info({ listen: opts.listen, port }, "coordinator listening");
  return {
    port,
    httpPort: web?.port,
    registry,
    hub,
    stop: async () => {
      clearInterval(sweep);
      await web?.close();
      for (const link of registry.list()) link.end();
      // Give streams a moment to close cleanly, then cut what is left.
      await Promise.race([new Promise<void>((r) => server.tryShutdown(() => r())), new Promise((r) => setTimeout(r, 1000))]);
      server.forceShutdown();
    },
  };
}
