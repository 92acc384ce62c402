/**
 * `netmatrix coordinator` and `netmatrix agent` log one colourized line per
 * record on a terminal and JSON lines otherwise; NETMATRIX_LOG_FORMAT (or
 * --log-format) forces either. The terminal is a real pseudo-terminal
 * (util-linux `script`), the processes the built CLI.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { which } from "../agent/src/tools.js";
import { NETMATRIX_BIN } from "./harness/processes.js";
import { writeToken } from "./harness/local-cluster.js";

const dir = mkdtempSync(join(tmpdir(), "nm-log-format-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Run `netmatrix ARGS` for `seconds` (then SIGTERM; long enough to start on a busy machine), in a pseudo-terminal or with stderr piped; its output. */
function run(args: string[], opts: { tty: boolean; env?: NodeJS.ProcessEnv; seconds?: number }): string {
  const cmd = ["timeout", String(opts.seconds ?? 5), process.execPath, NETMATRIX_BIN, ...args];
  const env = { ...process.env, NETMATRIX_LOG_FORMAT: undefined, ...opts.env };
  const r = opts.tty
    ? spawnSync("script", ["-qec", cmd.map(quote).join(" "), "/dev/null"], { env, encoding: "utf8", timeout: 20_000 })
    : spawnSync(cmd[0]!, cmd.slice(1), { env, encoding: "utf8", timeout: 20_000 });
  return `${r.stdout}${r.stderr}`;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[\d+m/g;
const records = (out: string): string[] =>
  out
    .replace(/\r/g, "")
    .split("\n")
    .filter((l) => l.trim());

describe.skipIf(!which("script"))("log format (needs util-linux script)", () => {
  const coordinator = (): string[] => ["coordinator", "--listen", "127.0.0.1:0", "--http", "off", "--data-dir", join(dir, "coordinator")];

  test("the coordinator on a terminal: one colourized line per record", () => {
    const lines = records(run(coordinator(), { tty: true }));
    const listening = lines.find((l) => l.includes("coordinator listening"));
    expect(listening, lines.join("\n")).toBeDefined();
    expect(listening).toMatch(ANSI);
    expect(listening!.replace(ANSI, "")).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: coordinator listening \{"listen":"127\.0\.0\.1:0","port":\d+\}$/);
    // Not one JSON line, and no record spread over several lines.
    expect(lines.every((l) => !l.startsWith("{") && /^\[\d\d:\d\d:\d\d\.\d{3}\] /.test(l.replace(ANSI, "")))).toBe(true);
  });

  test.each([
    ["piped", { tty: false }],
    ["NETMATRIX_LOG_FORMAT=json on a terminal", { tty: true, env: { NETMATRIX_LOG_FORMAT: "json" } }],
  ])("the coordinator %s: JSON lines", (_, opts) => {
    const lines = records(run(coordinator(), opts));
    expect(lines.length, lines.join("\n")).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain("coordinator listening");
  });

  test("the agent with --log-format pretty, piped: one plain line per record, with its component", () => {
    const tokenFile = writeToken(join(dir, "agent"));
    const out = run(["agent", "--coordinator", "127.0.0.1:1", "--token-file", tokenFile, "--node", "fmt", "--address", "127.0.0.1", "--metrics", "off", "--log-format", "pretty"], {
      tty: false,
      seconds: 5,
    });
    const lines = records(out);
    expect(out).not.toMatch(ANSI);
    expect(
      lines.some((l) => /^\[[\d:.]+\] INFO: \[session\] session ended; reconnecting \{"node":"fmt","mode":"host","retryInMs":\d+\}$/.test(l)),
      out,
    ).toBe(true);
    expect(lines.every((l) => l.startsWith("["))).toBe(true);
  });
});
