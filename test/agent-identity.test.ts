/**
 * Traffic only between agents, and names that cannot be hijacked, over a real
 * coordinator and real agents on loopback. Fake agents speak the real
 * protocol (a typed AgentService client with the real token), as any token
 * holder could:
 *
 * - an agent declaring an address it does not connect from (192.0.2.1) is
 *   refused; one that says --behind-nat is listed as a client only, and a
 *   case with it as server is refused before any tool runs;
 * - a server answering a port outside its declared range gets a typed
 *   failure and no client run (a listener on that port sees no connection;
 *   the same listener inside the range does: the check can fail);
 * - a second live claimant of a name is refused, the first keeps working;
 *   a name whose holder is gone can be taken, and the change is logged;
 * - huge and malformed names are refused naming the field, the limit and the
 *   fix, and `netmatrix agents` keeps working for everyone;
 * - a real agent whose registration can never succeed says why and backs off.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import schema from "../docs/run-document.schema.json" with { type: "json" };
import reportSchema from "../docs/report.schema.json" with { type: "json" };
import { AgentService, type AgentMessageSchema, type CoordinatorMessage } from "../gen/netmatrix/v1/agent_pb.js";
import { AgentInfoSchema, NetworkMode, Tool } from "../gen/netmatrix/v1/types_pb.js";
import { createClient } from "../common/src/grpc-adapter.js";
import { bearerInterceptor } from "../common/src/token.js";
import { startAgentProc, startCoordinatorProc, type CoordinatorProc } from "./harness/local-cluster.js";
import { runNetmatrix, stopAll, type Proc } from "./harness/processes.js";
import { testSlot } from "./harness/slot.js";

const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validate = ajv.compile<any>(schema);

const slot = testSlot();
let dir: string;
let coord: CoordinatorProc;
let addr: string;
let token: string;
/** The real client (id-a) and server (id-b). */
let a: Proc;
let b: Proc;
const fakes: Fake[] = [];
const listeners: Server[] = [];

type InfoInit = MessageInitShape<typeof AgentInfoSchema>;
type Outcome = { registered: string } | { error: grpc.ServiceError };

interface Fake {
  outcome: Promise<Outcome>;
  /** Every command the coordinator sent it. */
  commands: CoordinatorMessage[];
  /** The port it answers StartServer with. */
  serverPort: number;
  close(): void;
}

/** An agent that is only the protocol: registers `info`, answers sampling and servers (with `serverPort`), sends heartbeats. */
function fakeAgent(info: InfoInit, instanceId = `fake-${Math.random().toString(36).slice(2)}`): Fake {
  const client = createClient(AgentService, addr, { interceptors: [bearerInterceptor(token)] });
  const call = client.session();
  const send = (msg: MessageInitShape<typeof AgentMessageSchema>["msg"]) => call.writable && call.write({ msg });
  const heartbeat = setInterval(() => send({ case: "heartbeat", value: { uptimeMs: 1 } }), 1000);
  const fake: Fake = {
    commands: [],
    serverPort: 0,
    outcome: new Promise<Outcome>((resolve) => {
      call.on("data", (m: CoordinatorMessage) => {
        fake.commands.push(m);
        const c = m.msg;
        if (c.case === "registered") resolve({ registered: c.value.agentId });
        else if (c.case === "startSampling") send({ case: "samplingStarted", value: { commandId: c.value.commandId } });
        else if (c.case === "stopSampling") send({ case: "samplingStopped", value: { commandId: c.value.commandId, samples: [] } });
        else if (c.case === "startServer") send({ case: "serverReady", value: { commandId: c.value.commandId, port: fake.serverPort, dataPort: 0 } });
        else if (c.case === "stopServer") send({ case: "serverStopped", value: { commandId: c.value.commandId } });
      });
      call.on("error", (error: grpc.ServiceError) => resolve({ error }));
      call.on("end", () => resolve({ error: Object.assign(new Error("ended"), { code: grpc.status.OK }) as grpc.ServiceError }));
    }),
    close: () => {
      clearInterval(heartbeat);
      call.cancel();
      client.close();
    },
  };
  fakes.push(fake);
  send({ case: "register", value: { instanceId, info } });
  return fake;
}

/** A registration as an agent on this machine makes it, with `over` on top. */
function info(node: string, over: Record<string, unknown> = {}): InfoInit {
  return create(AgentInfoSchema, {
    node,
    mode: NetworkMode.HOST,
    addresses: ["127.0.0.1"],
    tools: [{ tool: Tool.IPERF3, available: true, version: "3.12", path: "/usr/bin/iperf3", package: "iperf3" }],
    portMin: 1,
    portMax: 1,
    ...over,
  } as InfoInit);
}

