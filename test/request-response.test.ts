/**
 * The request/response tools end to end: a real coordinator, real agents and
 * the real CLI drive real nginx + wrk (http) and sockperf over loopback, one
 * case at a time (`netmatrix run --tool http|sockperf`).
 *
 * As root everything runs in a private network namespace, so its loopback
 * counters count this test's traffic only: wrk's bytes are held to them
 * within 5 %. One agent there runs as nobody, to show that nginx serves
 * without root. Without root those two tests skip, saying so, and the rest
 * runs on the machine's own loopback.
 */
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import schema from "../docs/run-document.schema.json" with { type: "json" };
import { addNamespace, canUseNamespaces, ip, listNamespaces, sweepNamespaces } from "../lab/src/netns.js";
import { which } from "../agent/src/tools.js";
import { startAgentProc, startCoordinatorProc, type CoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, stopAll, type SpawnOptions } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
// The run document is read as `any` below (the schema, not the type system, checks it).
const validate = ajv.compile<any>(schema);

const slot = testSlot();
const root = canUseNamespaces();
const PREFIX = slot.prefix("rr");
const NS = `${PREFIX}n`;
/** uid/gid of the unprivileged agent (nobody). */
const NOBODY = 65534;
if (!root) {
  console.warn(
    "SKIPPED in test/request-response.test.ts: the NIC comparison and the agent as nobody need root (a private network namespace, setpriv); run the suite as root, as CI does",
  );
}

let dir: string;
let coord: CoordinatorProc;
let addr: string;
/** Where the CLI runs: the namespace when root. */
const where: SpawnOptions = root ? { ns: NS } : {};
/** The agents' temporary directories: the servers' private directories are made, and removed, there. */
const tmp: Record<string, string> = {};

/** `netmatrix run … --output json`: the document and its first repetition. */
async function run(args: string[]) {
  const res = await runNetmatrix(["run", "--coordinator", addr, "--token-file", coord.tokenFile, "--output", "json", ...args], where);
  let doc: any;
  try {
    doc = JSON.parse(res.stdout);
  } catch {
    throw new Error(`run ${args.join(" ")} printed no JSON (exit ${res.code}):\n${res.stderr}`);
  }
  if (!validate(doc)) throw new Error(`schema: ${ajv.errorsText(validate.errors)}`);
  return { code: res.code, stderr: res.stderr, doc, rep: doc.cases[0].repetitions[0] };
}

/** A directory of symlinks to `tools` (and the exec guard), for an agent's PATH that lacks the others. */
function binWith(name: string, tools: string[]): string {
  const bin = join(dir, name);
  mkdirSync(bin);
  for (const t of [...tools, "timeout"]) symlinkSync(which(t, `${process.env.PATH}:/usr/sbin:/sbin`)!, join(bin, t));
  return bin;
}

