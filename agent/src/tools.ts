/**
 * Which tools this agent has, and their versions: looked up on PATH, asked
 * for their version once at start-up, and put through their driver's
 * self-test when it has one. A tool on PATH that cannot run here (the kernel
 * refuses to execute it, or its self-test shows a setting that stops it) is
 * reported unavailable with the problem and its fix; nothing here throws.
 */
import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { exec, type ExecResult } from "../../common/src/exec.js";
import type { Driver, HostFacts, ToolName } from "../../tools/src/index.js";

/** What the agent found for one tool. */
export interface FoundTool {
  driver: Driver<ToolName>;
  /** Absolute path, undefined when missing. */
  path: string | undefined;
  /** The server's executable, when the driver's server is another program (`serverBinary`); undefined when missing or not needed. */
  serverPath?: string;
  version: string | undefined;
  /**
   * Why the tool cannot run on this agent although it is on PATH, and how to
   * fix it; undefined when it is usable (or simply missing: no path).
   */
  problem?: string;
}

/** A tool the agent can run: on PATH, and nothing found that stops it. */
export function usable(found: FoundTool | undefined): found is FoundTool & { path: string } {
  return found?.path !== undefined && found.problem === undefined;
}

/** The first executable named `name` on `pathEnv`, or undefined. */
export function which(name: string, pathEnv = process.env.PATH ?? ""): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** This process's groups and sysctls (as its network namespace sees them), for the drivers' messages. */
export function hostFacts(): HostFacts {
  return {
    gid: process.getegid?.(),
    groups: process.getgroups?.() ?? [],
    sysctl(name) {
      if (!/^[a-z0-9_.-]+$/i.test(name)) return undefined;
      try {
        return readFileSync(`/proc/sys/${name.replaceAll(".", "/")}`, "utf8")
          .trim()
          .replace(/\s+/g, " ");
      } catch {
        return undefined;
      }
    },
  };
}

/** The file capabilities of `path` as getcap shows them (e.g. "cap_net_raw=ep"), when getcap is there to ask. */
async function fileCapabilities(path: string): Promise<string | undefined> {
  const res = await exec({ argv: ["getcap", path], deadlineMs: 2000, guard: false });
  if (res.spawnError || res.exitCode !== 0) return undefined;
  const caps = res.stdout.trim().slice(path.length).trim();
  return /^cap_[a-z_,+=]+$/i.test(caps) ? caps : undefined;
}

/** Why `path` could not be executed and what to do about it, from the exec's spawn error. */
async function execProblem(driver: Driver<ToolName>, path: string, res: ExecResult): Promise<string> {
  const code = res.spawnErrorCode;
  const what = `${driver.tool}: ${res.spawnError ?? `${path}: cannot execute`}`;
  switch (code) {
    case "EPERM": {
      const caps = await fileCapabilities(path);
      const names = caps
        ?.split("=")[0]
        ?.split(",")
        .map((c) => c.replace(/^cap_/i, "").toUpperCase());
      return (
        `${what}: the binary has file capabilities (${caps ?? `see getcap ${path}`}) the container may not gain (not in its capability bounding set). ` +
        `Fix: remove them in the agent's image (setcap -r ${path}), or add the capability to the container (securityContext.capabilities.add: [${names?.join(", ") ?? "..."}])`
      );
    }
    case "EACCES":
      return `${what}. Fix: make it executable for the agent's user (chmod 755 ${path}), and mount its file system without noexec`;
    case "ENOENT":
      return `${what}: the file is there but its interpreter or loader is not. Fix: reinstall the Debian package "${driver.debianPackage}" in the agent's image`;
    default:
      return `${what}. Fix: reinstall the Debian package "${driver.debianPackage}" in the agent's image, or check the agent's security context`;
  }
}

/**
 * Why a tool whose server is another program cannot serve here: that program
 * is not on PATH (naming both packages when the client is missing too).
 */
function serverMissing(driver: Driver<ToolName>, clientFound: boolean): string | undefined {
  const server = driver.serverBinary;
  if (!server || which(server.binary)) return undefined;
  const packages = clientFound ? [server.debianPackage] : [driver.debianPackage, server.debianPackage];
  const what = clientFound ? `its server ${server.binary} is` : `${driver.binary} and its server ${server.binary} are`;
  const named = packages.length > 1 ? `the Debian packages ${packages.map((p) => `"${p}"`).join(" and ")}` : `the Debian package "${packages[0]}"`;
  return `${driver.tool}: ${what} not on PATH. Fix: install ${named} in the agent's image (apt-get install ${packages.join(" ")})`;
}

/** One driver's binary (and its server's, when that is another program), version and self-test. */
async function discoverOne(driver: Driver<ToolName>, facts: HostFacts): Promise<FoundTool> {
  const path = which(driver.binary);
  const noServer = serverMissing(driver, path !== undefined);
  // Missing altogether: "not installed" names the client's package, the problem both.
  if (!path) return { driver, path: undefined, version: undefined, ...(noServer ? { problem: noServer } : {}) };
  if (noServer) return { driver, path, version: undefined, problem: noServer };
  const serverPath = driver.serverBinary ? which(driver.serverBinary.binary) : undefined;
  const [, ...args] = driver.versionArgv();
  const res = await exec({ argv: [path, ...args], deadlineMs: 5000, guard: false });
  if (res.spawnError) return { driver, path, version: undefined, problem: await execProblem(driver, path, res) };
  const found: FoundTool = { driver, path, version: driver.parseVersion(`${res.stdout}\n${res.stderr}`), ...(serverPath ? { serverPath } : {}) };
  if (!driver.selfTest) return found;
  const [, ...testArgs] = driver.selfTest.argv();
  const test = await exec({ argv: [path, ...testArgs], deadlineMs: driver.selfTest.deadlineMs, guard: false });
  if (test.spawnError) return { ...found, problem: await execProblem(driver, path, test) };
  const problem = driver.selfTest.problem({ stdout: test.stdout, stderr: test.stderr, exitCode: test.exitCode }, facts);
  return problem ? { ...found, problem: `${problem.reason}. Fix: ${problem.fix}` } : found;
}

/** Look up every driver's binary, version and self-test. Never throws: a tool that cannot be checked is reported unavailable. */
export async function discoverTools(drivers: Driver<ToolName>[]): Promise<FoundTool[]> {
  const facts = hostFacts();
  return Promise.all(
    drivers.map(async (driver): Promise<FoundTool> => {
      try {
        return await discoverOne(driver, facts);
      } catch (err) {
        const path = which(driver.binary);
        return { driver, path, version: undefined, problem: `${driver.tool}: checking it failed (${err instanceof Error ? err.message : String(err)})` };
      }
    }),
  );
}
