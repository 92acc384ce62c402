/**
 * The exit codes README.md documents, from the real CLI (`node
 * bin/netmatrix.js`, built from this checkout) against a real coordinator and
 * agents on 127.0.0.1: 0 ok, 1 a repetition failed, 2 the command could not
 * run (usage, connection, refusal, no such run), 3 a regression, 130/143
 * interrupted — each with a message that names the problem and what to do.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startAgentProc, startCoordinatorProc, type CoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, spawnNetmatrix, stopAll } from "./harness/processes.js";
import { which } from "../agent/src/tools.js";
import { testSlot } from "./harness/slot.js";
import { EXIT } from "../cli/src/exit-codes.js";

const slot = testSlot();
const fixtures = fileURLToPath(new URL("../report/fixtures/runs/", import.meta.url));
const UNKNOWN_RUN = "20990101-000000-beef";
let dir: string;
let emptyDataDir: string;
let coord: CoordinatorProc;
let addr: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-exit-codes-"));
  emptyDataDir = join(dir, "empty-data-dir");
  mkdirSync(emptyDataDir);
  coord = await startCoordinatorProc({ dataDir: join(dir, "coordinator") });
  addr = `127.0.0.1:${coord.port}`;
  const common = { coordinator: addr, tokenFile: coord.tokenFile, address: "127.0.0.1" };
  await startAgentProc({ ...common, node: "exit-a", portRange: slot.portRange(620, 50) });
  await startAgentProc({ ...common, node: "exit-b", portRange: slot.portRange(670, 50) });
  // An agent without qperf: a qperf case from it fails, honestly.
  const bin = join(dir, "bin");
  mkdirSync(bin);
  for (const tool of ["iperf3", "iperf", "ping", "timeout"]) symlinkSync(which(tool)!, join(bin, tool));
  await startAgentProc({ ...common, node: "exit-c", portRange: slot.portRange(720, 50), env: { PATH: bin } });
}, 60_000);

afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

const conn = (): string[] => ["--coordinator", addr, "--token-file", coord.tokenFile];
/** Commands run with an empty local data dir, so `report RUN` has to ask the coordinator. */
const env = (): NodeJS.ProcessEnv => ({ NETMATRIX_DATA_DIR: emptyDataDir });

