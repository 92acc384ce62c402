/**
 * TLS and identity end to end on 127.0.0.1, with real certificates (openssl)
 * and the real processes built from this checkout: agents verify the
 * coordinator and register over TLS, a case runs iperf3 between two of them,
 * the CLI and the web page use the same certificate; a plaintext client is
 * refused with the fix; an agent given --ca never hands its token to an
 * impostor with a certificate from another CA; under mTLS an agent without a
 * client certificate is refused, and --tls-server-name verifies a certificate
 * that does not name the address dialled.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createCa, type KeyPair, type TestCa } from "./harness/certs.js";
import { startFakeCoordinator } from "./harness/fake-coordinator.js";
import { startAgentProc, startCoordinatorProc, writeToken, type CoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, spawnNetmatrix, stopAll } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const slot = testSlot();
let dir: string;
let ca: TestCa;
let other: TestCa;
let server: KeyPair;
let named: KeyPair;
let agentCert: KeyPair;
let cliCert: KeyPair;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-tls-e2e-"));
  [ca, other] = await Promise.all([createCa(dir, "netmatrix"), createCa(dir, "impostor")]);
  [server, named, agentCert, cliCert] = await Promise.all([
    ca.issue("coordinator", { dns: ["localhost"], ips: ["127.0.0.1"] }),
    ca.issue("coordinator-named", { dns: ["netmatrix-coordinator.netmatrix.svc"] }),
    ca.issue("agent", { client: true }),
    ca.issue("cli", { client: true }),
  ]);
}, 60_000);

afterAll(async () => {
  await stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** GET https://127.0.0.1:PORT/PATH trusting `caFile`: status, set-cookie and the certificate the server presented. */
function httpsGet(port: number, path: string, caFile: string): Promise<{ status: number; cookie: string; cert: X509Certificate }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: "127.0.0.1", port, path, ca: readFileSync(caFile), timeout: 5000 }, (res) => {
      const cert = (res.socket as TLSSocket).getPeerX509Certificate();
      res.resume();
      res.on("end", () => (cert ? resolve({ status: res.statusCode ?? 0, cookie: String(res.headers["set-cookie"] ?? ""), cert }) : reject(new Error("no peer certificate"))));
    });
    req.on("error", reject);
    req.end();
  });
}

/** GET http://127.0.0.1:PORT/ in plaintext: the status, or the error it failed with. */
function httpGet(port: number): Promise<number | Error> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: "127.0.0.1", port, path: "/", timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", (err) => resolve(err));
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

