/**
 * A real coordinator with TLS on loopback, real certificates (openssl) and
 * real grpc-js clients: a verified client works; every method of every
 * service refuses a plaintext client with the fix; every TLS failure (other
 * CA, other name, missing or foreign client certificate, plaintext server) is
 * refused before a token is sent, with a hint naming the flag; the server logs
 * refused handshakes; renewed certificate files serve new connections.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AgentService } from "../../gen/netmatrix/v1/agent_pb.js";
import { ControlService } from "../../gen/netmatrix/v1/control_pb.js";
import { createCa, type KeyPair, type TestCa } from "../../test/harness/certs.js";
import { startFakeCoordinator } from "../../test/harness/fake-coordinator.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { createClient, implement, type ServiceImpl } from "../../common/src/grpc-adapter.js";
import { fromServiceError } from "../../common/src/rpc-status.js";
import { channelSecurity, clientTls, loadServerTls, type ClientTls } from "../../common/src/tls.js";
import { bearerInterceptor } from "../../common/src/token.js";
import { startCoordinator, type RunningCoordinator } from "./coordinator.js";
import { listenGrpc } from "./listen.js";

const TOKEN = "0123456789abcdef0123456789abcdef";

let dir: string;
let ca: TestCa;
let other: TestCa;
let server: KeyPair;
let client: KeyPair;
let foreignClient: KeyPair;
let named: KeyPair;

/** A pino logger whose lines are kept for assertions. */
function capturingLog(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: "info" }, sink), lines };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-listen-"));
  [ca, other] = await Promise.all([createCa(dir, "one"), createCa(dir, "other")]);
  [server, client, foreignClient, named] = await Promise.all([
    ca.issue("server", { dns: ["localhost"], ips: ["127.0.0.1"] }),
    ca.issue("client", { client: true }),
    other.issue("foreign-client", { client: true }),
    ca.issue("named", { dns: ["coord.test"] }),
  ]);
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** listAgents through a verified or plaintext channel: "ok" or the error as the CLI reports it. */
async function listAgents(port: number, tls: ClientTls | undefined): Promise<NetmatrixError | "ok"> {
  const { credentials, channelOptions } = channelSecurity(tls);
  const c = createClient(ControlService, `127.0.0.1:${port}`, { interceptors: [bearerInterceptor(TOKEN)], credentials, channelOptions });
  try {
    await c.listAgents({}, { timeoutMs: 5000 });
    return "ok";
  } catch (err) {
    return err as NetmatrixError;
  } finally {
    c.close();
  }
}

/** One call of `method` in plaintext; what it failed with. */
async function plaintextCall(port: number, service: DescService, method: DescMethod): Promise<NetmatrixError> {
  const c = createClient(service, `127.0.0.1:${port}`, { interceptors: [bearerInterceptor(TOKEN)] }) as unknown as Record<string, (...a: unknown[]) => unknown> & { close(): void };
  const fn = c[method.localName]!;
  const opts = { timeoutMs: 5000 };
  const stream = (call: grpc.ClientReadableStream<unknown>) =>
    new Promise<NetmatrixError>((resolve) => {
      call.on("data", () => undefined);
      call.on("error", (err) => resolve(fromServiceError(err)));
      call.on("end", () => resolve(new NetmatrixError("internal", "ended without an error")));
    });
  try {
    switch (method.methodKind) {
      case "unary":
        await (fn({}, opts) as Promise<unknown>);
        break;
      case "client_streaming":
        await (fn([], opts) as Promise<unknown>);
        break;
      case "server_streaming":
        return await stream(fn({}, opts) as grpc.ClientReadableStream<unknown>);
      case "bidi_streaming":
        return await stream(fn(opts) as grpc.ClientReadableStream<unknown>);
    }
    return new NetmatrixError("internal", "succeeded");
  } catch (err) {
    return err as NetmatrixError;
  } finally {
    c.close();
  }
}

