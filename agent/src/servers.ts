/**
 * Tool servers this agent runs for the coordinator: each on free ports of the
 * allowed range, reported ready only once its socket is listening, stopped
 * after the case or when its deadline passes (the exec guard kills it even if
 * this agent dies).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { TestSpec, ToolRun } from "../../gen/netmatrix/v1/types_pb.js";
import { startProcess, type RunningProcess } from "../../common/src/exec.js";
import { NetmatrixError } from "../../common/src/errors.js";
import type { ProtocolName } from "../../common/src/model.js";
import type { ToolName } from "../../tools/src/index.js";
import { clientParams, pbFailure, pbServerReport, toolRun } from "./convert.js";
import { isListening } from "../../common/src/listen-probe.js";
import { findFreePorts, type PortRange } from "./ports.js";
import { AGENT_LIMITS, deadlineProblem } from "../../tools/src/limits.js";
import { forget, remember } from "./tool-pids.js";
import type { FoundTool } from "./tools.js";

/** How long a server may take to start listening, milliseconds. */
const READY_TIMEOUT_MS = 5000;
/** How long to wait for a server's final report (iperf2 UDP) after the client ended. */
const REPORT_GRACE_MS = 1500;
const POLL_MS = 10;

interface Running {
  found: FoundTool;
  proc: RunningProcess;
  port: number;
  dataPort: number;
}

export class ServerManager {
  private readonly running = new Map<string, Running>();
  /** Servers between admission and `running` (finding free ports). */
  private starting = 0;

  constructor(
    private readonly tools: Map<ToolName, FoundTool>,
    private readonly ports: PortRange,
    private readonly log: Logger,
    /**
     * Bind servers to the address peers target, when it is local: a UDP reply
     * from a multi-homed node (vxlan, l2) would otherwise leave from the
     * route's source address and be dropped by the client's connected socket.
     */
    private readonly bind?: string,
  ) {}

  get count(): number {
    return this.running.size;
  }

  /**
   * Start `tool`'s server; resolves with its ports once it listens. Throws a
   * NetmatrixError (failed-precondition: tool missing; unavailable: no port, or
   * the server died or never listened).
   */
  async start(id: string, tool: ToolName, protocol: ProtocolName, deadlineMs: number): Promise<{ port: number; dataPort: number }> {
    // Bounds on what any coordinator may ask: this many servers at once, each with a deadline within the cap.
    const busy = this.running.size + this.starting;
    if (busy >= AGENT_LIMITS.servers) {
      throw new NetmatrixError("resource-exhausted", `this agent already runs ${busy} tool servers, the most it runs at once (${AGENT_LIMITS.servers})`, {
        hint: "wait until its cases end: a coordinator runs one case per agent at a time",
      });
    }
    const late = deadlineProblem("server", deadlineMs);
    if (late) throw new NetmatrixError("invalid-argument", `server refused: ${late}`);
    const found = this.tools.get(tool);
    if (!found?.path || found.problem) throw missing(tool, found);
    const driver = found.driver;
    const used = new Set([...this.running.values()].flatMap((r) => [r.port, r.dataPort]));
    this.starting++;
    let port: number | undefined;
    try {
      port = await findFreePorts(this.ports, driver.serverPorts, used);
    } finally {
      this.starting--; // counted in `running` from here on (set below without an await in between)
    }
    if (port === undefined) {
      throw new NetmatrixError("unavailable", `no free port in ${this.ports.min}-${this.ports.max} for a ${tool} server`, {
        hint: "widen the agent's --port-range or stop what occupies it",
      });
    }
    const dataPort = driver.serverPorts > 1 ? port + 1 : 0;
    const argv = driver.serverArgv({ port, protocol, ...(dataPort ? { dataPort } : {}), ...(this.bind ? { bind: this.bind } : {}) });
    if (!argv) throw new NetmatrixError("invalid-argument", `${tool} has no server`);
    argv[0] = found.path;
    const proc = startProcess({ argv, deadlineMs });
    remember(proc.pid);
    void proc.exited.then(() => forget(proc.pid));
    this.running.set(id, { found, proc, port, dataPort });
    this.log.debug({ id, tool, port, pid: proc.pid }, "server starting");
    const readyBy = performance.now() + READY_TIMEOUT_MS;
    let exited = false;
    void proc.exited.then(() => (exited = true));
    // Which socket shows that the server is up: the driver knows (iperf2 -u binds UDP, the others listen on TCP).
    const sock = driver.serverListens(protocol);
    while (!isListening(port, sock)) {
      if (exited || performance.now() > readyBy) {
        const res = await this.stopProcess(id);
        const why = exited ? `exited before listening: ${(res?.stderr || res?.stdout || "").trim().slice(0, 300)}` : `not listening after ${READY_TIMEOUT_MS} ms`;
        throw new NetmatrixError("unavailable", `${tool} server on port ${port} ${why}`);
      }
      await sleep(POLL_MS);
    }
    this.log.debug({ id, tool, port }, "server ready");
    return { port, dataPort };
  }

  /** Stop the server started as `id` and return what it printed (and its report, where the tool has one). */
  async stop(id: string, spec: TestSpec | undefined): Promise<ToolRun> {
    const r = this.running.get(id);
    if (!r) throw new NetmatrixError("not-found", `no server ${id} on this agent (already stopped or past its deadline)`);
    const { driver } = r.found;
    // Only a forward (or bidir) run leaves a receiver report on the server; wait briefly for it.
    if (driver.parseServer && spec && clientParams(spec, "", r.port, r.dataPort).direction !== "reverse") {
      const params = clientParams(spec, "", r.port, r.dataPort);
      const until = performance.now() + REPORT_GRACE_MS;
      while (performance.now() < until) {
        const soFar = driver.parseServer(r.proc.output().stdout, params);
        if (soFar.status === "failed" || (soFar.status === "report" && soFar.report.streams.length >= params.parallel)) break;
        await sleep(POLL_MS * 2);
      }
    }
    const res = (await this.stopProcess(id))!;
    const parsed = driver.parseServer && spec ? driver.parseServer(res.stdout, clientParams(spec, "", r.port, r.dataPort)) : undefined;
    // A server output in the wrong format, or with figures that cannot be true, is kept as the server run's failure.
    const outcome =
      parsed?.status === "report"
        ? { measurement: pbServerReport(parsed.report) }
        : parsed?.status === "failed"
          ? { failure: pbFailure(parsed.failure.code, parsed.failure.reason) }
          : undefined;
    return toolRun(driver.tool, r.found.version ?? "", res, outcome);
  }

  private async stopProcess(id: string) {
    const r = this.running.get(id);
    if (!r) return undefined;
    this.running.delete(id);
    return r.proc.stop();
  }

  /** Stop the server started as `id` at once, without waiting for a report (its case was cancelled); no-op when there is none. */
  async cancel(id: string): Promise<void> {
    await this.stopProcess(id);
  }

  /** Stop every server (session lost, cancel, shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.stopProcess(id)));
  }
}

/** The "tool missing" error, naming the Debian package to install. */
export function missing(tool: ToolName, found: FoundTool | undefined): NetmatrixError {
  if (found?.problem) return new NetmatrixError("failed-precondition", found.problem);
  const pkg = found?.driver.debianPackage ?? tool;
  return new NetmatrixError("failed-precondition", `${tool} is not installed on this agent`, {
    hint: `install the Debian package "${pkg}" (apt-get install ${pkg}) in the agent's image`,
  });
}
