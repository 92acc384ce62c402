/**
 * Prometheus exposition on the agent (`/metrics`): the NIC counters as
 * `_total` counters labelled with node and interface, node CPU seconds by
 * mode, memory, and the agent process's own metrics. Values are read from
 * procfs at scrape time, never on a timer (the only timer is the event-loop
 * delay sampler, once a second).
 */
import { createServer, type Server } from "node:http";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { NetmatrixError } from "../../common/src/errors.js";
import { compileNameFilter, readMeminfo, readNetDev, readProcStat, type ProcConstants } from "./samplers/index.js";

export interface MetricsOptions {
  node: string;
  procRoot: string;
  netDevPath: string;
  constants: ProcConstants;
}

type NetKey = "rxBytes" | "txBytes" | "rxPackets" | "txPackets" | "rxDrop" | "txDrop" | "rxErrs" | "txErrs";
const NET: [NetKey, string, string][] = [
  ["rxBytes", "netmatrix_interface_receive_bytes_total", "Bytes received by the interface since boot."],
  ["txBytes", "netmatrix_interface_transmit_bytes_total", "Bytes transmitted by the interface since boot."],
  ["rxPackets", "netmatrix_interface_receive_packets_total", "Packets received since boot."],
  ["txPackets", "netmatrix_interface_transmit_packets_total", "Packets transmitted since boot."],
  ["rxDrop", "netmatrix_interface_receive_drops_total", "Received packets dropped since boot."],
  ["txDrop", "netmatrix_interface_transmit_drops_total", "Transmitted packets dropped since boot."],
  ["rxErrs", "netmatrix_interface_receive_errors_total", "Receive errors since boot."],
  ["txErrs", "netmatrix_interface_transmit_errors_total", "Transmit errors since boot."],
];

/** How often the agent's event-loop delay is sampled for `netmatrix_agent_nodejs_eventloop_lag_*`, ms. */
export const EVENT_LOOP_SAMPLE_MS = 1000;

/** A registry with netmatrix's node metrics (and the process's default metrics). */
export function metricsRegistry(o: MetricsOptions): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: o.node });
  // The event-loop delay histogram samples once a second, not prom-client's default 100 times
  // (a timer every 10 ms was two thirds of an idle agent's CPU).
  collectDefaultMetrics({ register: registry, prefix: "netmatrix_agent_", eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const all = compileNameFilter(["*"], []);
  for (const [key, name, help] of NET) {
    new Counter({
      name,
      help,
      labelNames: ["interface"],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of readNetDev(o.netDevPath, all) ?? []) this.inc({ interface: c.name }, Number(c[key]));
      },
    });
  }
  new Counter({
    name: "netmatrix_node_cpu_seconds_total",
    help: "CPU time of the node by mode, all cores, seconds since boot.",
    labelNames: ["mode"],
    registers: [registry],
    collect() {
      this.reset();
      const s = readProcStat(o.procRoot);
      if (!s) return;
      for (const [mode, jiffies] of Object.entries(s.all)) this.inc({ mode }, jiffies / o.constants.ticksPerSecond);
    },
  });
  new Gauge({
    name: "netmatrix_node_memory_bytes",
    help: "Node memory: total, available and used (total − available), bytes.",
    labelNames: ["kind"],
    registers: [registry],
    collect() {
      const m = readMeminfo(o.procRoot);
      if (!m) return;
      this.set({ kind: "total" }, m.totalBytes);
      this.set({ kind: "available" }, m.availableBytes);
      this.set({ kind: "used" }, m.usedBytes);
    },
  });
  return registry;
}

/** Serve `/metrics` on HOST:PORT; resolves with the bound port. */
export async function serveMetrics(listen: string, registry: Registry): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end("see /metrics\n");
      return;
    }
    registry
      .metrics()
      .then((body) => res.writeHead(200, { "content-type": registry.contentType }).end(body))
      .catch((err: Error) => res.writeHead(500).end(`${err.message}\n`));
  });
  const i = listen.lastIndexOf(":");
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(new NetmatrixError("unavailable", `cannot serve metrics on ${listen}: ${err.message}`, { hint: "pick another --metrics HOST:PORT, or --metrics off" })),
    );
    server.listen(Number(listen.slice(i + 1)), listen.slice(0, i) || "0.0.0.0", () => resolve());
  });
  return { port: (server.address() as { port: number }).port, server };
}