/** Bytes loopback received in the namespace (its counters: every byte sent on lo is received on lo). */
async function loRxBytes(): Promise<number> {
  const [lo] = JSON.parse(await ip(["-j", "-s", "link", "show", "lo"], NS)) as { stats64: { rx: { bytes: number } } }[];
  return lo!.stats64.rx.bytes;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-rr-"));
  if (root) {
    await sweepNamespaces(PREFIX);
    await addNamespace(NS);
  }
  coord = await startCoordinatorProc({ dataDir: dir, ...where });
  addr = `127.0.0.1:${coord.port}`;
  const common = { coordinator: addr, tokenFile: coord.tokenFile, address: "127.0.0.1", ...where };
  for (const n of ["a", "b", "u"]) {
    tmp[n] = join(dir, `tmp-${n}`);
    mkdirSync(tmp[n]!);
  }
  const agents = [
    startAgentProc({ ...common, node: "rr-a", portRange: slot.portRange(800, 30), env: { TMPDIR: tmp.a } }),
    startAgentProc({ ...common, node: "rr-b", portRange: slot.portRange(830, 30), env: { TMPDIR: tmp.b } }),
    // PATHs without nginx, and without wrk: "tool missing" names the package of what is missing.
    // (Set by `env` inside the namespace: `ip netns exec` itself needs the usual PATH.)
    startAgentProc({ ...common, node: "rr-no-nginx", portRange: slot.portRange(860, 10), wrap: ["env", `PATH=${binWith("bin-no-nginx", ["wrk", "sockperf"])}`] }),
    startAgentProc({ ...common, node: "rr-no-wrk", portRange: slot.portRange(870, 10), wrap: ["env", `PATH=${binWith("bin-no-wrk", ["nginx"])}`] }),
  ];
  if (root) {
    // The agent as nobody: its own token file and temporary directory, nothing of root's (the test's directory only to pass through).
    chmodSync(dir, 0o711);
    const token = join(dir, "token-nobody");
    copyFileSync(coord.tokenFile, token);
    chownSync(token, NOBODY, NOBODY);
    chownSync(tmp.u!, NOBODY, NOBODY);
    agents.push(
      startAgentProc({
        ...common,
        tokenFile: token,
        node: "rr-u",
        portRange: slot.portRange(880, 20),
        env: { TMPDIR: tmp.u, PATH: `${process.env.PATH}:/usr/sbin` },
        wrap: ["setpriv", `--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups"],
      }),
    );
  }
  await Promise.all(agents);
}, 60_000);

afterAll(async () => {
  await stopAll();
  if (root) {
    await sweepNamespaces(PREFIX);
    expect(await listNamespaces(PREFIX)).toEqual([]);
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("http: nginx serves, wrk asks", () => {
  test("keepalive: requests/s, transfer and latency percentiles; wrk's bytes are loopback's within 5 %", async () => {
    const before = root ? await loRxBytes() : 0;
    const { code, rep, stderr } = await run(["--client", "rr-a", "--server", "rr-b", "--tool", "http", "--connections", "4", "--body", "1M", "--duration", "3"]);
    const after = root ? await loRxBytes() : 0;
    expect(rep.failure, stderr).toBeNull();
    expect(code).toBe(0);
    const m = rep.measurement;
    expect(rep.client.argv).toEqual(expect.arrayContaining(["--latency", "-c", "4", "-d", "3s", "http://127.0.0.1:" + rep.client.argv.at(-1).split(":").at(-1)]));
    expect(m.requestsPerS).toBeGreaterThan(0);
    expect(m.connectionsPerS ?? undefined).toBeUndefined();
    expect(m.latency.kind).toBe("rtt");
    expect(m.latency.p50Us).toBeLessThanOrEqual(m.latency.p99Us);
    expect(m.latency.p99Us).toBeLessThanOrEqual(m.latency.maxUs);
    // Every response is the 1 MiB body and its headers (wrk rounds its total to two decimals of its unit, and counts what it read of the last responses).
    expect(Math.abs(m.bytesReceived / m.extra.requests / (1024 * 1024) - 1)).toBeLessThan(0.01);
    // The server ran nginx with the configuration in its own directory, and that directory is gone.
    expect(rep.server.argv[0]).toMatch(/\/nginx$/);
    expect(rep.server.argv.join(" ")).toContain(`-c ${tmp.b}/netmatrix-http-`);
    expect(readdirSync(tmp.b!)).toEqual([]);
    // Sampled like every case: each end's tool CPU (nginx is one process, the guard's child, so all of its work counts).
    expect(rep.serverUsage.toolCpuPercent.mean).toBeGreaterThan(0);
    expect(rep.clientUsage.toolCpuPercent.mean).toBeGreaterThan(0);
    if (root) {
      // Loopback carried the responses (and the small requests, acks and control messages): wire ≥ payload, within 5 %.
      const wire = after - before;
      console.log(
        `http keepalive -c 4, 1 MiB bodies: ${m.requestsPerS.toFixed(0)} requests/s, wrk read ${m.bytesReceived} B, loopback carried ${wire} B (ratio ${(wire / m.bytesReceived).toFixed(4)})`,
      );
      expect(wire / m.bytesReceived).toBeGreaterThanOrEqual(1);
      expect(wire / m.bytesReceived).toBeLessThan(1.05);
    }
  }, 60_000);

  test("new-connection: a TCP connection per request, fewer requests/s than keepalive on the same path", async () => {
    const args = ["--client", "rr-a", "--server", "rr-b", "--tool", "http", "--connections", "16", "--body", "1K", "--duration", "3"];
    const keep = await run(args);
    const fresh = await run([...args, "--http-mode", "new-connection"]);
    expect(keep.rep.failure, keep.stderr).toBeNull();
    expect(fresh.rep.failure, fresh.stderr).toBeNull();
    expect(fresh.rep.client.argv).toEqual(expect.arrayContaining(["-H", "Connection: close"]));
    const k = keep.rep.measurement;
    const f = fresh.rep.measurement;
    console.log(`http -c 16, 1 KiB: keepalive ${k.requestsPerS.toFixed(0)} requests/s, new-connection ${f.connectionsPerS.toFixed(0)} connections/s`);
    expect(f.connectionsPerS).toBeGreaterThan(0);
    expect(f.connectionsPerS).toBe(f.requestsPerS);
    expect(f.requestsPerS).toBeLessThan(k.requestsPerS);
    // The single-case table says both rates.
    const table = await runNetmatrix(
      ["run", "--coordinator", addr, "--token-file", coord.tokenFile, ...args.slice(0, -2), "--duration", "1", "--http-mode", "new-connection"],
      where,
    );
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^requests\/s mean \d+/m);
    expect(table.stdout).toMatch(/^connections\/s mean \d+/m);
  }, 60_000);

  test.skipIf(!root)(
    "nginx serves for an agent that runs as nobody (no root)",
    async () => {
      const { code, rep, stderr } = await run(["--client", "rr-a", "--server", "rr-u", "--tool", "http", "--connections", "2", "--duration", "1"]);
      expect(rep.failure, stderr).toBeNull();
      expect(code).toBe(0);
      expect(rep.measurement.requestsPerS).toBeGreaterThan(0);
      expect(readdirSync(tmp.u!)).toEqual([]);
    },
    60_000,
  );

  test.each([
    ["nginx", "rr-a", "rr-no-nginx", /its server nginx is not on PATH.*"nginx-light".*apt-get install nginx-light/],
    ["wrk", "rr-no-wrk", "rr-a", /not installed/],
  ])(
    "a missing %s is a typed failure naming its Debian package",
    async (what, client, server, reason) => {
      const { code, rep } = await run(["--client", client, "--server", server, "--tool", "http", "--duration", "1"]);
      expect(code).toBe(1);
      expect(rep.measurement).toBeNull();
      expect(rep.failure.code).toBe("tool-missing");
      expect(`${rep.failure.reason} ${rep.failure.hint}`).toMatch(reason);
      if (what === "wrk") expect(rep.failure.hint).toContain("apt-get install wrk");
    },
    60_000,
  );
});

describe("sockperf: request/response latency percentiles", () => {
  test.each([
    ["tcp", ["--protocol", "tcp"]],
    ["udp", ["--protocol", "udp", "--length", "1400"]],
    ["udp under load", ["--protocol", "udp", "--rate", "5000"]],
  ])(
    "%s",
    async (_name, args) => {
      const { code, rep, stderr } = await run(["--client", "rr-a", "--server", "rr-b", "--tool", "sockperf", "--duration", "2", ...args]);
      expect(rep.failure, stderr).toBeNull();
      expect(code).toBe(0);
      const l = rep.measurement.latency;
      console.log(`sockperf ${args.join(" ")}: p50 ${l.p50Us} µs, p99 ${l.p99Us} µs, p99.9 ${l.p999Us} µs, max ${l.maxUs} µs over ${l.samples} observations`);
      expect(l.kind).toBe("rtt");
      expect(l.samples).toBeGreaterThan(0);
      expect(l.p50Us).toBeGreaterThan(0);
      expect(l.p50Us).toBeLessThanOrEqual(l.p99Us);
      expect(l.p99Us).toBeLessThanOrEqual(l.p999Us);
      expect(l.p999Us).toBeLessThanOrEqual(l.maxUs);
      expect(rep.measurement.messageRatePerS).toBeGreaterThan(0);
    },
    60_000,
  );
});
