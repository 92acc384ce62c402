/**
 * A spec with several problems reports them all at once (bounded), each as
 * `source:line: problem; fix`, in line order — and nothing that is only a
 * consequence of another problem.
 */
import { describe, expect, test } from "vitest";
import { parseSpec, specFromObject } from "./spec.js";
import { MAX_LISTED_PROBLEMS, SpecError } from "./spec-error.js";

function refusal(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SpecError) return err;
    throw err;
  }
  throw new Error("expected a SpecError, the spec was accepted");
}

const lines = (err: SpecError): string[] => err.message.split("\n");

describe("every problem of a spec at once", () => {
  const text = [
    "name: several", // 1
    "scenarios: [host-host, pod-pod-crss]", // 2
    "tools: [iperf3, iperf4]", // 3
    "durration: 5", // 4
    "duration: 0", // 5
    "omit: 1", // 6
    "parallel: [1, 0, 4, 4]", // 7
    "pairs: { sampel: 3 }", // 8
    "thresholds: { cvPercent: -1, udpLossPercent: 200 }", // 9
  ].join("\n");

  test("each problem with its file:line, in line order, under a count", () => {
    const err = refusal(() => parseSpec(text, "spec.yaml"));
    expect(lines(err)).toEqual([
      "spec.yaml: 9 problems:",
      '  spec.yaml:2: unknown scenario "pod-pod-crss"; did you mean "pod-pod-cross"? (use one of: host-host, pod-pod-cross, pod-pod-same, pod-host, host-pod, pod-service-cross, pod-service-same, external-pod, external-nodeport)',
      '  spec.yaml:3: unknown tool "iperf4"; did you mean "iperf3"? (use one of: iperf3, iperf2, qperf, ping, http, sockperf)',
      expect.stringMatching(/^ {2}spec\.yaml:4: unknown key "durration"; did you mean "duration"\? \(keys: name, scenarios, /),
      "  spec.yaml:5: duration 0 s is outside 1..3600 s; use a value in 1..3600",
      "  spec.yaml:7: stream count 0 is outside 1..128; use whole numbers such as [1, 4, 8] within that range",
      "  spec.yaml:7: stream count 4 is listed twice; remove the duplicate",
      '  spec.yaml:8: unknown key "sampel" in pairs; did you mean "sample"? (keys: sample, cover, nodes, by)',
      "  spec.yaml:9: thresholds.cvPercent -1 is not a number in 0..1000 %; use a number in 0..1000",
      "  spec.yaml:9: thresholds.udpLossPercent 200 is not a number in 0..100 %; use a number in 0..100",
    ]);
    // The error itself points at the first problem; each problem is a SpecError of its own.
    expect(err.line).toBe(2);
    expect(err.path).toBe("scenarios[1]");
    expect(err.code).toBe("invalid-argument");
    expect(err.problems.map((p) => p.line)).toEqual([2, 3, 4, 5, 7, 7, 8, 9, 9]);
    expect(err.problems.map((p) => p.path)).toEqual([
      "scenarios[1]",
      "tools[1]",
      "durration",
      "duration",
      "parallel[1]",
      "parallel[3]",
      "pairs.sampel",
      "thresholds.cvPercent",
      "thresholds.udpLossPercent",
    ]);
  });

  test("a problem that only follows from another is not reported (omit against a bad duration, a guessed pair selection)", () => {
    // duration 0 is the problem; "omit 1 is not shorter than duration" would only repeat it.
    expect(lines(refusal(() => parseSpec("name: m\nscenarios: [host-host]\nduration: 0\nomit: 1\n", "m.yaml")))).toEqual([
      "m.yaml:3: duration 0 s is outside 1..3600 s; use a value in 1..3600",
    ]);
    expect(refusal(() => parseSpec("name: m\nscenarios: [host-host]\npairs: { sampel: 3 }\n", "m.yaml")).problems).toHaveLength(1);
    // A good duration and omit are still checked against each other, along with the rest.
    expect(lines(refusal(() => parseSpec("name: m\nscenarios: [hots-host]\nduration: 3\nomit: 5\n", "m.yaml")))).toEqual([
      "m.yaml: 2 problems:",
      expect.stringMatching(/^ {2}m\.yaml:2: unknown scenario "hots-host"; did you mean "host-host"\?/),
      "  m.yaml:4: omit 5 s is not shorter than duration 3 s; use an omit below 3, or 0",
    ]);
  });

  test(`at most ${MAX_LISTED_PROBLEMS} are listed, the rest counted`, () => {
    const typos = Array.from({ length: 25 }, (_, i) => `typo${i}: 1`).join("\n");
    const err = refusal(() => parseSpec(`name: m\nscenarios: [host-host]\n${typos}\n`, "big.yaml"));
    expect(err.problems).toHaveLength(25);
    const out = lines(err);
    expect(out[0]).toBe("big.yaml: 25 problems:");
    expect(out).toHaveLength(1 + MAX_LISTED_PROBLEMS + 1);
    expect(out[1]).toMatch(/^ {2}big\.yaml:3: unknown key "typo0"/);
    expect(out[MAX_LISTED_PROBLEMS]).toMatch(/^ {2}big\.yaml:22: unknown key "typo19"/);
    expect(out.at(-1)).toBe("  … and 5 more (fix these and run again to see them)");
  });

  test("every YAML syntax error, each with its line", () => {
    const err = refusal(() => parseSpec("name: a\nname: b\nscenarios: [host-host]\nscenarios: [pod-host]\n", "dup.yaml"));
    expect(lines(err)).toEqual([
      "dup.yaml: 2 problems:",
      "  dup.yaml:2: not valid YAML: Map keys must be unique; write each key once",
      "  dup.yaml:4: not valid YAML: Map keys must be unique; write each key once",
    ]);
  });

  test("a flag that overrides the file is named without a line, first; the file's problems keep their lines", () => {
    const err = refusal(() => parseSpec("name: m\nscenarios: [host-host]\nrepetitions: 0\n", "m.yaml", { duration: 0 }));
    expect(lines(err)).toEqual([
      "m.yaml: 2 problems:",
      "  m.yaml: duration 0 s is outside 1..3600 s; use a value in 1..3600",
      expect.stringMatching(/^ {2}m\.yaml:3: repetitions 0 is outside /),
    ]);
  });

  test("specs without text (flags, the wire) list every problem too", () => {
    const err = refusal(() => specFromObject({ name: "bad name", scenarios: ["pod-pod"], tools: [], duration: "ten" }, "<flags>"));
    expect(err.problems.map((p) => p.path)).toEqual(["duration", "tools", "name", "scenarios[0]"]);
    expect(lines(err)[0]).toBe("<flags>: 4 problems:");
  });

  test("one problem reads exactly as before: no count, no indent", () => {
    const err = refusal(() => parseSpec("name: m\nscenarios: [host-host]\nduration: 0\n", "m.yaml"));
    expect(err.message).toBe("m.yaml:3: duration 0 s is outside 1..3600 s; use a value in 1..3600");
    expect(err.problems).toEqual([err]);
  });
});
