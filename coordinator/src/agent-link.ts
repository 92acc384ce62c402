/**
 * One registered agent as the coordinator sees it: its info and the open
 * session stream, with request/reply correlation by command id and a deadline
 * on every request. When the session ends every pending request fails with
 * "agent gone".
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";

/** A command to an agent, as an init object. */
export type Command = MessageInitShape<typeof CoordinatorMessageSchema>["msg"];
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { CoordinatorMessageSchema, type AgentMessage, type CoordinatorMessage, type SampleBatch } from "../../gen/netmatrix/v1/agent_pb.js";
import type { AgentInfo, NodeLoad } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import type { AddressCheck } from "./address-check.js";
import { Outbox } from "../../common/src/outbox.js";
import { toServiceError } from "../../common/src/rpc-status.js";

/**
 * Bounds on what waits for an agent that stopped reading its session: this
 * many commands, or this long without taking anything, and the session is cut.
 */
export const LINK_LIMITS = { maxQueued: 1000, stallMs: 30_000 } as const;

/** A reply from an agent to one command. */
export type Reply = Exclude<AgentMessage["msg"], { case: "register" | "heartbeat" | "sampleBatch" | undefined }>;

interface Pending {
  resolve(r: Reply): void;
  reject(e: NetmatrixError): void;
  timer: NodeJS.Timeout;
}

let counter = 0;

/** How long a cancelled command's reply is waited for (the agent stops the tool: SIGTERM, SIGKILL 2 s later), milliseconds. */
export const CANCEL_GRACE_MS = 5_000;

export class AgentLink {
  /** Wall clock of registration, ms since the epoch. */
  readonly connectedAtMs = Date.now();
  /** Monotonic ms of the last message from the agent. */
  lastSeen = performance.now();
  private readonly pending = new Map<string, Pending>();
  private closedReason: string | undefined;
  /** Where live sample batches go (the watch hub). */
  onSamples: ((link: AgentLink, batch: SampleBatch) => void) | undefined;
  /** How its declared address was checked at registration; only "peer" and "trusted" agents are ever targets. */
  addressCheck: AddressCheck = "unverified";
  /** The node's load as the agent last reported it (heartbeats), bounded; undefined before its first report. */
  load: NodeLoad | undefined;

  /** Commands on their way to the agent, bounded (see LINK_LIMITS). */
  private readonly outbox: Outbox<CoordinatorMessage>;

  constructor(
    readonly id: string,
    readonly instanceId: string,
    readonly info: AgentInfo,
    readonly peer: string,
    private readonly call: ServerDuplexStream<AgentMessage, CoordinatorMessage>,
  ) {
    this.outbox = new Outbox(call, {
      ...LINK_LIMITS,
      // The session's "error" handler (agent-service) drops the agent and fails what is pending.
      onCutOff: (reason) => {
        const err = new NetmatrixError("resource-exhausted", `agent ${id} stopped reading its session: ${reason}`, { hint: "the agent is stuck or overloaded; restart it" });
        call.emit("error", Object.assign(toServiceError(err), { message: err.message }));
      },
    });
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /**
   * Send a command and wait for its reply, at most `deadlineMs`. Aborting
   * `signal` cancels the command on the agent (CancelCommand) and waits for
   * its reply at most CANCEL_GRACE_MS more; then it rejects as cancelled.
   */
  request(build: (commandId: string) => Command, deadlineMs: number, what: string, signal?: AbortSignal): Promise<Reply> {
    if (this.closedReason) return Promise.reject(this.gone());
    const commandId = `c${++counter}`;
    return new Promise<Reply>((resolve, reject) => {
      const onAbort = (): void => {
        const p = this.pending.get(commandId);
        if (!p) return;
        this.send({ case: "cancel", value: { commandId, reason: `"${what}" was cancelled` } });
        clearTimeout(p.timer);
        p.timer = setTimeout(() => {
          this.pending.delete(commandId);
          p.reject(new NetmatrixError("cancelled", `agent ${this.id} did not confirm the cancel of "${what}" within ${CANCEL_GRACE_MS} ms`));
        }, CANCEL_GRACE_MS);
      };
      const settled = (): void => signal?.removeEventListener("abort", onAbort);
      const pending: Pending = {
        resolve: (r) => (settled(), resolve(r)),
        reject: (e) => (settled(), reject(e)),
        timer: setTimeout(() => {
          this.pending.delete(commandId);
          pending.reject(new NetmatrixError("deadline-exceeded", `agent ${this.id} did not answer "${what}" within ${deadlineMs} ms`));
        }, deadlineMs),
      };
      this.pending.set(commandId, pending);
      this.send(build(commandId));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Send a command that has no reply. */
  send(msg: Command): void {
    if (this.closedReason || !this.call.writable) return;
    this.outbox.send(create(CoordinatorMessageSchema, { msg }));
  }

  /** Route a message from the agent. */
  onMessage(m: AgentMessage): void {
    this.lastSeen = performance.now();
    const msg = m.msg;
    if (msg.case === "sampleBatch") return this.onSamples?.(this, msg.value);
    if (msg.case === "heartbeat" && msg.value.load) this.load = boundedLoad(msg.value.load);
    if (msg.case === undefined || msg.case === "register" || msg.case === "heartbeat") return;
    const p = this.pending.get(msg.value.commandId);
    if (!p) return;
    this.pending.delete(msg.value.commandId);
    clearTimeout(p.timer);
    p.resolve(msg);
  }

  /** The session ended: fail everything pending. */
  onClosed(reason: string): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    this.outbox.close();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(this.gone());
    }
    this.pending.clear();
  }

  /** End the session from this side. */
  end(): void {
    if (this.call.writable) this.call.end();
  }

  private gone(): NetmatrixError {
    return new NetmatrixError("unavailable", `agent ${this.id} disconnected (${this.closedReason})`, {
      hint: "check the agent's logs; it reconnects by itself when it can",
    });
  }
}

const clamp = (v: number, hi: number): number => (Number.isFinite(v) ? Math.min(hi, Math.max(0, v)) : 0);

/**
 * An agent's load report with every figure finite and in range (an agent's
 * word is not trusted blindly), and nothing else: `l` itself, clamped in
 * place (it is the heartbeat's own, just decoded; with 15,000 agents a copy
 * per heartbeat is thousands of allocations a second), fields this
 * coordinator does not know dropped.
 */
export function boundedLoad(l: NodeLoad): NodeLoad {
  l.cpuBusyPercent = clamp(l.cpuBusyPercent, 100);
  l.stealPercent = clamp(l.stealPercent, 100);
  l.loadAverage1m = clamp(l.loadAverage1m, 1e6);
  l.procsRunning = Math.min(l.procsRunning, 1e6);
  l.cpuCount = Math.min(l.cpuCount, 1e5);
  l.intervalMs = clamp(l.intervalMs, 1e9);
  l.atMs = clamp(l.atMs, 1e15);
  delete l.$unknown;
  return l;
}
