/**
 * Tool servers this agent runs for the coordinator: each on free ports of the
 * allowed range, reported ready only once its socket is listening, stopped
 * after the case or when its deadline passes (the exec guard kills it even if
 * this agent dies).
 */
import { closeSync, openSync, ftruncateSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { TestSpec, ToolRun } from "../../gen/netmatrix/v1/types_pb.js";
import { startProcess, type RunningProcess } from "../../common/src/exec.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { familyName, type FamilyName, type ProtocolName } from "../../common/src/model.js";
import type { ToolName } from "../../tools/src/index.js";
import { clientParams, pbFailure, pbServerReport, serverParams, toolRun } from "./convert.js";
import { isListening } from "../../common/src/listen-probe.js";
import { findFreePorts, type PortRange } from "./ports.js";
import { AGENT_LIMITS, deadlineProblem, specProblems } from "../../tools/src/limits.js";
import type { Driver, ServerFile, ServerParams } from "../../tools/src/types.js";
import { forget, remember } from "./tool-pids.js";
import type { FoundTool } from "./tools.js";

/** How long a server may take to start listening, milliseconds. */
const READY_TIMEOUT_MS = 5000;
/** How long to wait for a server's final report (iperf2 UDP) after the client ended. */
const REPORT_GRACE_MS = 1500;
const POLL_MS = 10;
/** How many ports a server is tried on when the one picked turns out taken at its bind. */
const BIND_ATTEMPTS = 3;
/** The C library's words for EADDRINUSE, which every tool prints when its bind fails that way. */
const ADDRESS_IN_USE = /Address already in use|EADDRINUSE/;

/** A server that exited because its port was taken after it was picked. */
class PortTaken extends NetmatrixError {
  constructor(
    readonly port: number,
    message: string,
  ) {
    super("unavailable", message, { hint: "something else binds ports in the agent's --port-range; give the agent a range of its own" });
  }
}

interface Running {
  found: FoundTool;
  proc: RunningProcess;
  port: number;
  dataPort: number;
  /** The server's private directory (drivers with serverFiles), removed once it stopped. */
  dir?: string;
}

/** Characters a server's directory path may have: what a tool's configuration can hold without quoting trouble. */
const PLAIN_PATH = /^[\w./-]+$/;

/**
 * A private directory (0700, under the agent's temporary directory) holding
 * the files the driver asks for; zeros are written sparse (however large,
 * they take no disk, so /tmp's emptyDir limit is no bound on them).
 */
async function serverDir(driver: Driver<ToolName>, p: ServerParams): Promise<string | undefined> {
  if (!driver.serverFiles) return undefined;
  const base = tmpdir();
  if (!PLAIN_PATH.test(base)) {
    throw new NetmatrixError("failed-precondition", `the agent's temporary directory "${base}" has characters a ${driver.tool} server's configuration cannot hold`, {
      hint: "set TMPDIR to a plain path such as /tmp",
    });
  }
  const dir = await mkdtemp(join(base, `netmatrix-${driver.tool}-`));
  try {
    for (const f of driver.serverFiles({ ...p, dir })) writeServerFile(dir, f);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new NetmatrixError("unavailable", `cannot write the ${driver.tool} server's files in ${dir}: ${(err as Error).message}`, {
      hint: "the agent's temporary directory must be writable (the chart mounts an emptyDir at /tmp)",
    });
  }
  return dir;
}

function writeServerFile(dir: string, f: ServerFile): void {
  if (!/^[\w.-]+$/.test(f.name) || f.name.startsWith(".")) throw new Error(`"${f.name}" is not a plain file name`);
  const path = join(dir, f.name);
  if ("text" in f) {
    writeFileSync(path, f.text, { mode: 0o600, flag: "wx" });
    return;
  }
  const fd = openSync(path, "wx", 0o600);
  try {
    ftruncateSync(fd, f.zeroBytes);
  } finally {
    closeSync(fd);
  }
}

export class ServerManager {
  private readonly running = new Map<string, Running>();
  /** Servers between admission and `running` (finding free ports, writing their files). */
  private starting = 0;
  /** Ports of those servers, so no other start takes them meanwhile. */
  private readonly reserved = new Set<number>();

  constructor(
    private readonly tools: Map<ToolName, FoundTool>,
    private readonly ports: PortRange,
    private readonly log: Logger,
    /**
     * Bind servers to the address peers target, when it is local: a UDP reply
     * from a multi-homed node (vxlan, l2) would otherwise leave from the
     * route's source address and be dropped by the client's connected socket.
     */
    private readonly bind?: string | ((family: FamilyName) => string | undefined),
    /** How a free port is found (the search in ports.ts; a test may hand out a taken one first). */
    private readonly pick: typeof findFreePorts = findFreePorts,
  ) {}

  get count(): number {
    return this.running.size;
  }

  /**
   * Start `tool`'s server; resolves with its ports once it listens. Throws a
   * NetmatrixError (failed-precondition: tool missing; unavailable: no port, or
   * the server died or never listened).
   */
  async start(id: string, tool: ToolName, protocol: ProtocolName, deadlineMs: number, spec?: TestSpec): Promise<{ port: number; dataPort: number }> {
    // Bounds on what any coordinator may ask: this many servers at once, each with a deadline within the cap.
    const busy = this.running.size + this.starting;
    if (busy >= AGENT_LIMITS.servers) {
      throw new NetmatrixError("resource-exhausted", `this agent already runs ${busy} tool servers, the most it runs at once (${AGENT_LIMITS.servers})`, {
        hint: "wait until its cases end: a coordinator runs one case per agent at a time",
      });
    }
    const late = deadlineProblem("server", deadlineMs);
    if (late) throw new NetmatrixError("invalid-argument", `server refused: ${late}`);
    // What the server is set up from (http: its body) is held to the same bounds as a client run.
    const problems = spec ? specProblems(spec) : [];
    if (problems.length) throw new NetmatrixError("invalid-argument", `server refused: ${problems.join("; ")}`);
    const found = this.tools.get(tool);
    if (!found?.path || found.problem) throw missing(tool, found);
    // A port can be taken between the search and the server's bind (another process, a socket the search could not see): try another.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.launch(id, found, protocol, deadlineMs, spec);
      } catch (err) {
        if (!(err instanceof PortTaken) || attempt >= BIND_ATTEMPTS) throw err;
        this.log.debug({ id, tool, port: err.port, attempt }, "server's port was taken; trying another");
      }
    }
  }

  /** Pick free ports, write the server's files, start it and wait until it listens. */
  private async launch(id: string, found: FoundTool, protocol: ProtocolName, deadlineMs: number, spec?: TestSpec): Promise<{ port: number; dataPort: number }> {
    const driver = found.driver;
    const tool = driver.tool;
    const used = new Set([...this.running.values()].flatMap((r) => [r.port, r.dataPort]).concat([...this.reserved]));
    // Counted as starting (and its ports reserved) until it is in `running`: finding ports and writing its files both wait.
    this.starting++;
    let port: number | undefined;
    let dir: string | undefined;
    let params: ServerParams;
    try {
      port = await this.pick(this.ports, driver.serverPorts, used);
      if (port === undefined) {
        throw new NetmatrixError("unavailable", `no free port in ${this.ports.min}-${this.ports.max} for a ${tool} server`, {
          hint: "widen the agent's --port-range or stop what occupies it",
        });
      }
      for (let k = 0; k < driver.serverPorts; k++) this.reserved.add(port + k);
      const dataPort = driver.serverPorts > 1 ? port + 1 : 0;
      const family = familyName(spec?.family ?? 0);
      const bind = typeof this.bind === "function" ? this.bind(family) : family === "ipv4" ? this.bind : undefined;
      params = serverParams(port, protocol, { dataPort, ...(bind ? { bind } : {}), spec });
      dir = await serverDir(driver, params);
    } finally {
      this.starting--;
      if (port !== undefined) for (let k = 0; k < driver.serverPorts; k++) this.reserved.delete(port + k);
    }
    const dataPort = params.dataPort ?? 0;
    // Which socket shows that the server is up: the driver knows (iperf2 -u binds UDP, the others listen on TCP).
    const sock = driver.serverListens(protocol);
    const argv = driver.serverArgv(dir ? { ...params, dir } : params);
    // A socket already listening there (taken since the search) would pass for this server's own.
    const taken = argv && isListening(port, sock);
    if (!argv || taken) {
      if (dir) await rm(dir, { recursive: true, force: true });
      if (taken) throw new PortTaken(port, `${tool} server: port ${port} was taken before the server started`);
      throw new NetmatrixError("invalid-argument", `${tool} has no server`);
    }
    argv[0] = found.serverPath ?? found.path!;
    const proc = startProcess({ argv, deadlineMs });
    remember(proc.pid);
    void proc.exited.then(() => forget(proc.pid));
    this.running.set(id, { found, proc, port, dataPort, ...(dir ? { dir } : {}) });
    this.log.debug({ id, tool, port, pid: proc.pid }, "server starting");
    const readyBy = performance.now() + READY_TIMEOUT_MS;
    let exited = false;
    void proc.exited.then(() => (exited = true));
    while (!isListening(port, sock)) {
      if (exited || performance.now() > readyBy) {
        const res = await this.stopProcess(id);
        const printed = `${res?.stderr ?? ""}\n${res?.stdout ?? ""}`;
        // The driver's reading of what it printed (nginx: its [emerg] line), else its first 300 characters.
        const said = res ? driver.serverFailure?.({ stdout: res.stdout, stderr: res.stderr, exitCode: res.exitCode }) : undefined;
        const why = exited ? `exited before listening: ${said ?? (res?.stderr || res?.stdout || "").trim().slice(0, 300)}` : `not listening after ${READY_TIMEOUT_MS} ms`;
        const message = `${tool} server on port ${port} ${why}`;
        if (exited && ADDRESS_IN_USE.test(printed)) throw new PortTaken(port, message);
        throw new NetmatrixError("unavailable", message);
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
    try {
      return await r.proc.stop();
    } finally {
      if (r.dir) await rm(r.dir, { recursive: true, force: true }).catch((err: unknown) => this.log.warn({ err, dir: r.dir }, "could not remove a server's directory"));
    }
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
