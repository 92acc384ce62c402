/**
 * A tiny runner that samples like the agent does: a {@link SamplerSet} every
 * `--interval-ms` (default 100 ms, 10 Hz) for `--seconds`, then one JSON line
 * with what it saw. Used by bench/sampler.ts to measure the sampler's CPU in
 * its own process:
 *
 *   ip netns exec NS node dist/agent/src/samplers/loop.js --seconds 12
 *
 * Options: --seconds N (default 10), --interval-ms N, --net-dev PATH,
 * --include LIST, --exclude LIST, --pid N (repeatable; own pid always
 * watched), --print (one JSON line per sample).
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createSamplerSet, type NodeSample } from "./index.js";

/** What the runner prints when it ends. */
export interface LoopSummary {
  /** Samples that produced rates (the priming read excluded). */
  samples: number;
  /** Configured interval, ms. */
  intervalMs: number;
  /** Mean receive/transmit rate per interface over the run, bits/s. */
  interfaces: { name: string; rxBps: number; txBps: number }[];
  /** This process's CPU over the sampling run (startup excluded), ms. */
  cpuMs: number;
  /** Wall time of the sampling run, ms. */
  wallMs: number;
}

/** Sample for `--seconds` and resolve with the summary (also written as one JSON line, by default to stdout). */
export async function main(argv: string[] = process.argv.slice(2), write: (line: string) => void = (l) => process.stdout.write(l)): Promise<LoopSummary> {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: "string", default: "10" },
      "interval-ms": { type: "string", default: "100" },
      "net-dev": { type: "string" },
      include: { type: "string" },
      exclude: { type: "string" },
      pid: { type: "string", multiple: true, default: [] },
      print: { type: "boolean", default: false },
    },
  });
  const seconds = Number(values.seconds);
  const intervalMs = Number(values["interval-ms"]);
  if (!(seconds > 0) || !(intervalMs > 0)) throw new Error("--seconds and --interval-ms must be positive numbers");
  const pids = [process.pid, ...values.pid.map(Number).filter((p) => Number.isInteger(p) && p > 0)];
  const sampler = await createSamplerSet({
    ...(values["net-dev"] !== undefined ? { netDevPath: values["net-dev"] } : {}),
    ...(values.include !== undefined ? { include: [values.include] } : {}),
    ...(values.exclude !== undefined ? { exclude: [values.exclude] } : {}),
    pids: () => pids,
  });

  const sums = new Map<string, { rxBits: number; txBits: number }>();
  let samples = 0;
  const onSample = (s: NodeSample): void => {
    samples++;
    for (const r of s.interfaces) {
      const acc = sums.get(r.name) ?? { rxBits: 0, txBits: 0 };
      acc.rxBits += (r.rxBps * s.intervalMs) / 1000;
      acc.txBits += (r.txBps * s.intervalMs) / 1000;
      sums.set(r.name, acc);
    }
    if (values.print) write(`${JSON.stringify(s, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}\n`);
  };

  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  sampler.sample(t0);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = process.hrtime.bigint();
      const s = sampler.sample(now);
      if (s !== undefined) onSample(s);
      if (now - t0 >= BigInt(Math.round(seconds * 1e9))) {
        clearInterval(timer);
        resolve();
      }
    }, intervalMs);
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const summary: LoopSummary = {
    samples,
    intervalMs,
    interfaces: [...sums].map(([name, a]) => ({ name, rxBps: (a.rxBits * 1000) / wallMs, txBps: (a.txBits * 1000) / wallMs })),
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs,
  };
  write(`${JSON.stringify(summary)}\n`);
  return summary;
}

function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
