/** `netmatrix watch`: live per-node, per-interface rates, refreshing in place. */
import { create } from "@bufbuild/protobuf";
import { Command, InvalidArgumentError, Option } from "commander";
import { WatchRequestSchema } from "../../../gen/netmatrix/v1/control_pb.js";
import { InterfaceFilterSchema } from "../../../gen/netmatrix/v1/types_pb.js";
import { connect, withConnection, type ConnectionOptions } from "../options.js";
import { renderWatch, WatchState } from "../watch-view.js";

interface WatchOptions extends ConnectionOptions {
  node?: string;
  interface?: string;
  interval: string;
  once?: boolean;
  output: "table" | "json";
}

export function watchCommand(): Command {
  return withConnection(new Command("watch"))
    .description("watch every node's NICs live (like iftop/bmon across the cluster)")
    .option("--node <glob>", "only nodes matching this glob, e.g. node-a or 'worker-*'")
    .option("--interface <globs>", "only interfaces matching these globs, comma-separated (default: all but lo)")
    .option("--interval <s>", "seconds between samples", "1")
    .option("--once", "print one snapshot and exit")
    .addOption(new Option("--output <format>", "output format").choices(["table", "json"]).default("table"))
    .action(async (opts: WatchOptions) => {
      const intervalMs = Math.round(Number(opts.interval) * 1000);
      if (!Number.isFinite(intervalMs) || intervalMs < 100 || intervalMs > 60_000) {
        throw new InvalidArgumentError(`--interval must be a number of seconds in 0.1..60, got "${opts.interval}"`);
      }
      const client = connect(opts);
      const state = new WatchState();
      const filter = create(InterfaceFilterSchema, { include: opts.interface ? opts.interface.split(",").map((s) => s.trim()) : [] });
      const req = create(WatchRequestSchema, { node: opts.node ?? "", filter, intervalMs, batched: true });
      const title = `netmatrix watch @ ${opts.coordinator}`;
      const tty = Boolean(process.stdout.isTTY) && !opts.once;
      await new Promise<void>((resolve, reject) => {
        const stream = client.watch(
          req,
          (e) => state.add(e),
          (err) => (err ? reject(err) : resolve()),
        );
        const finish = (): void => {
          clearInterval(timer);
          stream.cancel();
          if (tty) process.stdout.write("\x1b[?25h\x1b[?1049l");
          if (process.stdin.isTTY) process.stdin.setRawMode(false);
          process.stdin.pause();
          client.close();
          resolve();
        };
        let ticks = 0;
        const timer = setInterval(() => {
          ticks++;
          if (opts.once) {
            // Two intervals let every agent deliver a first sample.
            if (ticks < 2) return;
            const rows = state.snapshot();
            if (opts.output === "json")
              process.stdout.write(`${JSON.stringify({ kind: "netmatrix.watch/v1", at: new Date().toISOString(), intervalMs, interfaces: rows }, null, 2)}\n`);
            else process.stdout.write(`${renderWatch(rows, { columns: process.stdout.columns || 200, intervalMs, title, live: false })}\n`);
            return finish();
          }
          // "q to quit" only where q is read: a terminal on standard input.
          const screen = renderWatch(state.snapshot(), { columns: process.stdout.columns || 200, intervalMs, title, live: Boolean(process.stdin.isTTY) });
          process.stdout.write(tty ? `\x1b[H\x1b[2J${screen}\n` : `${screen}\n\n`);
        }, intervalMs);
        if (tty) process.stdout.write("\x1b[?1049h\x1b[?25l");
        if (process.stdin.isTTY && !opts.once) {
          process.stdin.setRawMode(true);
          process.stdin.resume();
          process.stdin.on("data", (d: Buffer) => {
            const k = d.toString();
            if (k === "q" || k === "Q" || k === "\u0003") finish();
          });
        }
        process.once("SIGINT", finish);
        process.once("SIGTERM", finish);
      });
    });
}
