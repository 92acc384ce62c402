/**
 * The `crosscheck` spec key — read, refused with file:line and the fix like
 * every other key, carried on the wire — and what it plans: the other
 * throughput tools (drivers' `crosscheck` capability) on the listed tools'
 * parameters, on the cross-checked rows only, a combination a tool cannot do
 * skipped with its driver's reason.
 */
import { describe, expect, test } from "vitest";
import { parseSpec } from "./spec.js";
import { specFromMessage, specMessage } from "./spec-wire.js";
import { variants } from "./variants.js";
import { plan, type PlannerAgent } from "./planner.js";
import { drivers, tools } from "../../../tools/src/index.js";
import { specError } from "./spec-testing.js";

const ok = "name: m\nscenarios: [host-host, pod-pod-cross, pod-pod-same]\n";

describe("crosscheck: the key", () => {
  test.each<[string, string, boolean | string[]]>([
    ["absent: none", ok, false],
    ["true: every row", `${ok}crosscheck: true\n`, true],
    ["false: none", `${ok}crosscheck: false\n`, false],
    ["a list of rows", `${ok}crosscheck: [host-host, pod-pod-cross]\n`, ["host-host", "pod-pod-cross"]],
  ])("%s", (_what, text, want) => {
    expect(parseSpec(text, "spec.yaml").crosscheck).toEqual(want);
  });

  test.each([
    // [what, text, line, message, fix]
    ["a word", `${ok}crosscheck: yes-please\n`, 3, 'crosscheck "yes-please" is neither true, false nor a list of scenarios', "`crosscheck: [host-host, pod-pod-cross]`"],
    ["a number", `${ok}crosscheck: 1\n`, 3, "crosscheck 1 is neither true, false nor a list", "`crosscheck: true`"],
    ["an unknown scenario", `${ok}crosscheck: [host-host, pod-pod-crosss]\n`, 3, 'unknown scenario "pod-pod-crosss"', 'did you mean "pod-pod-cross"?'],
    [
      "a row the spec does not run",
      `${ok}crosscheck: [pod-service-cross]\n`,
      3,
      'crosscheck lists scenario "pod-service-cross", which is not one of the spec\'s scenarios',
      'add "pod-service-cross" to scenarios, or remove it from crosscheck',
    ],
    ["a row twice", `${ok}crosscheck: [host-host, host-host]\n`, 3, 'scenario "host-host" is listed twice', "remove the duplicate"],
    ["an empty list", `${ok}crosscheck: []\n`, 3, "crosscheck is empty", "list at least one"],
  ])("%s is refused at its line with the fix", (_what, text, line, message, fix) => {
    const e = specError(text);
    expect(e.message).toContain(`spec.yaml:${line}:`);
    expect(e.message).toContain(message);
    expect(e.message).toContain(fix);
  });

  test.each<[string, boolean | string[]]>([
    ["true", true],
    ["false", false],
    ["a list", ["host-host", "pod-pod-cross"]],
  ])("%s survives the wire (MatrixSpec field 20)", (_what, crosscheck) => {
    const spec = parseSpec(`${ok}crosscheck: ${JSON.stringify(crosscheck)}\n`, "spec.yaml");
    expect(specFromMessage(specMessage(spec), "wire").crosscheck).toEqual(crosscheck);
  });
});

describe("crosscheck: what it plans", () => {
  const cross = (s: string) => variants(parseSpec(s, "spec.yaml")).filter((v) => v.crosscheck);

  test("TCP: the other tools that cross-check TCP on the listed tool's parameters; UDP: those that pace, at the same rate", () => {
    const vs = cross(`${ok}tools: [iperf3]\nprotocols: [tcp, udp]\nudpBitrates: [500M]\ncrosscheck: true\n`);
    const tcp = tools.names.filter((t) => t !== "iperf3" && drivers[t].capabilities.crosscheck?.tcp);
    const udp = tools.names.filter((t) => t !== "iperf3" && drivers[t].capabilities.crosscheck?.udp);
    expect(vs.filter((v) => v.protocol === "tcp").map((v) => v.tool)).toEqual(tcp);
    expect(vs.filter((v) => v.protocol === "udp").map((v) => [v.tool, v.bitrateBps])).toEqual(udp.map((t) => [t, 500e6]));
    expect(tcp.length).toBeGreaterThanOrEqual(2);
    expect(udp.length).toBeGreaterThanOrEqual(1);
  });

  test("a tool the spec lists is not repeated; a spec of no cross-checking tool adds nothing; false adds nothing", () => {
    const listed = tools.names.filter((t) => drivers[t].capabilities.crosscheck?.tcp);
    expect(cross(`${ok}tools: [${listed.join(", ")}]\ncrosscheck: true\n`)).toEqual([]);
    const none = tools.names.filter((t) => !drivers[t].capabilities.crosscheck?.tcp && drivers[t].capabilities.transport === "ip");
    expect(cross(`${ok}tools: [${none.join(", ")}]\ncrosscheck: true\n`)).toEqual([]);
    expect(cross(`${ok}tools: [iperf3]\ncrosscheck: false\n`)).toEqual([]);
  });

  test("a combination a tool cannot do (reverse, parallel) is skipped with its driver's reason", () => {
    const vs = cross(`${ok}tools: [iperf3]\ndirections: [forward, reverse]\nparallel: [1, 4]\ncrosscheck: true\n`);
    const skipped = vs.filter((v) => v.skip);
    expect(skipped.length).toBeGreaterThan(0);
    for (const v of skipped) {
      const p = { target: "0.0.0.0", port: 0, protocol: "tcp" as const, direction: v.direction, parallel: v.parallel, durationS: v.durationS };
      expect(v.skip).toBe(drivers[v.tool].unsupported(p));
    }
  });

  const agents: PlannerAgent[] = ["n1", "n2"].flatMap((n, i) => [
    { id: `${n}/host`, node: n, mode: "host" as const, address: `10.0.0.${i + 1}`, tools: [...tools.names] },
    { id: `${n}/pod/a`, node: n, mode: "pod" as const, address: `10.244.${i}.2`, tools: [...tools.names] },
    { id: `${n}/pod/b`, node: n, mode: "pod" as const, address: `10.244.${i}.3`, tools: [...tools.names] },
  ]);

  test("planned on the cross-checked rows only, with the same path (pair, direction, parallel, length) as the listed tool", () => {
    const spec = parseSpec(`${ok}tools: [iperf3]\ncrosscheck: [pod-pod-cross]\n`, "spec.yaml");
    const p = plan(spec, agents);
    const byRow = (s: string) => [...new Set(p.cases.filter((c) => c.scenario === s).map((c) => c.tool))];
    expect(byRow("host-host")).toEqual(["iperf3"]);
    expect(byRow("pod-pod-same")).toEqual(["iperf3"]);
    const others = byRow("pod-pod-cross");
    expect(others[0]).toBe("iperf3");
    expect(others.length).toBeGreaterThanOrEqual(3);
    const path = (c: (typeof p.cases)[number]) => [c.clientNode, c.serverNode, c.protocol, c.direction, c.parallel, c.lengthBytes].join("|");
    const iperf3 = new Set(p.cases.filter((c) => c.scenario === "pod-pod-cross" && c.tool === "iperf3").map(path));
    for (const c of p.cases.filter((x) => x.scenario === "pod-pod-cross")) expect(iperf3.has(path(c))).toBe(true);
  });
});
