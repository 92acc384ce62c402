import { describe, expect, test } from "vitest";
import { SpecError, closest, editDistance, formatPath, show } from "./spec-error.js";

describe("SpecError", () => {
  test.each([
    [{ line: 4, column: 3 }, "spec.yaml:4: unknown x; do y"],
    [undefined, "spec.yaml: unknown x; do y"],
  ])("at %j → %s", (at, message) => {
    const e = new SpecError("spec.yaml", at, ["scenarios", 1], "unknown x", "do y");
    expect(e.message).toBe(message);
    expect(e).toMatchObject({ name: "SpecError", source: "spec.yaml", line: at?.line, column: at?.column, path: "scenarios[1]" });
    expect(e).toBeInstanceOf(Error);
  });
});

describe("helpers", () => {
  test.each([
    [[], ""],
    [["duration"], "duration"],
    [["scenarios", 1], "scenarios[1]"],
    [["thresholds", "cvPercent"], "thresholds.cvPercent"],
    [["pairs", "nodes", 0], "pairs.nodes[0]"],
  ] as const)("formatPath(%j) = %s", (path, text) => {
    expect(formatPath(path)).toBe(text);
  });

  test.each([
    ["", "", 0],
    ["abc", "abc", 0],
    ["durration", "duration", 1],
    ["kitten", "sitting", 3],
    ["", "abc", 3],
  ])("editDistance(%s, %s) = %d", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  test.each([
    ["durration", ["name", "duration"], "duration"],
    ["cv", ["cvPercent", "udpLossPercent"], "cvPercent"],
    ["pod-pod", ["pod-pod-cross", "pod-pod-same"], undefined],
    ["colour", ["name", "duration"], undefined],
    ["IPERF3", ["iperf3", "iperf2"], "iperf3"],
  ])("closest(%s) = %s", (word, options, guess) => {
    expect(closest(word, options)).toBe(guess);
  });

  test.each([
    ["x", '"x"'],
    [3, "3"],
    [undefined, "nothing"],
    [["a"], '["a"]'],
    ["y".repeat(100), `"${"y".repeat(58)}…`],
  ])("show(%j)", (value, text) => {
    expect(show(value)).toBe(text);
  });
});
