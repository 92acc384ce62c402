import { create } from "@bufbuild/protobuf";
import { describe, expect, test } from "vitest";
import { Direction, Protocol, TestSpecSchema, Tool } from "../../gen/netmatrix/v1/types_pb.js";
import { specProblems } from "./limits.js";

const ok = { tool: Tool.IPERF3, protocol: Protocol.TCP, direction: Direction.FORWARD, durationS: 10, parallel: 1 };

describe("specProblems", () => {
  test("a sane spec has none", () => expect(specProblems(create(TestSpecSchema, ok))).toEqual([]));
  test.each([
    [{ durationS: 0 }, /duration 0 s is outside 1..3600 s/],
    [{ durationS: 100_000 }, /duration/],
    [{ parallel: 129 }, /parallel 129 is outside 1..128/],
    [{ bitrateBps: 1e12 }, /bitrate/],
    [{ protocol: Protocol.UDP, lengthBytes: 70_000 }, /length 70000 B is outside 0..65507 B/],
    [{ omitS: 10 }, /omit 10 s must be shorter than duration/],
    [{ tool: Tool.UNSPECIFIED }, /tool is not set/],
    [{ direction: Direction.UNSPECIFIED }, /direction is not set/],
    [{ tool: Tool.PING, pingIntervalMs: 10 }, /below 200 ms/],
  ])("%j is refused", (patch, re) => {
    expect(specProblems(create(TestSpecSchema, { ...ok, ...patch })).join("; ")).toMatch(re);
  });
});
