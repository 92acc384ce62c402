/**
 * The RPC seam on a real coordinator on loopback: every method of every
 * service in the generated descriptors (found by listing gen/, so a new RPC
 * or a new service is covered without touching this file) refuses a call
 * without the right bearer token, whatever its kind; the typed client
 * round-trips each kind with the right one; the web server checks the same token.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { create, type DescMethod, type DescService } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AgentService } from "../../gen/netmatrix/v1/agent_pb.js";
import { NetworkMode } from "../../gen/netmatrix/v1/types_pb.js";
import { ControlService, ListRunsRequestSchema, ListRunsResponseSchema, type ListAgentsResponse } from "../../gen/netmatrix/v1/control_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { createClient, implement, type CallOptions } from "../../common/src/grpc-adapter.js";
import { AUTH_HEADER, bearerInterceptor } from "../../common/src/token.js";
import { startCoordinator, type RunningCoordinator } from "./coordinator.js";

const TOKEN = "0123456789abcdef0123456789abcdef";

const genDir = fileURLToPath(new URL("../../gen/netmatrix/v1/", import.meta.url));
const isService = (v: unknown): v is DescService => typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "service";
const modules: Record<string, unknown>[] = await Promise.all(
  readdirSync(genDir)
    .filter((f) => f.endsWith("_pb.ts"))
    .map((f) => import(pathToFileURL(join(genDir, f)).href)),
);
const rpcs = modules
  .flatMap((m) => Object.values(m).filter(isService))
  .flatMap((service) => service.methods.map((method) => ({ rpc: `${service.typeName}/${method.name}`, kind: method.methodKind, service, method })));

/** Sends `authorization: <value>` as is (a raw interceptor, not the adapter's). */
function rawHeader(value: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(AUTH_HEADER, value);
        next(metadata, listener);
      },
    });
}

const credentials = [
  { given: "no authorization header", interceptors: [], message: /^missing token$/ },
  { given: "a token without the Bearer scheme", interceptors: [rawHeader(TOKEN)], message: /^missing token$/ },
  { given: "another token of the same length", interceptors: [bearerInterceptor(TOKEN.replace(/^0/, "1"))], message: /^wrong token$/ },
  { given: "a prefix of the token", interceptors: [bearerInterceptor(TOKEN.slice(0, -1))], message: /^wrong token$/ },
  { given: "the token with a byte more", interceptors: [bearerInterceptor(`${TOKEN}0`)], message: /^wrong token$/ },
];

let dir: string;
let coord: RunningCoordinator;
let addr: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-auth-"));
  coord = await startCoordinator({ listen: "127.0.0.1:0", http: "127.0.0.1:0", token: TOKEN, dataDir: dir, heartbeatIntervalMs: 60_000 }, pino({ level: "silent" }));
  addr = `127.0.0.1:${coord.port}`;
});

