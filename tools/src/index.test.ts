import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { driverFor, drivers, http, iperf2, iperf3, ping, qperf, sockperf } from "./index.js";
import { percentile } from "../../common/src/stats.js";
import type { ClientParams, ParseOutcome } from "./types.js";
import type { ToolName } from "./index.js";

const tools: ToolName[] = ["iperf3", "iperf2", "qperf", "ping", "http", "sockperf"];

describe("registry", () => {
  test.each(tools)("%s", (tool) => {
    expect(driverFor(tool)).toBe(drivers[tool]);
    expect(driverFor(tool).tool).toBe(tool);
  });

  test("named exports are the registry's drivers", () => {
    expect([iperf3, iperf2, qperf, ping, http, sockperf]).toEqual(tools.map((t) => drivers[t]));
    expect(tools.map((t) => drivers[t].binary)).toEqual(["iperf3", "iperf", "qperf", "ping", "wrk", "sockperf"]);
    expect(tools.map((t) => drivers[t].debianPackage)).toEqual(["iperf3", "iperf", "qperf", "iputils-ping", "wrk", "sockperf"]);
    // http's server is another program, from another package.
    expect(tools.map((t) => drivers[t].serverBinary)).toEqual([undefined, undefined, undefined, undefined, { binary: "nginx", debianPackage: "nginx-light" }, undefined]);
  });

  test("client argv starts with the binary", () => {
    const p: ClientParams = { target: "10.0.0.2", port: 5201, protocol: "tcp", durationS: 5, parallel: 1, direction: "forward" };
    for (const t of tools) expect(drivers[t].clientArgv(p)[0]).toBe(drivers[t].binary);
  });
});

describe("percentile (linear interpolation)", () => {
  test.each([
    [[], 50, undefined],
    [[7], 99, 7],
    [[1, 2, 3, 4], 50, 2.5],
    [[10, 20, 30, 40, 50], 90, 46],
    [[10, 20, 30, 40, 50], 0, 10],
    [[10, 20, 30, 40, 50], 100, 50],
  ])("%j p%d = %s", (values, p, want) => {
    expect(percentile(values, p)).toBe(want);
  });
});

/** Every number in an outcome, walked recursively. */
function numbers(x: unknown, out: number[] = []): number[] {
  if (typeof x === "number") out.push(x);
  else if (x && typeof x === "object") for (const v of Object.values(x)) numbers(v, out);
  return out;
}

describe("defensive parsing: truncated captured output never throws nor yields NaN", () => {
  const dir = new URL("./fixtures/", import.meta.url);
  const files = tools.flatMap((tool) =>
    readdirSync(new URL(`${tool}/`, dir))
      .filter((f) => f.includes(".stdout."))
      .map((f) => ({ tool, file: f })),
  );
  test.each(files)("$tool/$file", ({ tool, file }) => {
    const text = readFileSync(new URL(`${tool}/${file}`, dir), "utf8");
    const p: ClientParams = { target: "127.0.0.1", port: 1, protocol: file.startsWith("udp") ? "udp" : "tcp", durationS: 2, parallel: 1, direction: "forward" };
    const d = drivers[tool];
    for (let cut = 0; cut <= text.length; cut += Math.max(1, Math.floor(text.length / 40))) {
      const part = text.slice(0, cut);
      let r: ParseOutcome | undefined;
      expect(() => (r = d.parseClient({ stdout: part, stderr: "", exitCode: 0 }, p))).not.toThrow();
      expect(numbers(r).every(Number.isFinite)).toBe(true);
      if (r && !r.ok) expect(r.failure.reason.length).toBeGreaterThan(0);
      if (file.includes(".server.")) expect(() => d.parseServer?.(part, p)).not.toThrow();
    }
  });
});