async function refusal(fake: Fake): Promise<grpc.ServiceError> {
  const o = await fake.outcome;
  if (!("error" in o)) throw new Error(`registered as ${o.registered.slice(0, 80)}${o.registered.length > 80 ? "…" : ""}, expected a refusal`);
  return o.error;
}

const hintOf = (e: grpc.ServiceError) => String(e.metadata?.get("netmatrix-hint")[0] ?? "");

async function agentsJson(): Promise<any[]> {
  const res = await runNetmatrix(["agents", "--coordinator", addr, "--token-file", coord.tokenFile, "--output", "json"]);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout).agents;
}

/** `netmatrix run --output json` between two agents; the schema-checked document and its one repetition. */
async function run(client: string, server: string, extra: string[] = ["--tool", "iperf3", "--duration", "1"]) {
  const res = await runNetmatrix(["run", "--coordinator", addr, "--token-file", coord.tokenFile, "--output", "json", "--client", client, "--server", server, ...extra]);
  let doc: any;
  try {
    doc = JSON.parse(res.stdout);
  } catch {
    throw new Error(`run printed no JSON (exit ${res.code}):\n${res.stderr}`);
  }
  if (!validate(doc)) throw new Error(`schema: ${ajv.errorsText(validate.errors)}`);
  return { ...res, doc, rep: doc.cases[0].repetitions[0] };
}

/** The client runs agent `p` was asked for so far (its audit log line). */
const clientRuns = (p: Proc) => p.stderr.split("\n").filter((l) => l.includes('"msg":"client run"'));

/** A TCP listener on 127.0.0.1:`port` (0: any) that counts connections and closes each at once. */
async function listener(port: number): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const srv = createServer((s) => {
    n++;
    s.destroy();
  });
  listeners.push(srv);
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", resolve);
  });
  return { port: (srv.address() as { port: number }).port, connections: () => n };
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "nm-identity-"));
  coord = await startCoordinatorProc({ dataDir: dir });
  addr = `127.0.0.1:${coord.port}`;
  token = readFileSync(coord.tokenFile, "utf8").trim();
  const common = { coordinator: addr, tokenFile: coord.tokenFile, address: "127.0.0.1" };
  a = await startAgentProc({ ...common, node: "id-a", portRange: slot.portRange(700, 20) });
  b = await startAgentProc({ ...common, node: "id-b", portRange: slot.portRange(720, 20) });
}, 60_000);