describe("a coordinator with TLS", () => {
  let coord: CoordinatorProc;
  let addr: string;
  let tlsArgs: string[];

  beforeAll(async () => {
    coord = await startCoordinatorProc({ dataDir: join(dir, "coord"), args: ["--tls-cert", server.cert, "--tls-key", server.key] });
    addr = `127.0.0.1:${coord.port}`;
    tlsArgs = ["--coordinator", addr, "--token-file", coord.tokenFile, "--ca", ca.cert];
    const common = { coordinator: addr, tokenFile: coord.tokenFile, address: "127.0.0.1" };
    // One agent takes --ca, the other NETMATRIX_CA, as the chart sets it.
    await startAgentProc({ ...common, node: "node-a", portRange: slot.portRange(0, 100), args: ["--ca", ca.cert] });
    await startAgentProc({ ...common, node: "node-b", portRange: slot.portRange(100, 100), env: { NETMATRIX_CA: ca.cert } });
  }, 60_000);

  test("agents verify it and register; the CLI lists them and runs iperf3 between them", async () => {
    const agents = await runNetmatrix(["agents", ...tlsArgs, "--output", "json"]);
    expect(agents.code, agents.stderr).toBe(0);
    expect((JSON.parse(agents.stdout) as { agents: { id: string }[] }).agents.map((a) => a.id).sort()).toEqual(["node-a/host", "node-b/host"]);
    const run = await runNetmatrix(["run", ...tlsArgs, "--client", "node-a", "--server", "node-b", "--tool", "iperf3", "--duration", "1", "--output", "json"]);
    expect(run.code, run.stderr).toBe(0);
    const rep = (JSON.parse(run.stdout) as { cases: { repetitions: { measurement?: { throughputBps: number } }[] }[] }).cases[0]!.repetitions[0]!;
    expect(rep.measurement?.throughputBps).toBeGreaterThan(1e8);
  });

  test("a plaintext CLI is refused with what to do, and exits 2", async () => {
    const res = await runNetmatrix(["agents", "--coordinator", addr, "--token-file", coord.tokenFile]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("this coordinator requires TLS and the client connected in plaintext");
    expect(res.stderr).toContain("hint: pass --ca FILE (env NETMATRIX_CA)");
    expect(coord.proc.stderr).toContain("plaintext client refused: this coordinator requires TLS");
  });

  test("a CLI trusting another CA is refused before sending anything", async () => {
    const res = await runNetmatrix(["agents", "--coordinator", addr, "--token-file", coord.tokenFile, "--ca", other.cert]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/hint: the coordinator's certificate did not verify against --ca/);
  });

  test("the web page is served over HTTPS with the coordinator's certificate; plain HTTP gets no page", async () => {
    const token = readFileSync(coord.tokenFile, "utf8").trim();
    const got = await httpsGet(coord.httpPort, `/?token=${token}`, ca.cert);
    // Signed in: the token goes into a cookie that only ever travels over TLS.
    expect(got.status).toBe(303);
    expect(got.cookie).toMatch(/HttpOnly; SameSite=Strict; Path=\/; Secure/);
    expect(got.cert.fingerprint256).toBe(new X509Certificate(readFileSync(server.cert)).fingerprint256);
    const plain = await httpGet(coord.httpPort);
    expect(plain === 200, `plain HTTP answered ${String(plain)}`).toBe(false);
  });
});

describe("an impostor coordinator with a certificate from another CA", () => {
  test("an agent given --ca never sends it the token; trusting the impostor's CA, the same agent would", async () => {
    const tokenFile = writeToken(join(dir, "impostor"));
    const token = readFileSync(tokenFile, "utf8").trim();
    const fake = await startFakeCoordinator(await other.issue("impostor-server", { dns: ["localhost"], ips: ["127.0.0.1"] }));
    try {
      const agent = { coordinator: `127.0.0.1:${fake.port}`, tokenFile, address: "127.0.0.1", waitRegistered: false } as const;
      const verifying = await startAgentProc({ ...agent, node: "node-v", portRange: slot.portRange(200, 50), args: ["--ca", ca.cert] });
      // Several attempts (backoff 0.5 s, doubling), each refused at the handshake.
      await expect.poll(() => (verifying.stderr.match(/"msg":"session error"/g) ?? []).length, { timeout: 20_000 }).toBeGreaterThanOrEqual(3);
      expect(verifying.stderr).toMatch(/"reason":"cannot reach the coordinator at 127\.0\.0\.1:\d+: [^"]*unable to verify the first certificate/);
      expect(fake.tokens).toEqual([]);
      await verifying.stop();
      // The control: the recorder does record a token that reaches it.
      const trusting = await startAgentProc({ ...agent, node: "node-t", portRange: slot.portRange(250, 50), args: ["--ca", other.cert] });
      await expect.poll(() => fake.tokens, { timeout: 15_000 }).toContain(`Bearer ${token}`);
      await trusting.stop();
    } finally {
      fake.close();
    }
  }, 60_000);
});

describe("mTLS, and a certificate that names another host", () => {
  let coord: CoordinatorProc;
  let base: string[];
  const serverName = ["--tls-server-name", "netmatrix-coordinator.netmatrix.svc"];

  beforeAll(async () => {
    coord = await startCoordinatorProc({ dataDir: join(dir, "coord-mtls"), args: ["--tls-cert", named.cert, "--tls-key", named.key, "--client-ca", ca.cert] });
    base = ["--coordinator", `127.0.0.1:${coord.port}`, "--token-file", coord.tokenFile, "--ca", ca.cert];
  }, 60_000);

  test("an agent with a client certificate registers (env, as the chart sets it); one without is refused and told why", async () => {
    const common = { coordinator: `127.0.0.1:${coord.port}`, tokenFile: coord.tokenFile, address: "127.0.0.1" };
    await startAgentProc({
      ...common,
      node: "node-m",
      portRange: slot.portRange(300, 50),
      env: { NETMATRIX_CA: ca.cert, NETMATRIX_TLS_CERT: agentCert.cert, NETMATRIX_TLS_KEY: agentCert.key, NETMATRIX_TLS_SERVER_NAME: "netmatrix-coordinator.netmatrix.svc" },
    });
    const without = await startAgentProc({ ...common, node: "node-x", portRange: slot.portRange(350, 50), waitRegistered: false, args: ["--ca", ca.cert, ...serverName] });
    await without.waitFor(/"msg":"coordinator refused this agent: this coordinator requires a client certificate and none was presented"/, 20_000);
    expect(without.stderr).toContain("pass --tls-cert and --tls-key");
    expect(coord.proc.stderr).toContain('"msg":"client presented no certificate"');
    const list = await runNetmatrix(["agents", ...base, ...serverName, "--tls-cert", cliCert.cert, "--tls-key", cliCert.key, "--output", "json"]);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { agents: { id: string }[] }).agents.map((a) => a.id)).toEqual(["node-m/host"]);
    await without.stop();
  }, 60_000);

  test("a CLI without a client certificate is refused with the flags to add", async () => {
    const res = await runNetmatrix(["agents", ...base, ...serverName]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("this coordinator requires a client certificate and none was presented");
    expect(res.stderr).toContain("hint: pass --tls-cert and --tls-key");
  });

  test("dialling an address the certificate does not name fails with the hint; --tls-server-name fixes it", async () => {
    const res = await runNetmatrix(["agents", ...base, "--tls-cert", cliCert.cert, "--tls-key", cliCert.key]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/hint: the coordinator's certificate does not name the host dialled: .*--tls-server-name NAME/);
  });
});

describe("flags", () => {
  test.each([
    ["coordinator --tls-cert without --tls-key", ["coordinator", "--listen", "127.0.0.1:0", "--http", "off", "--tls-cert", "CERT"], /--tls-key is missing/],
    [
      "coordinator --client-ca without a certificate",
      ["coordinator", "--listen", "127.0.0.1:0", "--http", "off", "--client-ca", "CA"],
      /--client-ca needs --tls-cert and --tls-key/,
    ],
    ["a key that is not the certificate's", ["coordinator", "--listen", "127.0.0.1:0", "--http", "off", "--tls-cert", "CERT", "--tls-key", "OTHERKEY"], /it is not the key of/],
    ["agents --ca with a missing file", ["agents", "--token-file", "CERT", "--ca", "/nonexistent/ca.crt"], /coordinator CA \/nonexistent\/ca\.crt: cannot read it/],
  ])("%s: exits 2 naming the problem", async (_what, args, message) => {
    const resolved = args.map((a) => (a === "CERT" ? server.cert : a === "OTHERKEY" ? agentCert.key : a === "CA" ? ca.cert : a));
    const p = spawnNetmatrix([...resolved, ...(args[0] === "coordinator" ? ["--data-dir", join(dir, "flags")] : [])]);
    const code = await p.exited;
    expect(code).toBe(2);
    expect(p.stderr).toMatch(message);
  });
});