describe("a coordinator with TLS", () => {
  let coord: RunningCoordinator;
  let captured: ReturnType<typeof capturingLog>;
  beforeAll(async () => {
    captured = capturingLog();
    coord = await startCoordinator(
      { listen: "127.0.0.1:0", token: TOKEN, dataDir: join(dir, "data"), tls: { cert: server.cert, key: server.key }, heartbeatIntervalMs: 60_000 },
      captured.log,
    );
  });
  afterAll(async () => {
    await coord?.stop();
  });

  test("a client that verifies it gets through", async () => {
    expect(await listAgents(coord.port, clientTls({ ca: ca.cert }))).toBe("ok");
    expect(captured.lines.find((l) => l.msg?.toString().startsWith("TLS on"))).toMatchObject({ names: ["localhost", "127.0.0.1"], clientCertificates: false });
  });

  const rpcs = [AgentService, ControlService].flatMap((service) => service.methods.map((method) => ({ rpc: `${service.typeName}/${method.name}`, service, method })));
  test.each(rpcs)("$rpc refuses a plaintext client with the fix", async ({ service, method }) => {
    const err = await plaintextCall(coord.port, service, method);
    expect(err.code).toBe("unauthenticated");
    expect(err.message).toBe("this coordinator requires TLS and the client connected in plaintext");
    expect(err.hint).toMatch(/pass --ca FILE \(env NETMATRIX_CA\)/);
  });

  test("a certificate from another CA is refused before the call, with the hint", async () => {
    const err = await listAgents(coord.port, clientTls({ ca: other.cert }));
    expect(err).toBeInstanceOf(NetmatrixError);
    expect((err as NetmatrixError).hint).toMatch(/did not verify against --ca/);
  });
});

async function session(port: number, tls: ClientTls | undefined): Promise<NetmatrixError> {
  const { credentials, channelOptions } = channelSecurity(tls);
  const c = createClient(AgentService, `127.0.0.1:${port}`, { interceptors: [bearerInterceptor(TOKEN)], credentials, channelOptions });
  try {
    return await new Promise<NetmatrixError>((resolve) => {
      const call = c.session({ timeoutMs: 5000 });
      call.on("data", () => undefined);
      call.on("error", (err) => resolve(fromServiceError(err, `127.0.0.1:${port}`)));
      call.write({ msg: { case: "heartbeat", value: {} } });
    });
  } finally {
    c.close();
  }
}

describe("an impostor with a certificate from another CA", () => {
  test("never receives the token of a client given --ca; the same client trusting its CA would send it", async () => {
    const fake = await startFakeCoordinator(await other.issue("fake", { ips: ["127.0.0.1"] }));
    try {
      const refused = await session(fake.port, clientTls({ ca: ca.cert }));
      expect(refused.hint).toMatch(/did not verify.*sent no token/);
      expect(fake.tokens).toEqual([]);
      // The recorder does record: a client that trusts the impostor's CA hands it the token.
      await session(fake.port, clientTls({ ca: other.cert }));
      expect(fake.tokens).toEqual([`Bearer ${TOKEN}`]);
    } finally {
      fake.close();
    }
  });
});

describe("names", () => {
  test("a certificate for another name: refused with the hint; --tls-server-name fixes it", async () => {
    const { log } = capturingLog();
    const coord = await startCoordinator({ listen: "127.0.0.1:0", token: TOKEN, dataDir: join(dir, "data-named"), tls: { cert: named.cert, key: named.key } }, log);
    try {
      const err = await listAgents(coord.port, clientTls({ ca: ca.cert }));
      expect((err as NetmatrixError).hint).toMatch(/--tls-server-name NAME/);
      expect(await listAgents(coord.port, clientTls({ ca: ca.cert, tlsServerName: "coord.test" }))).toBe("ok");
    } finally {
      await coord.stop();
    }
  });
});