afterAll(async () => {
  for (const f of fakes) f.close();
  for (const l of listeners) l.close();
  await stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("traffic only to checked agent addresses", () => {
  test("an agent declaring 192.0.2.1 from loopback is refused, naming both addresses and the ways out, and is not listed", async () => {
    const err = await refusal(fakeAgent(info("fake-far", { addresses: ["192.0.2.1"], portMin: 22, portMax: 22 })));
    expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(err.details).toBe("registration refused: the agent declares address 192.0.2.1 but connects from 127.0.0.1");
    expect(hintOf(err)).toMatch(/--address 127\.0\.0\.1.*--behind-nat.*--trust-declared-addresses 192\.0\.2\.1/);
    expect((await agentsJson()).map((x) => x.node)).not.toContain("fake-far");
    await coord.proc.waitFor(/"msg":"registration refused"/);
  });

  test("the same agent --behind-nat is a client only: a case with it as server is refused before any tool runs", async () => {
    const fake = fakeAgent(info("fake-nat", { addresses: ["192.0.2.1"], portMin: 22, portMax: 22, behindNat: true }));
    fake.serverPort = 22;
    expect(await fake.outcome).toEqual({ registered: "fake-nat/host" });
    const listed = (await agentsJson()).find((x) => x.id === "fake-nat/host");
    expect(listed).toMatchObject({ address: "192.0.2.1", addressCheck: "unverified" });
    const before = clientRuns(a).length;
    const { code, rep } = await run("id-a", "fake-nat");
    expect(code).toBe(1);
    expect(rep.measurement).toBeNull();
    expect(rep.failure.code).toBe("target-refused");
    expect(rep.failure.reason).toMatch(/agent fake-nat\/host cannot be a server: its address 192\.0\.2\.1 is unverified/);
    expect(rep.failure.hint).toMatch(/--trust-declared-addresses 192\.0\.2\.1/);
    // Nothing was started anywhere: the fake got no server command, the real client no client run.
    expect(fake.commands.map((m) => m.msg.case)).toEqual(["registered"]);
    expect(clientRuns(a).length).toBe(before);
    expect(a.stderr).not.toContain("192.0.2.1");
    fake.close();
  }, 30_000);

  test("a real agent --behind-nat registers, is never a server, and (being anywhere) is never pointed at loopback", async () => {
    const nat = await startAgentProc({ coordinator: addr, tokenFile: coord.tokenFile, node: "id-n", address: "192.0.2.2", behindNat: true, portRange: slot.portRange(740, 20) });
    await coord.proc.waitFor(/"agentId":"id-n\/host".*"msg":"agent is behind NAT: its address is unverified, so it is only ever a client"/);
    const before = clientRuns(a).length;
    const asServer = await run("id-a", "id-n");
    expect(asServer.rep.failure.code).toBe("target-refused");
    expect(clientRuns(a).length).toBe(before);
    expect(nat.stderr).not.toMatch(/"msg":"server starting"/);
    // 127.0.0.1 means "this machine" to a client: one whose machine the coordinator cannot tell (behind NAT) is not sent there.
    const asClient = await run("id-n", "id-b");
    expect(asClient.rep.failure.code).toBe("target-refused");
    expect(asClient.rep.failure.reason).toBe("agent id-b/host's address 127.0.0.1 is loopback, which would point id-n/host at its own machine");
    expect(clientRuns(nat)).toEqual([]);
    await nat.stop();
  }, 60_000);

  test("a server answering a port outside its declared range gets a typed failure and no client run; inside the range it is used", async () => {
    const range = slot.portRange(760, 10);
    const [min, max] = range.split("-").map(Number) as [number, number];
    const fake = fakeAgent(info("fake-port", { portMin: min, portMax: max }));
    expect(await fake.outcome).toEqual({ registered: "fake-port/host" });

    const outside = await listener(0);
    expect(outside.port < min || outside.port > max).toBe(true);
    fake.serverPort = outside.port;
    const before = clientRuns(a).length;
    const refused = await run("id-a", "fake-port");
    expect(refused.rep.failure.code).toBe("target-refused");
    expect(refused.rep.failure.reason).toBe(`agent fake-port/host answered port ${outside.port}, outside its declared range ${min}–${max}`);
    expect(outside.connections()).toBe(0);
    expect(clientRuns(a).length).toBe(before);
    // The server it asked for was stopped again.
    const started = fake.commands.filter((m) => m.msg.case === "startServer").map((m) => (m.msg.value as { commandId: string }).commandId);
    const stopped = fake.commands.filter((m) => m.msg.case === "stopServer").map((m) => (m.msg.value as { startCommandId: string }).startCommandId);
    expect(started).toHaveLength(1);
    expect(stopped).toEqual(started);

    // The same listener inside the range: the client does connect (so the zero above could have been one).
    const inside = await listener(min);
    fake.serverPort = inside.port;
    const used = await run("id-a", "fake-port");
    expect(used.rep.failure?.code).not.toBe("target-refused");
    expect(inside.connections()).toBeGreaterThan(0);
    expect(clientRuns(a).length).toBe(before + 1);
    expect(clientRuns(a).at(-1)).toContain(`"port":${min}`);
    fake.close();
  }, 60_000);
});

describe("names", () => {
  test("a second live claimant of a name is refused, naming the holder; the first keeps working", async () => {
    const err = await refusal(fakeAgent(info("id-b", { portMin: 21000, portMax: 21001 })));
    expect(err.code).toBe(grpc.status.ALREADY_EXISTS);
    expect(err.details).toMatch(/^agent name "id-b\/host" is held by another live agent, connected from 127\.0\.0\.1 since \d{4}-/);
    expect(hintOf(err)).toMatch(/give this agent its own --node/);
    const listed = (await agentsJson()).filter((x) => x.node === "id-b");
    expect(listed.map((x) => x.id)).toEqual(["id-b/host"]);
    const { rep } = await run("id-a", "id-b");
    expect(rep.failure).toBeNull();
    expect(rep.measurement.throughputBps).toBeGreaterThan(0);
    expect(b.stderr).not.toMatch(/session ended/);
  }, 30_000);

  test("a name whose holder is gone is taken by a new agent, and the change is logged", async () => {
    const first = fakeAgent(info("id-x"), "instance-x1");
    expect(await first.outcome).toEqual({ registered: "id-x/host" });
    first.close();
    await until("id-x to leave", async () => !(await agentsJson()).some((x) => x.id === "id-x/host"));
    const second = fakeAgent(info("id-x"), "instance-x2");
    expect(await second.outcome).toEqual({ registered: "id-x/host" });
    await coord.proc.waitFor(/"agentId":"id-x\/host".*"msg":"name id-x\/host was last held by another agent process at 127\.0\.0\.1; now at 127\.0\.0\.1"/);
    second.close();
  });

  test("an agent process that comes back under another name is logged", async () => {
    const first = fakeAgent(info("id-y1"), "instance-y");
    expect(await first.outcome).toEqual({ registered: "id-y1/host" });
    first.close();
    await until("id-y1 to leave", async () => !(await agentsJson()).some((x) => x.id === "id-y1/host"));
    const again = fakeAgent(info("id-y2"), "instance-y");
    expect(await again.outcome).toEqual({ registered: "id-y2/host" });
    await coord.proc.waitFor(/"msg":"the agent process registered as id-y1\/host \(127\.0\.0\.1\) now registers as id-y2\/host \(127\.0\.0\.1\)"/);
    again.close();
  });

  test.each([
    ["a 3.9 MB node name", info("n".repeat(3_900_000)), /^registration refused: node is 3900000 characters, above the limit of 253$/, /--node \(env NETMATRIX_NODE\)/],
    [
      "a pod name with markup",
      info("id-p", { mode: NetworkMode.POD, pod: "<img src=x onerror=alert(1)>" }),
      /^registration refused: pod "<img src=x onerror=alert\(1\)>" is not a DNS-1123 subdomain/,
      /--pod/,
    ],
    [
      "a 16-character interface name",
      info("id-i", { interfaces: [{ name: "x".repeat(16), mtu: 1500 }] }),
      /^registration refused: interfaces\[0\]\.name "x{16}" is 16 characters, above Linux's limit of 15$/,
      /rename the interface/,
    ],
    ["2000 interfaces", info("id-j", { interfaces: Array.from({ length: 2000 }, () => ({ name: "eth0" })) }), /interfaces has 2000 entries, above the limit of 1024/, /./],
    ["no port range", info("id-k", { portMin: 0, portMax: 0 }), /port_min\/port_max 0–0 is not a port range within 1–65535/, /--port-range/],
    [
      "a node label out of Kubernetes' syntax",
      info("id-l", { labels: { "topology.kubernetes.io/zone": "eu west 1" } }),
      /^registration refused: labels\["topology\.kubernetes\.io\/zone"\] value "eu west 1" is not a label value/,
      /--label KEY=VALUE \(env NETMATRIX_NODE_LABELS\)/,
    ],
    [
      "33 node labels",
      info("id-m", { labels: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, "v"])) }),
      /^registration refused: labels has 33 entries, above the limit of 32$/,
      /--label/,
    ],
    [
      "an environment fingerprint of 10,000 interfaces",
      info("id-fp", { fingerprint: { interfaces: Array.from({ length: 10_000 }, () => ({ name: "eth0", mtu: 1500 })) } }),
      /^registration refused: fingerprint\.interfaces has 10000 entries, above the limit of 64$/,
      /run a netmatrix agent of the coordinator's version/,
    ],
    [
      "a fingerprint with a 1 MB kernel and markup for an offload",
      info("id-fq", { fingerprint: { kernel: "k".repeat(1_000_000), interfaces: [{ name: "eth0", offloads: { "<b>gro</b>": true } }] } }),
      /^registration refused: fingerprint\.kernel is 1000000 characters, above the limit of 256; fingerprint\.interfaces\[0\]\.offloads "<b>gro<\/b>" is not an ethtool feature name$/,
      /run a netmatrix agent/,
    ],
  ])("%s is refused naming the field, the limit and the fix", async (_what, registration, message, hint) => {
    const err = await refusal(fakeAgent(registration));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(message);
    expect(err.details.length).toBeLessThan(400);
    expect(hintOf(err)).toMatch(hint);
  });

  test("after all of that, `netmatrix agents` works for everyone and lists only real names", async () => {
    const agents = await agentsJson();
    expect(agents.map((x) => x.id)).toEqual(expect.arrayContaining(["id-a/host", "id-b/host"]));
    for (const x of agents) expect(x.node.length).toBeLessThanOrEqual(253);
    const table = await runNetmatrix(["agents", "--coordinator", addr, "--token-file", coord.tokenFile]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/id-a\/host/);
    expect(coord.proc.child.exitCode).toBeNull();
  });
});