describe("exit codes", () => {
  test.each<{ what: string; args: () => string[]; code: number; says: RegExp[]; never?: RegExp }>([
    {
      what: "--duration 0",
      args: () => ["run", ...conn(), "--client", "exit-a", "--server", "exit-b", "--duration", "0"],
      code: EXIT.error,
      says: [/^netmatrix run: option '--duration <s>' argument '0' is invalid\. --duration must be an integer in 1\.\.3600\.$/m, /^\(see `netmatrix run --help`\)$/m],
    },
    {
      what: "--bitrate fast",
      args: () => ["run", ...conn(), "--client", "exit-a", "--server", "exit-b", "--bitrate", "fast"],
      code: EXIT.error,
      says: [/option '--bitrate <rate>' argument 'fast' is invalid\. invalid bitrate "fast": use a whole number of bits\/s with an optional k\/M\/G suffix, e\.g\. 100M or 1G/],
    },
    {
      what: "--output pdf",
      args: () => ["run", ...conn(), "--client", "exit-a", "--server", "exit-b", "--output", "pdf"],
      code: EXIT.error,
      says: [/option '--output <format>' argument 'pdf' is invalid\. Allowed choices are table, json, yaml, csv, markdown\./],
    },
    { what: "an unknown option", args: () => ["run", "--bogus"], code: EXIT.error, says: [/^netmatrix run: unknown option '--bogus'$/m, /netmatrix run --help/] },
    { what: "an unknown command", args: () => ["bogus"], code: EXIT.error, says: [/^netmatrix: unknown command 'bogus'$/m] },
    {
      what: "run with neither --client/--server nor --spec",
      args: () => ["run", ...conn()],
      code: EXIT.error,
      says: [/^netmatrix: give --client and --server \(one case\), or --spec FILE/m],
    },
    {
      what: "no coordinator",
      args: () => ["agents", "--coordinator", "127.0.0.1:1", "--token-file", coord.tokenFile],
      code: EXIT.error,
      says: [
        /^netmatrix: no coordinator at 127\.0\.0\.1:1: connection refused\n {2}hint: start one: `sudo netmatrix lab up` for the lab on this machine, or `netmatrix coordinator`; or point at yours with --coordinator HOST:PORT \(env NETMATRIX_COORDINATOR\)\n$/,
      ],
      never: /Resolution note|ECONNREFUSED|Last error/,
    },
    {
      what: "an unknown run id (the coordinator is up)",
      args: () => ["report", UNKNOWN_RUN, ...conn()],
      code: EXIT.error,
      says: [
        new RegExp(`^netmatrix: no run "${UNKNOWN_RUN}" in .*empty-data-dir/runs nor on the coordinator at 127\\.0\\.0\\.1:\\d+\\n {2}hint: \`netmatrix runs\` lists the run ids`),
      ],
      never: /cannot reach|no coordinator/,
    },
    {
      what: "an unknown run id (no coordinator up)",
      args: () => ["report", UNKNOWN_RUN, "--coordinator", "127.0.0.1:1", "--token-file", coord.tokenFile],
      code: EXIT.error,
      says: [
        new RegExp(
          `^netmatrix: no run "${UNKNOWN_RUN}" in .*empty-data-dir/runs, and no coordinator at 127\\.0\\.0\\.1:1: connection refused\\n {2}hint: \`netmatrix runs\` lists the run ids`,
        ),
      ],
    },
    {
      what: "a spec with several problems",
      args: () => {
        const spec = join(dir, "several.yaml");
        writeFileSync(spec, "name: several\nscenarios: [host-host, pod-pod-crss]\nduration: 0\nrepetitons: 2\n");
        return ["run", ...conn(), "--spec", spec];
      },
      code: EXIT.error,
      says: [
        /^netmatrix: .*several\.yaml: 3 problems:\n {2}.*several\.yaml:2: unknown scenario "pod-pod-crss"; did you mean "pod-pod-cross"\?.*\n {2}.*several\.yaml:3: duration 0 s is outside 1\.\.3600 s; use a value in 1\.\.3600\n {2}.*several\.yaml:4: unknown key "repetitons"; did you mean "repetitions"\?/,
      ],
    },
    {
      what: "compare --fail-on-regression finds a regression",
      args: () => ["compare", join(fixtures, "host-gw"), join(fixtures, "vxlan"), "--fail-on-regression", "3"],
      code: EXIT.regression,
      says: [/regressions above 3 %/],
    },
    {
      what: "a repetition failed (a tool missing on the client's agent)",
      args: () => ["run", ...conn(), "--client", "exit-c", "--server", "exit-a", "--tool", "qperf", "--duration", "1"],
      code: EXIT.repetitionFailed,
      says: [/nothing was measured: all 1 repetition\(s\) failed/],
    },
    {
      what: "every repetition measured",
      args: () => ["run", ...conn(), "--client", "exit-a", "--server", "exit-b", "--tool", "ping", "--count", "2", "--interval", "200"],
      code: EXIT.ok,
      says: [/exit-a\/host → exit-b\/host/],
    },
    { what: "--version", args: () => ["--version"], code: EXIT.ok, says: [/^$/] },
  ])("$what: exit $code", async ({ args, code, says, never }) => {
    const res = await runNetmatrix(args(), { env: env() });
    expect(res.code, res.stderr).toBe(code);
    for (const re of says) expect(res.stderr).toMatch(re);
    if (never) expect(res.stderr).not.toMatch(never);
  });

  test.each([
    ["SIGINT", EXIT.sigint, "Ctrl-C"],
    ["SIGTERM", EXIT.sigterm, "SIGTERM"],
  ] as const)(
    "%s during a case cancels it: exit %d, saying so",
    async (signal, code, cause) => {
      const cli = spawnNetmatrix(["run", ...conn(), "--client", "exit-a", "--server", "exit-b", "--tool", "iperf3", "--bitrate", "10M", "--duration", "30"], { env: env() });
      await cli.waitFor(/exit-a\/host → exit-b\/host/, 20_000);
      cli.child.kill(signal);
      expect(await cli.exited).toBe(code);
      expect(cli.stderr).toMatch(new RegExp(`cancelled \\(${cause}\\): 0 of 1 repetition\\(s\\) finished; a single case does not resume: run the same command again`));
      expect(cli.stderr).not.toMatch(/Cancelled on client/);
    },
    30_000,
  );
});
