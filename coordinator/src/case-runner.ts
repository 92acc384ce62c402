/**
 * Runs one case between two agents: for each repetition, server ready →
 * client run → server stop, each step with a deadline. The client's target is
 * always the server agent's registered address. Whatever goes wrong ends the
 * repetition as a typed failure with a reason, never as a number.
 */
import { create } from "@bufbuild/protobuf";
import type { Logger } from "pino";
import { CaseResultSchema, RepetitionSchema, type CaseResult, type Repetition } from "../../gen/netmatrix/v1/control_pb.js";
import { FailureSchema, type Failure, type Measurement, type NodeSample, type TestSpec, type ToolRun } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { directions, failures, familyName, REPETITION_FLAGS, type FailureName } from "../../common/src/model.js";
import { driverOfWire, drivers, toolName, type ToolName } from "../../tools/src/index.js";
import { STEP_MARGIN_MS, stepDeadlines, type StepDeadlines } from "../../tools/src/limits.js";
import { portProblem, serverProblem, targetAddress, targetProblem } from "./address-check.js";
import type { AgentLink, Reply } from "./agent-link.js";
import { agentStatus } from "./status.js";
import type { ExposedService } from "../../common/src/service-provider.js";
import { cpuPerGbps, endCpu, summarizeUsage, wireToPayload } from "./usage.js";
import { cpuBoundReasons, cpuBoundText } from "../../common/src/busy.js";

/** Extra time beyond the measurement a step may take: connect, slow start, report, milliseconds (the deadlines come from `stepDeadlines`). */
export { STEP_MARGIN_MS } from "../../tools/src/limits.js";

let caseCounter = 0;

export interface CaseRequest {
  client: AgentLink;
  server: AgentLink;
  spec: TestSpec;
  repetitions: number;
  /** Sampling interval on both ends while the client runs, ms (default 100). */
  sampleIntervalMs?: number;
  /**
   * Put a service in front of the server once its ports are known (pod-service,
   * external-nodeport); the client then targets the service. Released after the client ran.
   */
  expose?: (port: number, dataPort: number) => Promise<ExposedService>;
}

function failure(code: FailureName, reason: string, hint = ""): Failure {
  return create(FailureSchema, { code: failures.toEnum(code, "failure"), reason, hint });
}

/** The failure for an error from a request to an agent (gone, deadline). */
function requestFailure(err: unknown): Failure {
  const e = NetmatrixError.from(err);
  if (e.code === "deadline-exceeded") return failure("timeout", e.message);
  if (e.code === "unavailable") return failure("agent-gone", e.message, e.hint ?? "");
  if (e.code === "cancelled") return failure("cancelled", e.message);
  if (e.code === "permission-denied") return failure("target-refused", e.message, e.hint ?? "");
  return failure("internal", e.message);
}

/** A "tool missing" failure if `link` lacks `tool`, naming the package to install, or why the agent cannot run it. */
function missingTool(link: AgentLink, tool: ToolName): Failure | undefined {
  const t = link.info.tools.find((x) => toolName(x.tool) === tool);
  if (t?.available) return undefined;
  // On PATH but unusable there (exec refused, self-test failed): the agent's words name the problem and the fix.
  if (t?.problem) return failure("tool-missing", `${tool} cannot run on agent ${link.id}: ${t.problem}`, "fix it, then restart the agent: it checks its tools at start-up");
  const pkg = t?.package || drivers[tool].debianPackage;
  return failure("tool-missing", `${tool} is not installed on agent ${link.id}`, `install the Debian package "${pkg}" on node ${link.info.node} (apt-get install ${pkg})`);
}

/**
 * Fill what only the server knows into the client's measurement: iperf2's UDP
 * client never carries loss and jitter, its server does.
 */
export function mergeServerReport(client: Measurement, server: Measurement | undefined): Measurement {
  if (!server) return client;
  const m = { ...client };
  m.jitterMs ??= server.jitterMs;
  m.lostPackets ??= server.lostPackets;
  m.packets ??= server.packets;
  m.lossPercent ??= server.lossPercent;
  if (m.receiverBps === undefined && server.receiverBps !== undefined) {
    m.receiverBps = server.receiverBps;
    m.throughputBps = server.receiverBps;
  }
  // What the server's figures carry about themselves (e.g. reordered_packets when loss was clamped) goes with them.
  m.extra = { ...server.extra, ...client.extra };
  return m;
}