describe("a real agent whose registration cannot succeed", () => {
  test("a bad --node stops the agent at start-up, naming the flag", async () => {
    const res = await runNetmatrix(["agent", "--coordinator", addr, "--token-file", coord.tokenFile, "--node", "bad_name", "--address", "127.0.0.1", "--metrics", "off"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--node \(env NETMATRIX_NODE; default: the host name\) "bad_name" is not a DNS-1123 subdomain/);
  });

  test("a bad --label (or NETMATRIX_NODE_LABELS) stops the agent at start-up, naming the label and the syntax", async () => {
    const res = await runNetmatrix([
      "agent",
      "--coordinator",
      addr,
      "--token-file",
      coord.tokenFile,
      "--node",
      "id-lab",
      "--address",
      "127.0.0.1",
      "--metrics",
      "off",
      "--label",
      "zone=eu west",
    ]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--label \(env NETMATRIX_NODE_LABELS\): labels\["zone"\] value "eu west" is not a label value/);
    expect(res.stderr).toMatch(/Kubernetes label syntax/);
    const env = await runNetmatrix(["agent", "--coordinator", addr, "--token-file", coord.tokenFile, "--node", "id-lab", "--address", "127.0.0.1", "--metrics", "off"], {
      env: { NETMATRIX_NODE_LABELS: "zone=a,zone=b" },
    });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/label "zone" is given twice/);
  });

  test("a real agent's --label flags reach the coordinator and the run's report", async () => {
    const p = await startAgentProc({
      coordinator: addr,
      tokenFile: coord.tokenFile,
      node: "id-labelled",
      address: "127.0.0.1",
      portRange: slot.portRange(790, 10),
      args: ["--label", "topology.kubernetes.io/zone=eu-1a", "--label", "rack=r7,row=2"],
    });
    // A matrix run keeps the agents' inventory with the run; its report shows each agent's labels.
    const spec = join(dir, "labels.yaml");
    writeFileSync(spec, "name: labels\nscenarios: [host-host]\ntools: [iperf3]\nprotocols: [tcp]\nduration: 1\nomit: 0\nrepetitions: 1\npairs: { nodes: [id-a, id-labelled] }\n");
    const res = await runNetmatrix(["run", "--spec", spec, "--coordinator", addr, "--token-file", coord.tokenFile, "--output", "json"]);
    expect(res.code, res.stderr).toBe(0);
    const doc = JSON.parse(res.stdout);
    const validateReport = ajv.compile<any>(reportSchema);
    if (!validateReport(doc)) throw new Error(`schema: ${ajv.errorsText(validateReport.errors)}`);
    const agentsOf = (node: string) => doc.agents.filter((x: { node: string }) => x.node === node);
    expect(agentsOf("id-labelled").map((x: { labels?: unknown }) => x.labels)).toEqual([{ "topology.kubernetes.io/zone": "eu-1a", rack: "r7", row: "2" }]);
    expect(agentsOf("id-a").map((x: { labels?: unknown }) => x.labels)).toEqual([undefined]);
    // And its environment fingerprint, taken at registration, is kept with the run (inventory.json) and reported.
    const fp = agentsOf("id-labelled")[0].fingerprint;
    expect(fp.kernel).toMatch(/^\d+\.\d+/);
    expect(fp.interfaces.map((i: { name: string }) => i.name)).toContain("lo");
    await p.stop();
  }, 30_000);

  test("an agent refused by the coordinator says why and backs off instead of retrying at once", async () => {
    const refusedLines = () => coord.proc.stderr.split("\n").filter((l) => l.includes('"msg":"registration refused"') && l.includes("192.0.2.77")).length;
    const p = await startAgentProc({
      coordinator: addr,
      tokenFile: coord.tokenFile,
      node: "id-r",
      address: "192.0.2.77",
      portRange: slot.portRange(780, 10),
      waitRegistered: false,
    });
    await p.waitFor(/coordinator refused this agent's registration: registration refused: the agent declares address 192\.0\.2\.77 but connects from 127\.0\.0\.1/);
    await p.waitFor(/"msg":"registration refused: retrying in \d+ s; fix what the error above says"/);
    // The usual backoff would retry within 0.25–0.5 s, and again and again; a refused one waits a minute.
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3000);
    expect(refusedLines()).toBe(1);
    expect((await agentsJson()).map((x) => x.id)).not.toContain("id-r/host");
    await p.stop();
  }, 30_000);
});