afterAll(async () => {
  await coord?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Unary = (req: object, opts?: CallOptions) => Promise<unknown>;
type ClientStreaming = (reqs: Iterable<object>, opts?: CallOptions) => Promise<unknown>;
type ServerStreaming = (req: object, opts?: CallOptions) => grpc.ClientReadableStream<unknown>;
type Bidi = (opts?: CallOptions) => grpc.ClientDuplexStream<object, unknown>;

/** Call `method` once with an empty request; what the call failed with (or a "succeeded" marker). */
async function callOnce(service: DescService, method: DescMethod, interceptors: grpc.Interceptor[]): Promise<unknown> {
  const client = createClient(service, addr, { interceptors }) as Record<string, unknown> & { close(): void };
  const fn = client[method.localName];
  const opts = { timeoutMs: 5_000 };
  const streamOutcome = (call: grpc.ClientReadableStream<unknown> | grpc.ClientDuplexStream<object, unknown>) =>
    new Promise<unknown>((resolve) => {
      call.on("data", () => undefined);
      call.on("error", resolve);
      call.on("end", () => resolve("succeeded"));
    });
  try {
    switch (method.methodKind) {
      case "unary":
        return await (fn as Unary)(create(method.input), opts).then(
          () => "succeeded",
          (err: unknown) => err,
        );
      case "client_streaming":
        return await (fn as ClientStreaming)([create(method.input)], opts).then(
          () => "succeeded",
          (err: unknown) => err,
        );
      case "server_streaming":
        return await streamOutcome((fn as ServerStreaming)(create(method.input), opts));
      case "bidi_streaming":
        return await streamOutcome((fn as Bidi)(opts));
    }
  } finally {
    client.close();
  }
}

/** The gRPC status code of what a call failed with (unary calls reject with a NetmatrixError caused by it). */
function grpcError(err: unknown): Partial<grpc.ServiceError> {
  const se = err instanceof NetmatrixError ? err.cause : err;
  expect(se, `expected a gRPC error, got ${String(err)}`).toHaveProperty("code");
  return se as Partial<grpc.ServiceError>;
}

describe("every RPC in the descriptors requires the token", () => {
  test("the descriptors were found: both services, every method kind the coordinator serves", () => {
    expect(rpcs.map((r) => r.rpc)).toEqual(
      expect.arrayContaining(["netmatrix.v1.AgentService/Session", "netmatrix.v1.ControlService/ListAgents", "netmatrix.v1.ControlService/RunMatrix"]),
    );
    expect(new Set(rpcs.map((r) => r.kind))).toEqual(new Set(["unary", "server_streaming", "bidi_streaming"]));
  });

  test.each(rpcs.flatMap((r) => credentials.map((c) => ({ ...r, ...c }))))("$rpc ($kind) refuses $given", async ({ service, method, interceptors, message }) => {
    const err = grpcError(await callOnce(service, method, interceptors));
    expect(err.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(err.details).toMatch(message);
    // The hint says what to do, in the trailers (the CLI prints it).
    expect(String(err.metadata?.get("netmatrix-hint")[0])).toMatch(/token/);
  });
});

describe("the typed client with the right token", () => {
  const client = () => createClient(ControlService, addr, { interceptors: [bearerInterceptor(TOKEN)] });

  test("unary: ListRuns and ListAgents answer", async () => {
    const c = client();
    try {
      const runs = await c.listRuns({});
      expect(runs.$typeName).toBe(ListRunsResponseSchema.typeName);
      expect(runs.runs).toEqual([]);
      const { agents } = await c.listAgents({}, { timeoutMs: 5_000 });
      expect(agents).toEqual([]);
    } finally {
      c.close();
    }
  });

  test("unary: a handler's NetmatrixError arrives as one, code and message intact", async () => {
    const c = client();
    try {
      const err = await c.getRun({ runId: "no-such-run" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetmatrixError);
      expect((err as NetmatrixError).code).toBe("not-found");
    } finally {
      c.close();
    }
  });

  test("server streaming: RunCase reaches its handler, which refuses an empty request", async () => {
    const c = client();
    try {
      const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
        const call = c.runCase({ repetitions: 1 });
        call.on("data", () => reject(new Error("an empty request started a case")));
        call.on("error", resolve);
        call.on("end", () => reject(new Error("ended without an error")));
      });
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toBe("no test spec given");
    } finally {
      c.close();
    }
  });

  test("bidi streaming: an agent session registers and is listed", async () => {
    const agent = createClient(AgentService, addr, { interceptors: [bearerInterceptor(TOKEN)] });
    const control = client();
    try {
      const session = agent.session();
      const registered = new Promise<unknown>((resolve, reject) => {
        session.on("data", (m) => resolve(m.msg));
        session.on("error", reject);
      });
      session.write({
        msg: { case: "register", value: { instanceId: "i-1", info: { node: "node-auth", mode: NetworkMode.HOST, addresses: ["127.0.0.1"], portMin: 21000, portMax: 21099 } } },
      });
      expect(await registered).toMatchObject({ case: "registered", value: { heartbeatIntervalMs: 60_000 } });
      const { agents } = await control.listAgents({});
      expect(agents.map((a) => a.info?.node)).toEqual(["node-auth"]);
      session.cancel();
    } finally {
      agent.close();
      control.close();
    }
  });
});

describe("the web server checks the same token", () => {
  test.each([
    { given: "no token", query: "", status: 401 },
    { given: "a wrong token", query: `?token=${TOKEN.slice(0, -1)}x`, status: 401 },
    { given: "the token", query: `?token=${TOKEN}`, status: 200 },
  ])("/api/runs with $given answers $status", async ({ query, status }) => {
    const res = await fetch(`http://127.0.0.1:${coord.httpPort}/api/runs${query}`);
    expect(res.status).toBe(status);
    if (status === 200) expect(await res.json()).toEqual({ runs: [] });
    else expect(await res.text()).toMatch(/wrong or missing token/);
  });
});

describe("the seam is typed from the descriptors (checked by tsc over the tests)", () => {
  test("a wrong method name, request or response type does not compile", () => {
    // Never called: the @ts-expect-error lines are the assertions, for the type checker.
    const neverCalled = (): void => {
      const c = createClient(ControlService, addr);
      // @ts-expect-error: there is no RPC ListAgent
      void c.listAgent({});
      // @ts-expect-error: GetRun's run_id is a string
      void c.getRun({ runId: 1 });
      // @ts-expect-error: GetRun takes a GetRunRequest, not a ListRunsRequest
      void c.getRun(create(ListRunsRequestSchema));
      // @ts-expect-error: ListRuns answers a ListRunsResponse
      void c.listRuns({}).then((res): ListAgentsResponse => res);
      // @ts-expect-error: a misspelled handler, and Session is missing
      implement(AgentService, { sesion() {} });
      implement(ControlService, {
        // @ts-expect-error: ListRuns must answer a ListRunsResponse
        listRuns: () => create(ListRunsResponseSchema).runs,
        listAgents: () => {
          throw new Error();
        },
        runCase() {},
        watch() {},
        runMatrix() {},
        getRun: () => {
          throw new Error();
        },
      });
    };
    expect(typeof neverCalled).toBe("function");
  });
});
