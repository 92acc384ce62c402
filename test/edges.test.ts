/**
 * Crash-proof edges (issue 12, item 1): a real coordinator process on
 * loopback gets hostile input on every edge — raw HTTP requests (bad targets,
 * bad percent-encoding, broken or oversized headers, hostile WebSocket
 * upgrades), broken WebSocket frames, raw gRPC calls (garbage bodies on real
 * methods, wrong tokens, unknown methods, out-of-bounds requests) — and must
 * answer each with a 4xx or a gRPC status and a reason, then go on serving,
 * as the same process. Each edge handles its own errors: the process guard
 * (which would keep a process alive through a stray throw) must never have
 * fired, so the log must not say "survived".
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WebSocket } from "ws";
import { WatchRequestSchema } from "../gen/netmatrix/v1/control_pb.js";
import { SECURITY_HEADERS, tokenCookieName } from "../coordinator/src/web/server.js";
import { startCoordinatorProc, type CoordinatorProc } from "./harness/local-cluster.js";
import { grpcFrame, grpcRaw, hostileHttpCases, httpRequest, rawHttp } from "./harness/hostile.js";
import { runNetmatrix, stopAll } from "./harness/processes.js";

const FIXTURE = "report/fixtures/runs/host-gw";

describe("every edge of a real coordinator refuses hostile input and serves on", () => {
  let dataDir: string;
  let coord: CoordinatorProc;
  let token: string;
  let pid: number;

  /** The coordinator is the same process, serves the page and the gRPC API, and no error reached the process guard. */
  async function expectServingAsBefore(): Promise<void> {
    expect(coord.proc.child.exitCode).toBeNull();
    expect(coord.proc.child.pid).toBe(pid);
    const page = await rawHttp(coord.httpPort, httpRequest("GET / HTTP/1.1", { cookie: `${tokenCookieName(coord.httpPort)}=${token}` }));
    expect(page.status).toBe(200);
    const agents = await runNetmatrix(["agents", "--coordinator", `127.0.0.1:${coord.port}`, "--token-file", coord.tokenFile]);
    expect(agents.code, agents.stderr).toBe(0);
    expect(coord.proc.stderr).not.toMatch(/survived an (uncaught exception|unhandled rejection)/);
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "nm-edges-"));
    mkdirSync(join(dataDir, "runs"));
    const runId = (JSON.parse(readFileSync(join(FIXTURE, "meta.json"), "utf8")) as { runId: string }).runId;
    cpSync(FIXTURE, join(dataDir, "runs", runId), { recursive: true });
    coord = await startCoordinatorProc({ dataDir });
    token = readFileSync(coord.tokenFile, "utf8").trim();
    pid = coord.proc.child.pid!;
  }, 60_000);

  afterAll(async () => {
    await stopAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("HTTP and WebSocket upgrades: each hostile request gets its 4xx and a plain-text reason, with the security headers", async () => {
    const cases = hostileHttpCases(token, tokenCookieName(coord.httpPort));
    const rows: string[] = [];
    for (const c of cases) {
      const res = await rawHttp(coord.httpPort, c.request);
      rows.push(`${c.name}: ${res.status} ${res.body.trim().slice(0, 90)}`);
      expect.soft(res.status, `${c.name}: ${res.body}`).toBe(c.status);
      expect.soft(res.body, c.name).toMatch(c.says);
      expect.soft(res.headers["content-type"], c.name).toMatch(/^text\/plain/);
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect.soft(res.headers[k], `${c.name}: ${k}`).toBe(v);
      expect.soft(res.headers["content-security-policy"], c.name).toMatch(/default-src 'none'/);
    }
    console.log(`${cases.length} hostile requests:\n  ${rows.join("\n  ")}`);
    await expectServingAsBefore();
  }, 60_000);

  test("WebSocket frames a browser never sends (reserved opcode, oversized message) close that socket only", async () => {
    for (const frame of [
      Buffer.from([0x83, 0x80, 1, 2, 3, 4]), // FIN + reserved opcode 3, masked, empty
      Buffer.concat([Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0x00, 0x00, 1, 2, 3, 4]), Buffer.alloc(4096)]), // announces a 1 MiB message: above maxPayload
      Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f]), // unmasked text from a client
    ]) {
      const ws = new WebSocket(`ws://127.0.0.1:${coord.httpPort}/ws?token=${token}`);
      await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
      const closed = new Promise<number>((r) => ws.once("close", (code) => r(code)));
      ws.on("error", () => undefined);
      (ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(frame);
      expect([1002, 1006, 1009]).toContain(await closed);
    }
    await expectServingAsBefore();
  }, 30_000);

  test("gRPC: garbage bodies on real methods, wrong tokens, unknown methods and out-of-bounds requests get a status", async () => {
    const watch = (init: Parameters<typeof create<typeof WatchRequestSchema>>[1]) => grpcFrame(Buffer.from(toBinary(WatchRequestSchema, create(WatchRequestSchema, init))));
    const garbage = grpcFrame(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x99]));
    const cases: { name: string; path: string; token?: string; body: Buffer; contentType?: string; code: number; says?: RegExp }[] = [
      { name: "no token, garbage", path: "/netmatrix.v1.ControlService/ListAgents", body: garbage, code: status.UNAUTHENTICATED, says: /missing token/ },
      { name: "wrong token", path: "/netmatrix.v1.ControlService/ListAgents", token: "nope", body: grpcFrame(Buffer.alloc(0)), code: status.UNAUTHENTICATED, says: /wrong token/ },
      {
        name: "garbage ListAgents",
        path: "/netmatrix.v1.ControlService/ListAgents",
        token,
        body: garbage,
        code: status.INVALID_ARGUMENT,
        says: /malformed netmatrix\.v1\.ListAgentsRequest/,
      },
      { name: "garbage GetRun", path: "/netmatrix.v1.ControlService/GetRun", token, body: garbage, code: status.INVALID_ARGUMENT, says: /malformed netmatrix\.v1\.GetRunRequest/ },
      { name: "garbage Watch", path: "/netmatrix.v1.ControlService/Watch", token, body: garbage, code: status.INVALID_ARGUMENT, says: /malformed netmatrix\.v1\.WatchRequest/ },
      { name: "garbage RunMatrix", path: "/netmatrix.v1.ControlService/RunMatrix", token, body: garbage, code: status.INVALID_ARGUMENT, says: /malformed/ },
      {
        name: "garbage agent Session",
        path: "/netmatrix.v1.AgentService/Session",
        token,
        body: garbage,
        code: status.INVALID_ARGUMENT,
        says: /malformed netmatrix\.v1\.AgentMessage/,
      },
      {
        name: "Watch every 5 ms",
        path: "/netmatrix.v1.ControlService/Watch",
        token,
        body: watch({ intervalMs: 5 }),
        code: status.INVALID_ARGUMENT,
        says: /interval 5 ms is outside 100\.\.60000/,
      },
      {
        name: "Watch with a 10 KB node pattern",
        path: "/netmatrix.v1.ControlService/Watch",
        token,
        body: watch({ node: "*a".repeat(5000) }),
        code: status.INVALID_ARGUMENT,
        says: /node pattern/,
      },
      {
        name: "Watch with 1000 interface patterns",
        path: "/netmatrix.v1.ControlService/Watch",
        token,
        body: watch({ filter: { include: Array(1000).fill("eth*") } }),
        code: status.INVALID_ARGUMENT,
        says: /include patterns/,
      },
      { name: "a frame claiming 4 GB", path: "/netmatrix.v1.AgentService/Session", token, body: Buffer.from([0, 0xff, 0xff, 0xff, 0xff]), code: status.RESOURCE_EXHAUSTED },
      { name: "unknown method", path: "/netmatrix.v1.ControlService/Nope", token, body: grpcFrame(Buffer.alloc(0)), code: status.UNIMPLEMENTED },
      { name: "unknown service", path: "/evil.Service/Run", body: garbage, code: status.UNIMPLEMENTED },
    ];
    const rows: string[] = [];
    for (const c of cases) {
      const a = await grpcRaw(coord.port, c);
      rows.push(`${c.name}: ${a.grpcStatus ?? a.error} ${a.grpcMessage.slice(0, 90)}`);
      expect.soft(a.grpcStatus, `${c.name}: ${a.grpcMessage} ${a.error ?? ""}`).toBe(c.code);
      if (c.says) expect.soft(a.grpcMessage, c.name).toMatch(c.says);
    }
    // Not gRPC at all: refused by HTTP status, no handler reached.
    const html = await grpcRaw(coord.port, { path: "/netmatrix.v1.ControlService/ListAgents", token, body: garbage, contentType: "text/html" });
    rows.push(`content-type text/html: HTTP ${html.httpStatus}`);
    expect(html.httpStatus).toBe(415);
    console.log(`gRPC edge:\n  ${rows.join("\n  ")}`);
    await expectServingAsBefore();
  }, 60_000);
});
