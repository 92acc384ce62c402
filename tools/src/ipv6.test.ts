/** Every driver over IPv6 (issue 17, item 4): its argv for an IPv6 target and bind, or its refusal with the reason. */
import { describe, expect, test } from "vitest";
import { drivers, tools, type ToolName } from "./index.js";
import type { ClientParams, ServerParams } from "./types.js";

const V6 = "fd00:10:244:2::10";
const client = (tool: ToolName): ClientParams => ({
  target: V6,
  port: 21000,
  protocol: "tcp",
  direction: "forward",
  parallel: 1,
  durationS: 2,
  ...(tool === "qperf" ? { dataPort: 21001 } : {}),
});
const server = (bind?: string): ServerParams => ({ port: 21000, protocol: "tcp", ...(bind ? { bind } : {}), dir: "/tmp/nm-srv" });

describe("drivers over IPv6", () => {
  test("every catalogue tool is in the tables below", () => {
    expect([...tools.names].sort()).toEqual(["http", "iperf2", "iperf3", "ping", "qperf", "sockperf"]);
  });

  test.each<[ToolName, string[]]>([
    ["iperf3", ["iperf3", "-c", V6, "-p", "21000"]],
    ["iperf2", ["iperf", "-c", V6, "-p", "21000"]],
    ["qperf", [V6]],
    ["ping", [V6]],
    ["http", [`http://[${V6}]:21000/`]],
  ])("%s: the client targets the IPv6 address (URLs bracket it)", (tool, parts) => {
    const d = drivers[tool];
    expect(d.capabilities.cannotFamily?.ipv6).toBeUndefined();
    expect(d.unsupported(client(tool))).toBeUndefined();
    const argv = d.clientArgv(client(tool)).join(" ");
    expect(argv).toContain(parts.join(" "));
    expect(argv).not.toMatch(/ -4\b/);
  });

  test.each<[ToolName, string | undefined, (argv: string[], conf: string) => void]>([
    ["iperf3", V6, (a) => expect(a.slice(-2)).toEqual(["-B", V6])],
    ["iperf2", V6, (a) => expect(a.slice(-3)).toEqual(["-V", "-B", V6])],
    ["iperf2", undefined, (a) => expect(a).toContain("-V")],
    ["iperf2", "198.18.0.11", (a) => expect(a).not.toContain("-V")],
    ["qperf", V6, (a) => expect(a).not.toContain(V6)],
    ["http", V6, (_a, conf) => expect(conf).toContain(`listen [${V6}]:21000`)],
  ])("%s server bound to %s", (tool, bind, check) => {
    const d = drivers[tool];
    const conf = (d.serverFiles?.(server(bind)) ?? []).map((f) => ("text" in f ? f.text : "")).join("\n");
    check(d.serverArgv(server(bind)) ?? [], conf);
  });

  test("sockperf 3.7 is refused over IPv6, with the reason, by the planner's capability and by the driver", () => {
    const d = drivers.sockperf;
    expect(d.capabilities.cannotFamily?.ipv6).toMatch(/sockperf 3.7 takes IPv4 addresses only/);
    expect(d.unsupported({ ...client("sockperf"), protocol: "udp" })).toMatch(/IPv6/);
  });
});
