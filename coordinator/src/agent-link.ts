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
import type { AgentInfo } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";

/** A reply from an agent to one command. */
export type Reply = Exclude<AgentMessage["msg"], { case: "register" | "heartbeat" | "sampleBatch" | undefined }>;

interface Pending {
  resolve(r: Reply): void;
  reject(e: NetmatrixError): void;
  timer: NodeJS.Timeout;
}

let counter = 0;

export class AgentLink {
  /** Wall clock of registration, ms since the epoch. */
  readonly connectedAtMs = Date.now();
  /** Monotonic ms of the last message from the agent. */
  lastSeen = performance.now();
  private readonly pending = new Map<string, Pending>();
  private closedReason: string | undefined;
  /** Where live sample batches go (the watch hub). */
  onSamples: ((link: AgentLink, batch: SampleBatch) => void) | undefined;

  constructor(
    readonly id: string,
    readonly instanceId: string,
    readonly info: AgentInfo,
    readonly peer: string,
    private readonly call: ServerDuplexStream<AgentMessage, CoordinatorMessage>,
  ) {}

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Send a command and wait for its reply, at most `deadlineMs`. */
  request(build: (commandId: string) => Command, deadlineMs: number, what: string): Promise<Reply> {
    if (this.closedReason) return Promise.reject(this.gone());
    const commandId = `c${++counter}`;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(commandId);
        reject(new NetmatrixError("deadline-exceeded", `agent ${this.id} did not answer "${what}" within ${deadlineMs} ms`));
      }, deadlineMs);
      this.pending.set(commandId, { resolve, reject, timer });
      this.send(build(commandId));
    });
  }

  /** Send a command that has no reply. */
  send(msg: Command): void {
    if (this.closedReason || !this.call.writable) return;
    this.call.write(create(CoordinatorMessageSchema, { msg }));
  }

  /** Route a message from the agent. */
  onMessage(m: AgentMessage): void {
    this.lastSeen = performance.now();
    const msg = m.msg;
    if (msg.case === "sampleBatch") return this.onSamples?.(this, msg.value);
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
