import { describe, expect, test } from "vitest";
import { fixture } from "./fixture.js";
import { parseCount, parseCpuinfo } from "./proc.js";

describe("proc parsers", () => {
  test("/proc/cpuinfo: model and processor count", () => {
    expect(parseCpuinfo(fixture("proc-cpuinfo.txt"))).toEqual({ model: "AMD EPYC", count: 2 });
    expect(parseCpuinfo("")).toEqual({ model: "", count: 0 });
  });

  test("/proc/sys/kernel/osrelease is one line", () => {
    expect(fixture("proc-osrelease.txt").trim()).toMatch(/^\d+\.\d+\.\d+\S*$/);
  });

  test.each([
    ["262144\n", 262144],
    ["0\n", 0],
    ["-1\n", undefined],
    ["", undefined],
    [undefined, undefined],
    ["12abc", undefined],
    ["9".repeat(40), undefined],
  ])("parseCount(%j) = %j", (text, want) => expect(parseCount(text)).toBe(want));
});