/** Run one repetition. Never throws. */
export async function runRepetition(req: CaseRequest, index: number, log: Logger, signal?: AbortSignal): Promise<Repetition> {
  const startedAtMs = Date.now();
  const t0 = performance.now();
  const rep = (parts: { client?: ToolRun; server?: ToolRun; outcome: Repetition["outcome"]; flags?: string[] }): Repetition =>
    create(RepetitionSchema, { index, ...parts, startedAtMs, wallMs: performance.now() - t0 });
  const driver = driverOfWire(req.spec.tool);
  if (!driver) return rep({ outcome: { case: "failure", value: failure("invalid-spec", "unknown tool") } });
  const tool = driver.tool;
  const missing = missingTool(req.client, tool) ?? (driver.needsServer ? missingTool(req.server, tool) : undefined);
  if (missing) return rep({ outcome: { case: "failure", value: missing } });
  if (signal?.aborted) return rep({ outcome: { case: "failure", value: failure("cancelled", "run cancelled") } });
  // Traffic only between agents: a server whose address the coordinator could not check is never a target.
  const refused = serverProblem(req.client, req.server);
  if (refused) {
    log.warn({ client: req.client.id, server: req.server.id, reason: refused.message }, "target refused");
    return rep({ outcome: { case: "failure", value: requestFailure(refused) } });
  }

  // Every deadline from one place, bounded: a run past the cap is refused, never sent as an overflowing deadline.
  let deadlines: StepDeadlines;
  try {
    deadlines = stepDeadlines(req.spec);
  } catch (err) {
    const e = NetmatrixError.from(err);
    return rep({ outcome: { case: "failure", value: failure("invalid-spec", e.message, e.hint ?? "") } });
  }
  let serverCmd: string | undefined;
  let port = 0;
  let dataPort = 0;
  let window: Awaited<ReturnType<typeof startWindow>> | undefined;
  let service: ExposedService | undefined;
  // Cancelled: the server stops now (a pending client run is cancelled by its request's signal).
  const onAbort = (): void => {
    if (serverCmd) req.server.send({ case: "cancel", value: { commandId: serverCmd, reason: "the case was cancelled" } });
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const clientDeadline = deadlines.clientMs;
    // Server start and sampling start are independent: do them together.
    const [serverReply, sampling] = await Promise.all([
      driver.needsServer
        ? req.server.request(
            (commandId) => {
              serverCmd = commandId;
              return {
                case: "startServer",
                // The spec too: a server's setup may depend on it (http: the body it serves).
                value: { commandId, tool: req.spec.tool, protocol: req.spec.protocol, deadlineMs: deadlines.serverMs, spec: req.spec },
              };
            },
            STEP_MARGIN_MS.serverStart,
            "start server",
            signal,
          )
        : undefined,
      startWindow([req.client, req.server], req.sampleIntervalMs ?? 100, deadlines.samplingMs, log),
    ]);
    window = sampling;
    if (serverReply) {
      if (serverReply.case === "commandFailed") {
        await window.stop();
        return rep({ outcome: { case: "failure", value: serverReply.value.failure ?? failure("internal", "server failed") } });
      }
      if (serverReply.case !== "serverReady") {
        await window.stop();
        return rep({ outcome: { case: "failure", value: failure("internal", `unexpected reply ${serverReply.case}`) } });
      }
      port = serverReply.value.port;
      dataPort = serverReply.value.dataPort;
      // The server's answer is checked before anything connects to it (or a service maps to it): inside its declared range.
      const badPort = portProblem(req.server, port, dataPort);
      if (badPort) throw badPort;
    }
    // The server's address of the case's family (IPv4: its primary, as before families).
    let target = targetAddress(req.server.info, familyName(req.spec.family)) ?? "";
    if (req.expose) {
      service = await req.expose(port, dataPort);
      target = service.address;
      port = service.port;
      dataPort = service.dataPort;
    }
    const badTarget = targetProblem(req.client, req.server, { target, port, dataPort, needsServer: driver.needsServer }, service);
    if (badTarget) throw badTarget;
    if (signal?.aborted) throw new NetmatrixError("cancelled", "the case was cancelled before its client started");
    const clientStartedAtMs = Date.now();
    const reply = await req.client.request(
      (commandId) => ({ case: "runClient", value: { commandId, spec: req.spec, target, port, dataPort, deadlineMs: clientDeadline } }),
      deadlines.clientReplyMs,
      "run client",
      signal,
    );
    // Sampling stop, service removal and server stop are independent: do them together (a cancelled server is stopped already).
    const [[clientSamples, serverSamples], serverRun] = await Promise.all([
      window.stop(),
      serverCmd && !signal?.aborted ? stopServer(req.server, serverCmd, req.spec, log) : Promise.resolve(undefined),
      service?.release(),
    ]);
    // The server agent's session ended mid-repetition: what the client measured comes from the client alone.
    const flags = serverGone(req) ? [REPETITION_FLAGS.serverGone] : [];
    if (flags.length) log.warn({ server: req.server.id }, "the server agent left mid-repetition: flagged server-gone");
    const clientRun = reply.case === "clientResult" ? reply.value.run : undefined;
    if (reply.case === "commandFailed") return rep({ ...(serverRun ? { server: serverRun } : {}), outcome: { case: "failure", value: reply.value.failure! }, flags });
    if (!clientRun) return rep({ outcome: { case: "failure", value: failure("internal", `unexpected reply ${reply.case}`) }, flags });
    const outcome: Repetition["outcome"] =
      clientRun.outcome.case === "measurement"
        ? { case: "measurement", value: mergeServerReport(clientRun.outcome.value, serverRun?.outcome.case === "measurement" ? serverRun.outcome.value : undefined) }
        : clientRun.outcome.case === "failure"
          ? { case: "failure", value: clientRun.outcome.value }
          : { case: "failure", value: failure("internal", "client returned no outcome") };
    const r = rep({ client: clientRun, ...(serverRun ? { server: serverRun } : {}), outcome, flags });
    r.clientStartedAtMs = clientStartedAtMs;
    attachUsage(r, req, clientSamples, serverSamples);
    if (r.cpuBoundReason) log.warn({ client: req.client.id, server: req.server.id, reason: r.cpuBoundReason }, "CPU saturated while measuring: flagged cpu-bound");
    return r;
  } catch (err) {
    log.warn({ err, client: req.client.id, server: req.server.id }, "repetition failed");
    await window?.stop();
    await service?.release().catch((e: unknown) => log.warn({ err: e }, "could not remove the service"));
    if (serverCmd && !req.server.closed && !signal?.aborted) await stopServer(req.server, serverCmd, req.spec, log);
    return rep({ outcome: { case: "failure", value: requestFailure(err) } });
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** The server agent's session ended (it left, or reconnected as a new session) while its case ran. */
function serverGone(req: CaseRequest): boolean {
  return req.server !== req.client && req.server.closed;
}

/** Usage of both ends and the figures derived from it, on a finished repetition. */
function attachUsage(r: Repetition, req: CaseRequest, clientSamples: NodeSample[] | undefined, serverSamples: NodeSample[] | undefined): void {
  if (clientSamples) {
    r.clientSamples = clientSamples;
    r.clientUsage = summarizeUsage(clientSamples, req.client.id, req.client.info.node);
  }
  if (serverSamples) {
    r.serverSamples = serverSamples;
    r.serverUsage = summarizeUsage(serverSamples, req.server.id, req.server.info.node);
  }
  flagCpuBound(r, req, clientSamples, serverSamples);
  if (r.outcome.case !== "measurement") return;
  const m = r.outcome.value;
  const direction = directions.toName(req.spec.direction) ?? "forward";
  if (r.clientUsage) {
    const w = wireToPayload(driverOfWire(req.spec.tool)?.payloadBytes(m), r.clientUsage, direction);
    if (w && "ratio" in w) r.wireToPayload = w.ratio;
    else if (w) r.wireToPayloadNote = w.note;
    r.clientCpuPercentPerGbps = cpuPerGbps(r.clientUsage, m);
  }
  if (r.serverUsage) r.serverCpuPercentPerGbps = cpuPerGbps(r.serverUsage, m);
}

/**
 * Each end's CPU over the time its tool ran (Repetition.cpu) and, when an
 * end broke a rule of common/src/busy.ts CPU_BOUND, the `cpu-bound` flag with
 * the reason. An end that sampled no CPU is left out (no verdict without figures).
 */
function flagCpuBound(r: Repetition, req: CaseRequest, clientSamples: NodeSample[] | undefined, serverSamples: NodeSample[] | undefined): void {
  const parallel = req.spec.parallel || 1;
  const ends = [
    clientSamples && endCpu(clientSamples, "client", req.client.id, req.client.info.node, req.client.info.cpuCount),
    // A server-less tool (ping) still has a far end whose node the traffic crosses; its samples say what its CPU did.
    serverSamples && endCpu(serverSamples, "server", req.server.id, req.server.info.node, req.server.info.cpuCount),
  ].filter((e) => e !== undefined);
  for (const e of ends) e.reasons = cpuBoundReasons(e, parallel);
  r.cpu = ends;
  const reason = cpuBoundText(ends, driverOfWire(req.spec.tool)?.tool ?? "the tool", parallel);
  if (!reason) return;
  r.cpuBoundReason = reason;
  if (!r.flags.includes(REPETITION_FLAGS.cpuBound)) r.flags.push(REPETITION_FLAGS.cpuBound);
}

/**
 * Start sampling on every link; `stop()` returns each link's samples, or
 * undefined for a link whose sampling failed (a sampling problem never fails
 * the measurement; it is logged).
 */
async function startWindow(links: AgentLink[], intervalMs: number, deadlineMs: number, log: Logger): Promise<{ stop(): Promise<(NodeSample[] | undefined)[]> }> {
  const started = await Promise.all(
    links.map(async (link) => {
      try {
        let id = "";
        const reply = await link.request(
          (commandId) => ((id = commandId), { case: "startSampling", value: { commandId, intervalMs, deadlineMs } }),
          STEP_MARGIN_MS.serverStop,
          "start sampling",
        );
        return reply.case === "samplingStarted" ? id : undefined;
      } catch (err) {
        log.warn({ err, agent: link.id }, "sampling did not start");
        return undefined;
      }
    }),
  );
  return {
    stop: () =>
      Promise.all(
        links.map(async (link, i) => {
          const startCommandId = started[i];
          if (!startCommandId) return undefined;
          try {
            const reply = await link.request((commandId) => ({ case: "stopSampling", value: { commandId, startCommandId } }), STEP_MARGIN_MS.serverStop, "stop sampling");
            return reply.case === "samplingStopped" ? reply.value.samples : undefined;
          } catch (err) {
            log.warn({ err, agent: link.id }, "sampling did not stop cleanly");
            return undefined;
          }
        }),
      ),
  };
}

async function stopServer(server: AgentLink, startCommandId: string, spec: TestSpec, log: Logger): Promise<ToolRun | undefined> {
  try {
    const reply: Reply = await server.request((commandId) => ({ case: "stopServer", value: { commandId, startCommandId, spec } }), STEP_MARGIN_MS.serverStop, "stop server");
    return reply.case === "serverStopped" ? reply.value.run : undefined;
  } catch (err) {
    log.warn({ err, agent: server.id }, "could not stop server");
    return undefined;
  }
}

/** A new case record with the resolved agents and target, before any traffic. */
export function newCase(req: CaseRequest): CaseResult {
  return create(CaseResultSchema, {
    caseId: `case-${Date.now().toString(36)}-${++caseCounter}`,
    client: agentStatus(req.client),
    server: agentStatus(req.server),
    spec: req.spec,
    target: req.server.info.addresses[0] ?? "",
  });
}
