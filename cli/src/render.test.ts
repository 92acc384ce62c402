import { create } from "@bufbuild/protobuf";
import { expect, test } from "vitest";
import { CaseResultSchema } from "../../gen/netmatrix/v1/control_pb.js";
import { FailureCode } from "../../gen/netmatrix/v1/types_pb.js";
import { renderCase } from "./render.js";

const result = create(CaseResultSchema, {
  client: { agentId: "node-a/host" },
  server: { agentId: "node-b/host" },
  target: "198.18.0.12",
  repetitions: [
    { index: 0, outcome: { case: "measurement", value: { lossPercent: 0, latency: { kind: "rtt", meanUs: 68.7, p99Us: 90.1 } } } },
    { index: 1, outcome: { case: "failure", value: { code: FailureCode.UNREACHABLE, reason: "ping: connect: Network is unreachable", hint: "check the route to 198.18.0.12" } } },
  ],
});

test.each([undefined, 80, 60])("a single case at width %s: no borders, the latency says RTT, a failure reads in its status", (width) => {
  const text = renderCase(result, width === undefined ? {} : { width });
  expect(text).not.toMatch(/[│─┼┌└├]/);
  expect(text).toContain("68.7 µs RTT");
  expect(text.replace(/\s+/g, " ")).toContain("FAILED unreachable: ping: connect: Network is unreachable (hint: check the route to 198.18.0.12)");
  if (width !== undefined) for (const line of text.split("\n")) expect(line.length, line).toBeLessThanOrEqual(width);
});