describe("mTLS", () => {
  let coord: RunningCoordinator;
  let captured: ReturnType<typeof capturingLog>;
  beforeAll(async () => {
    captured = capturingLog();
    coord = await startCoordinator(
      { listen: "127.0.0.1:0", token: TOKEN, dataDir: join(dir, "data-mtls"), tls: { cert: server.cert, key: server.key, clientCa: ca.cert }, heartbeatIntervalMs: 60_000 },
      captured.log,
    );
  });
  afterAll(async () => {
    await coord?.stop();
  });

  test("a client without a certificate is refused, told which flags to add, and the coordinator logs it", async () => {
    const err = await listAgents(coord.port, clientTls({ ca: ca.cert }));
    expect(err).toBeInstanceOf(NetmatrixError);
    expect((err as NetmatrixError).code).toBe("unauthenticated");
    expect((err as NetmatrixError).message).toBe("this coordinator requires a client certificate and none was presented");
    expect((err as NetmatrixError).hint).toMatch(/pass --tls-cert and --tls-key .* signed by the CA the coordinator was given as --client-ca/);
    expect(captured.lines.filter((l) => l.msg === "client presented no certificate")).toHaveLength(1);
  });

  test("a certificate from another CA is refused; the coordinator logs why", async () => {
    const err = await listAgents(coord.port, clientTls({ ca: ca.cert, tlsCert: foreignClient.cert, tlsKey: foreignClient.key }));
    expect((err as NetmatrixError).message).toMatch(/requires a client certificate signed by its client CA; the one presented is not/);
    expect(captured.lines.find((l) => l.msg === "client certificate refused")?.reason).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
  });

  test("a client certificate the client CA signed gets through", async () => {
    expect(await listAgents(coord.port, clientTls({ ca: ca.cert, tlsCert: client.cert, tlsKey: client.key }))).toBe("ok");
  });

  test("a plaintext client still gets the TLS refusal, not a reset", async () => {
    expect((await plaintextCall(coord.port, ControlService, ControlService.method.listAgents)).message).toMatch(/requires TLS/);
  });
});

describe("a TLS client of a plaintext coordinator", () => {
  test("is told the coordinator may run without TLS, and sends nothing", async () => {
    const { log } = capturingLog();
    const coord = await startCoordinator({ listen: "127.0.0.1:0", token: TOKEN, dataDir: join(dir, "data-plain") }, log);
    try {
      const err = await listAgents(coord.port, clientTls({ ca: ca.cert }));
      expect((err as NetmatrixError).hint).toMatch(/did not answer TLS/);
      expect(await listAgents(coord.port, undefined)).toBe("ok");
    } finally {
      await coord.stop();
    }
  });
});

describe("renewal", () => {
  test("new certificate files serve new connections without a restart; files that do not load keep the previous ones", async () => {
    const cert = join(dir, "live.crt");
    const key = join(dir, "live.key");
    copyFileSync(server.cert, cert);
    copyFileSync(server.key, key);
    const { log, lines } = capturingLog();
    const s = new grpc.Server();
    const stubs = Object.fromEntries(ControlService.methods.map((m) => [m.localName, () => Promise.reject(new NetmatrixError("internal", "not in this test"))]));
    const b = implement(ControlService, { ...stubs, listAgents: () => ({ agents: [] }) } as unknown as ServiceImpl<typeof ControlService>);
    s.addService(b.definition, b.implementation);
    const reloads: string[] = [];
    const l = await listenGrpc(
      s,
      "127.0.0.1:0",
      loadServerTls({ cert, key }),
      { services: [ControlService], reloadPollMs: 50, onReload: (t) => reloads.push(t.summary.subject) },
      log,
    );
    try {
      expect(await listAgents(l.port, clientTls({ ca: ca.cert }))).toBe("ok");
      // A half-written renewal: the previous certificate keeps serving.
      writeFileSync(cert, "");
      await expect.poll(() => lines.some((x) => x.msg === "TLS files changed but do not load; still serving the previous certificate"), { timeout: 5000 }).toBe(true);
      expect(await listAgents(l.port, clientTls({ ca: ca.cert }))).toBe("ok");
      // The renewal lands: a certificate from the other CA, which new clients must now trust.
      const renewed = await other.issue("renewed", { ips: ["127.0.0.1"] });
      copyFileSync(renewed.key, key);
      copyFileSync(renewed.cert, cert);
      await expect.poll(() => reloads, { timeout: 5000 }).toEqual(["CN=renewed"]);
      expect(await listAgents(l.port, clientTls({ ca: other.cert }))).toBe("ok");
      expect(await listAgents(l.port, clientTls({ ca: ca.cert }))).toBeInstanceOf(NetmatrixError);
    } finally {
      l.close();
      s.forceShutdown();
    }
  });
});
