/**
 * The scale simulator (./sim.ts) as a command: K simulated agents in this
 * process, against a running coordinator, until SIGINT or SIGTERM.
 *
 *   npm run -s build:dev && node dist-dev/test/harness/sim-cli.js \
 *     --coordinator 127.0.0.1:7400 --token-file TOKEN --agents 5000 \
 *     [--pods-per-node 2] [--streams-per-channel 100] [--addressing loopback|declared] \
 *     [--rate 0] [--zones 3] [--veths 4] [--batch-ms 0] [--stats-every 5] [--register-timeout 300]
 *
 * The token comes from --token-file, else $NETMATRIX_TOKEN. With
 * `--addressing declared` the coordinator must run with
 * `--trust-declared-addresses 198.18.0.0/15`. The simulated agents run no
 * tools (commands that need one are answered with CommandFailed).
 *
 * Prints one JSON object per line on stdout (bench:scale reads them):
 * `{"event":"started",…}`, `{"event":"registered","ms":…}` once all K are
 * registered, `{"event":"stats",…}` every --stats-every seconds (with this
 * process's CPU seconds, RSS and event-loop delay since the previous line),
 * and `{"event":"closed",…}` at the end;
 * `{"event":"error","message":…}` when registration fails (refused, or not
 * all within --register-timeout; exit code 1 when refused).
 */
import { readFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { startSimulator, type SimOptions } from "./sim.js";

const { values } = parseArgs({
  options: {
    coordinator: { type: "string" },
    "token-file": { type: "string" },
    agents: { type: "string", default: "1000" },
    "pods-per-node": { type: "string", default: "2" },
    "streams-per-channel": { type: "string", default: "100" },
    addressing: { type: "string", default: "loopback" },
    rate: { type: "string", default: "0" },
    zones: { type: "string", default: "3" },
    veths: { type: "string", default: "4" },
    "batch-ms": { type: "string", default: "0" },
    "stats-every": { type: "string", default: "5" },
    "register-timeout": { type: "string", default: "300" },
  },
});

function fail(message: string): never {
  process.stderr.write(`sim: ${message}\n`);
  process.exit(2);
}

function num(name: keyof typeof values, min: number): number {
  const v = Number(values[name]);
  if (!Number.isFinite(v) || v < min) fail(`--${name} must be a number ≥ ${min}, not ${String(values[name])}`);
  return v;
}

const out = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

const coordinator = values.coordinator ?? fail("--coordinator HOST:PORT is required");
const token = values["token-file"]
  ? readFileSync(values["token-file"], "utf8").trim()
  : (process.env.NETMATRIX_TOKEN?.trim() ?? fail("give --token-file FILE or $NETMATRIX_TOKEN"));
const addressing = values.addressing === "declared" || values.addressing === "loopback" ? values.addressing : fail("--addressing is loopback or declared");
const opts: SimOptions = {
  coordinator,
  token,
  agents: num("agents", 1),
  podsPerNode: num("pods-per-node", 0),
  streamsPerChannel: num("streams-per-channel", 1),
  addressing,
  ratePerS: num("rate", 0),
  zones: num("zones", 1),
  veths: num("veths", 0),
  batchMs: num("batch-ms", 0),
};

const cpuS = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
// How late this process's timers run (samples and heartbeats are due on them): a simulator that cannot keep up shows here.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const sim = startSimulator(opts);
out({ event: "started", pid: process.pid, agents: opts.agents, nodes: sim.nodes.length, firstNode: sim.nodes[0], streamsPerChannel: opts.streamsPerChannel });
const statsTimer = setInterval(
  () => {
    // Event-loop delay since the previous line, ms.
    const loopDelayP99Ms = loopDelay.percentile(99) / 1e6;
    const loopDelayMaxMs = loopDelay.max / 1e6;
    loopDelay.reset();
    out({ event: "stats", cpuS: cpuS(), rssBytes: process.memoryUsage.rss(), loopDelayP99Ms, loopDelayMaxMs, ...sim.stats() });
  },
  num("stats-every", 0.1) * 1000,
);
sim.allRegistered(num("register-timeout", 1) * 1000).then(
  (ms) => out({ event: "registered", ms, cpuS: cpuS(), ...sim.stats() }),
  (err: Error) => {
    out({ event: "error", message: err.message, ...sim.stats() });
    if (sim.stats().refused > 0) void shutdown("refused", 1);
  },
);

let stopping = false;
async function shutdown(why: string, code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(statsTimer);
  const stats = sim.stats();
  await sim.close();
  out({ event: "closed", why, cpuS: cpuS(), rssBytes: process.memoryUsage.rss(), ...stats });
  process.exit(code);
}
process.once("SIGINT", () => void shutdown("SIGINT", 0));
process.once("SIGTERM", () => void shutdown("SIGTERM", 0));
