/**
 * Runs one tool client for the coordinator: check the spec, build argv with
 * the driver, exec under a deadline, parse. Always returns a ToolRun: a
 * measurement or a typed failure, never a made-up number.
 */
import { isIP } from "node:net";
import { create } from "@bufbuild/protobuf";
import { ToolRunSchema, type TestSpec, type ToolRun } from "../../gen/netmatrix/v1/types_pb.js";
import { startProcess } from "../../common/src/exec.js";
import { deadlineProblem, specProblems } from "../../tools/src/limits.js";
import { tools as toolTable, type ToolName } from "../../tools/src/index.js";
import { clientParams, execFailure, pbFailure, pbMeasurement, toolRun } from "./convert.js";
import { forget, remember } from "./tool-pids.js";
import { hostFacts, type FoundTool } from "./tools.js";

export interface ClientRequest {
  spec: TestSpec;
  target: string;
  port: number;
  dataPort: number;
  deadlineMs: number;
  signal?: AbortSignal;
}

function refused(tool: ToolName | undefined, code: "invalid-spec" | "tool-missing", reason: string, hint = ""): ToolRun {
  return create(ToolRunSchema, {
    tool: tool ? toolTable.toEnum(tool, "tool") : 0,
    exitCode: -1,
    outcome: { case: "failure", value: pbFailure(code, reason, hint) },
  });
}

/** Run the client described by `req` with the tool `found` (undefined when the agent lacks it). */
export async function runClient(tool: ToolName | undefined, found: FoundTool | undefined, req: ClientRequest): Promise<ToolRun> {
  if (!tool) return refused(undefined, "invalid-spec", "unknown tool in spec");
  const problems = specProblems(req.spec);
  if (problems.length) return refused(tool, "invalid-spec", `spec refused: ${problems.join("; ")}`);
  const late = deadlineProblem("client", req.deadlineMs);
  if (late) return refused(tool, "invalid-spec", `client refused: ${late}`);
  if (!isIP(req.target)) return refused(tool, "invalid-spec", `target "${req.target}" is not an IP address`);
  // A problem first: it names everything missing (http: wrk and nginx), "not installed" only the client's package.
  if (found?.problem) return refused(tool, "tool-missing", found.problem);
  if (!found?.path) {
    const pkg = found?.driver.debianPackage ?? tool;
    return refused(tool, "tool-missing", `${tool} is not installed on this agent`, `apt-get install ${pkg}`);
  }
  const driver = found.driver;
  const params = clientParams(req.spec, req.target, req.port, req.dataPort);
  const why = driver.unsupported(params);
  if (why) return refused(tool, "invalid-spec", why);
  const argv = driver.clientArgv(params);
  argv[0] = found.path;
  const proc = startProcess({ argv, deadlineMs: req.deadlineMs, ...(req.signal ? { signal: req.signal } : {}) });
  remember(proc.pid);
  const res = await proc.exited;
  forget(proc.pid);
  const version = found.version ?? "";
  const failed = execFailure(res, tool, req.deadlineMs);
  if (failed) return toolRun(tool, version, res, { failure: pbFailure(failed.code, failed.reason) });
  const parsed = driver.parseClient({ stdout: res.stdout, stderr: res.stderr, exitCode: res.exitCode }, params, hostFacts());
  return toolRun(
    tool,
    version,
    res,
    parsed.ok ? { measurement: pbMeasurement(parsed.measurement) } : { failure: pbFailure(parsed.failure.code, parsed.failure.reason, parsed.failure.hint) },
  );
}
