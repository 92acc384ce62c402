/** The agent enforces bounds itself, whoever sends the spec, and runs real tools. */
import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { Direction, FailureCode, Protocol, TestSpecSchema, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { runClient } from "./client-runner.js";
import { drivers } from "../../tools/src/index.js";
import { discoverTools } from "./tools.js";

const found = new Map((await discoverTools(Object.values(drivers))).map((f) => [f.driver.tool, f]));
const spec = (patch: object = {}) => create(TestSpecSchema, { tool: Tool.PING, protocol: Protocol.TCP, direction: Direction.FORWARD, durationS: 1, pingCount: 3, ...patch });
const req = (patch: object = {}, target = "127.0.0.1") => ({ spec: spec(patch), target, port: 0, dataPort: 0, deadlineMs: 10_000 });

describe("runClient refuses before spawning anything", () => {
  test.each([
    ["500 streams", "iperf3", { tool: Tool.IPERF3, parallel: 500 }, "127.0.0.1", /parallel 500 is outside 1\.\.128/],
    ["a 2-hour test", "iperf3", { tool: Tool.IPERF3, durationS: 7200 }, "127.0.0.1", /duration 7200 s/],
    ["a hostname target", "ping", {}, "example.com", /not an IP address/],
    ["qperf in reverse", "qperf", { tool: Tool.QPERF, direction: Direction.REVERSE }, "127.0.0.1", /reverse/i],
  ] as const)("%s", async (_n, name, patch, target, re) => {
    const run = await runClient(name, found.get(name), req(patch, target));
    expect(run.outcome.case).toBe("failure");
    if (run.outcome.case !== "failure") return;
    expect(run.outcome.value.code).toBe(FailureCode.INVALID_SPEC);
    expect(run.outcome.value.reason).toMatch(re);
    expect(run.argv).toEqual([]);
  });

  test("a tool this agent lacks names its package", async () => {
    const run = await runClient("qperf", { driver: drivers.qperf, path: undefined, version: undefined }, req({ tool: Tool.QPERF }));
    expect(run.outcome.case === "failure" && run.outcome.value.code).toBe(FailureCode.TOOL_MISSING);
    expect(run.outcome.case === "failure" && run.outcome.value.hint).toBe("apt-get install qperf");
  });
});

describe("runClient runs the real tool", () => {
  test("ping 127.0.0.1 three times", async () => {
    const run = await runClient("ping", found.get("ping"), req());
    expect(run.outcome.case).toBe("measurement");
    if (run.outcome.case !== "measurement") return;
    expect(run.outcome.value.latency?.samples).toBe(3);
    expect(run.argv[0]).toMatch(/ping$/);
    expect(run.stdout).toContain("3 packets transmitted");
  });
  test("iperf3 against a closed port is 'unreachable', not 0 bit/s", async () => {
    const run = await runClient("iperf3", found.get("iperf3"), { ...req({ tool: Tool.IPERF3 }), port: 1 });
    expect(run.outcome.case).toBe("failure");
    expect(run.outcome.case === "failure" && run.outcome.value.code).toBe(FailureCode.UNREACHABLE);
  });
});
