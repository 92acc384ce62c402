/**
 * Bounds on what an agent will generate. An agent is a traffic generator, so
 * it accepts only typed specs inside these limits, whoever asks.
 */
import { Direction, HttpMode, Protocol, Tool, type TestSpec } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { driverOfWire } from "./index.js";
import { runLengthOf } from "./spec-doc.js";

/** Inclusive bounds, in the units their names state. */
export const LIMITS = {
  durationS: { min: 1, max: 3600 },
  parallel: { min: 1, max: 128 },
  /** 100 Gbit/s */
  bitrateBps: { min: 0, max: 100e9 },
  /** UDP datagram payload can't exceed 65507 bytes; TCP buffers up to 16 MiB. */
  lengthBytesUdp: { min: 0, max: 65507 },
  lengthBytesTcp: { min: 0, max: 16 * 1024 * 1024 },
  windowBytes: { min: 0, max: 256 * 1024 * 1024 },
  mss: { min: 0, max: 65535 },
  omitS: { min: 0, max: 60 },
  pingCount: { min: 0, max: 100_000 },
  /** 0 = default 200 ms; ping below 200 ms needs root, below 2 ms is a flood. */
  pingIntervalMs: { min: 0, max: 60_000 },
  repetitions: { min: 1, max: 1000 },
  /** http: concurrent connections (0 = 1); the server's nginx takes 10240 at once. */
  connections: { min: 0, max: 10_000 },
  /** http: the body the server answers with, up to 64 MiB. */
  bodyBytes: { min: 0, max: 64 * 1024 * 1024 },
  /** sockperf under-load: messages/s (0 = ping-pong). */
  messageRatePerS: { min: 0, max: 1_000_000 },
  /**
   * How long one tool run may last, whatever decides it (the driver's
   * `runMs`): iperf3's duration + omit, qperf's two tests, ping's count ×
   * interval.
   */
  runS: { min: 0, max: 3600 },
} as const;

/**
 * What each step of a test may take beyond the tool's run, ms: the server's
 * start (spawn, listen), the client's (connect, slow start, final report),
 * the server's stop, the tail of the sampling window, and the client's
 * result on its way back to the coordinator.
 */
export const STEP_MARGIN_MS = { serverStart: 10_000, client: 15_000, serverStop: 5_000, sampling: 10_000, reply: 5_000 } as const;

/** The deadlines of one test's steps, ms. */
export interface StepDeadlines {
  /** The tool's run (its driver's `runMs`). */
  runMs: number;
  /** The client run, on the client agent. */
  clientMs: number;
  /** The server, from its start until the client is done. */
  serverMs: number;
  /** The sampling window on both agents. */
  samplingMs: number;
  /** How long the coordinator waits for the client's result. */
  clientReplyMs: number;
}

function deadlinesFor(runMs: number): StepDeadlines {
  const clientMs = runMs + STEP_MARGIN_MS.client;
  return {
    runMs,
    clientMs,
    serverMs: runMs + STEP_MARGIN_MS.serverStart + STEP_MARGIN_MS.client,
    samplingMs: clientMs + STEP_MARGIN_MS.sampling,
    clientReplyMs: clientMs + STEP_MARGIN_MS.reply,
  };
}

/**
 * The longest deadline of any step: a run at the cap plus its margins. Agents
 * refuse longer ones, whoever asks; it is far inside the uint32 deadline fields.
 */
export const MAX_DEADLINE_MS = Math.max(...Object.values(deadlinesFor(LIMITS.runS.max * 1000)));

/** What one agent runs at once, whoever asks: tool servers, tool clients, sampling windows. */
export const AGENT_LIMITS = { servers: 8, clients: 8, samplingWindows: 32 } as const;

/** Why the tool run `spec` asks for lasts longer than the cap (naming the computed length and the fix), or undefined. */
export function runLengthProblem(spec: TestSpec): string | undefined {
  const driver = driverOfWire(spec.tool);
  if (!driver) return undefined;
  const length = runLengthOf(spec);
  const ms = driver.runMs(length);
  if (Number.isFinite(ms) && ms <= LIMITS.runS.max * 1000) return undefined;
  const { figures, shorten } = driver.describeRun(length);
  return `${driver.tool} would run for ${Math.round(ms / 1000)} s (${figures}), above the ${LIMITS.runS.max} s a test may run; ${shorten}`;
}

