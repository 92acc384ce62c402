/**
 * The catalogue's own rules: every driver states what it can do consistently
 * with what it refuses, and nothing outside tools/ decides by a tool's name.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { driverOfWire, drivers, isIcmpTool, testLabel, tools, type ClientParams, type ToolName } from "./index.js";

const base: ClientParams = { target: "127.0.0.1", port: 5201, protocol: "tcp", durationS: 2, parallel: 1, direction: "forward" };
const names = tools.names;

describe.each(names)("%s", (name: ToolName) => {
  const d = drivers[name];

  test("its wire value maps back to it, and its name is its key", () => {
    expect(d.tool).toBe(name);
    expect(d.wire).not.toBe(Tool.UNSPECIFIED);
    expect(driverOfWire(d.wire)).toBe(d);
    expect(tools.toName(tools.toEnum(name))).toBe(name);
  });

  test("refuses exactly what its capabilities say it cannot do", () => {
    expect(d.unsupported(base)).toBeUndefined();
    expect(d.unsupported({ ...base, omitS: 1 }) === undefined).toBe(d.capabilities.omit);
    expect(d.unsupported({ ...base, bitrateBps: 1e8 }) === undefined).toBe(d.capabilities.pacing);
    expect(d.unsupported({ ...base, mss: 1460 }) === undefined).toBe(d.capabilities.mss === true);
  });

  test("puts the MSS in its argv exactly when it says it can set it", () => {
    const argv = d.clientArgv({ ...base, mss: 1220 });
    expect(argv.includes("-M") && argv[argv.indexOf("-M") + 1] === "1220").toBe(d.capabilities.mss === true);
  });

  test("a run lasts at least its duration, longer with omitted seconds only when it can omit", () => {
    const plain = d.runMs({ durationS: 4 });
    expect(plain).toBeGreaterThanOrEqual(4000);
    expect(d.runMs({ durationS: 4, omitS: 1 }) > plain).toBe(d.capabilities.omit);
  });

  test("it measures something, and what it measures matches its transport", () => {
    expect(d.measures.throughput || d.measures.latency !== undefined).toBe(true);
    expect(isIcmpTool(name)).toBe(d.capabilities.transport === "icmp");
    // No bulk payload for a pure latency tool.
    if (!d.measures.throughput) expect(d.payloadBytes({ bytesSent: 100, durationS: 1, extra: {} })).toBeUndefined();
    else expect(d.payloadBytes({ bytesSent: 100, durationS: 1, extra: {} })).toBe(100);
  });

  test("a server is needed exactly when it has ports", () => {
    expect(d.needsServer).toBe(d.serverPorts > 0);
    expect(d.serverArgv({ port: 5201, protocol: "tcp" }) !== undefined).toBe(d.needsServer);
  });
});

test("labels: the tool alone for ICMP tools, else tool and parameters", () => {
  for (const n of names) {
    expect(testLabel(n, "tcp", "forward", false, undefined)).toBe(isIcmpTool(n) ? n : `${n} tcp forward`);
  }
});

test("unknown names are refused with the list of tools", () => {
  expect(() => tools.toEnum("netperf")).toThrow(/unknown tool "netperf".*/);
  expect(isIcmpTool("netperf")).toBe(false);
  expect(driverOfWire(9999)).toBeUndefined();
});

/** Every TypeScript source of the project outside tools/, generated code, tests and fixtures. */
function sources(root: string): string[] {
  const skip = new Set(["node_modules", "dist", "gen", "tools", "fixtures", ".git", ".tools"]);
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      if (skip.has(e) || e.startsWith(".")) continue;
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".ts") && !p.endsWith(".test.ts") && !p.endsWith(".d.ts")) out.push(p);
    }
  };
  walk(root);
  return out;
}

test("nothing outside tools/ says a tool's name in a condition", () => {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const alt = names.join("|");
  const wire = names.map((n) => Tool[drivers[n].wire]).join("|");
  const condition = new RegExp(`(===|!==|==|!=|case)\\s*["'](${alt})["']|["'](${alt})["']\\s*(===|!==|==|!=)|Tool\\.(${wire})\\b`);
  const offenders: string[] = [];
  const files = sources(root);
  expect(files.length).toBeGreaterThan(50);
  for (const f of files) {
    readFileSync(f, "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (condition.test(line)) offenders.push(`${relative(root, f)}:${i + 1}: ${line.trim()}`);
      });
  }
  expect(offenders).toEqual([]);
});