/**
 * The deadlines of `spec`'s steps, computed in this one place. A spec whose
 * run passes the cap is refused (invalid-argument) rather than given a
 * deadline beyond what agents accept or what its uint32 field holds.
 */
export function stepDeadlines(spec: TestSpec): StepDeadlines {
  const problem = runLengthProblem(spec);
  if (problem) throw new NetmatrixError("invalid-argument", `spec refused: ${problem}`, { hint: `keep every test within ${LIMITS.runS.max} s` });
  const driver = driverOfWire(spec.tool);
  const runMs = driver ? Math.round(driver.runMs(runLengthOf(spec))) : spec.durationS * 1000;
  const d = deadlinesFor(runMs);
  const worst = Math.max(...Object.values(d));
  if (!Number.isSafeInteger(worst) || worst > MAX_DEADLINE_MS) {
    throw new NetmatrixError("invalid-argument", `spec refused: its steps would need a deadline of ${worst} ms, beyond ${MAX_DEADLINE_MS} ms`, {
      hint: `keep every test within ${LIMITS.runS.max} s`,
    });
  }
  return d;
}

/** Why an agent refuses a `what` deadline of `deadlineMs` (unset, or beyond the cap plus margins), or undefined. */
export function deadlineProblem(what: string, deadlineMs: number): string | undefined {
  if (!Number.isSafeInteger(deadlineMs) || deadlineMs <= 0) return `the ${what} deadline ${deadlineMs} ms is not set`;
  if (deadlineMs > MAX_DEADLINE_MS) {
    return `the ${what} deadline ${deadlineMs} ms is beyond ${MAX_DEADLINE_MS} ms (a test runs at most ${LIMITS.runS.max} s, plus margins)`;
  }
  return undefined;
}

/** Every way `spec` breaks the limits, as sentences naming the field and the allowed range; empty when fine. */
export function specProblems(spec: TestSpec): string[] {
  const p: string[] = [];
  const check = (name: string, value: number, b: { min: number; max: number }, unit = ""): void => {
    if (!Number.isFinite(value) || value < b.min || value > b.max) {
      p.push(`${name} ${value}${unit} is outside ${b.min}..${b.max}${unit}`);
    }
  };
  const driver = driverOfWire(spec.tool);
  if (spec.tool === Tool.UNSPECIFIED) p.push("tool is not set");
  else if (!driver) p.push(`tool ${spec.tool} is unknown`);
  if (spec.protocol === Protocol.UNSPECIFIED && driver?.capabilities.transport !== "icmp") p.push("protocol is not set");
  if (spec.direction === Direction.UNSPECIFIED) p.push("direction is not set");
  check("duration", spec.durationS, LIMITS.durationS, " s");
  check("parallel", spec.parallel === 0 ? 1 : spec.parallel, LIMITS.parallel);
  check("bitrate", spec.bitrateBps, LIMITS.bitrateBps, " bit/s");
  check("length", spec.lengthBytes, spec.protocol === Protocol.UDP ? LIMITS.lengthBytesUdp : LIMITS.lengthBytesTcp, " B");
  check("window", spec.windowBytes, LIMITS.windowBytes, " B");
  check("mss", spec.mss, LIMITS.mss, " B");
  check("omit", spec.omitS, LIMITS.omitS, " s");
  if (spec.omitS >= spec.durationS && spec.omitS > 0) p.push(`omit ${spec.omitS} s must be shorter than duration ${spec.durationS} s`);
  check("ping count", spec.pingCount, LIMITS.pingCount);
  check("ping interval", spec.pingIntervalMs, LIMITS.pingIntervalMs, " ms");
  if (spec.pingIntervalMs !== 0 && spec.pingIntervalMs < 200) p.push(`ping interval ${spec.pingIntervalMs} ms is below 200 ms (needs root and floods); use 200 or more`);
  if (!Object.values(HttpMode).includes(spec.httpMode)) p.push(`http mode ${spec.httpMode} is unknown`);
  check("connections", spec.connections, LIMITS.connections);
  check("body", spec.bodyBytes, LIMITS.bodyBytes, " B");
  check("message rate", spec.messageRatePerS, LIMITS.messageRatePerS, " /s");
  // Each value in range can still add up to a run past the cap (ping: 100000 requests × 60 s).
  const tooLong = p.length === 0 ? runLengthProblem(spec) : undefined;
  if (tooLong) p.push(tooLong);
  return p;
}
