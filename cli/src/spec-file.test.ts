import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clone, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, describe, expect, test } from "vitest";
import { RunMatrixRequestSchema } from "../../gen/netmatrix/v1/control_pb.js";
import { MatrixSpecSchema, type MatrixSpec as MatrixSpecMessage } from "../../gen/netmatrix/v1/matrix_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { requestedSpec, specMessage } from "../../coordinator/src/matrix/index.js";
import { loadSpec } from "./spec-file.js";

const dir = mkdtempSync(join(tmpdir(), "nm-spec-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The NetmatrixError `fn` throws. */
function refusal(fn: () => unknown): NetmatrixError {
  try {
    fn();
  } catch (err) {
    if (err instanceof NetmatrixError) return err;
    throw err;
  }
  throw new Error("expected a NetmatrixError, it was accepted");
}

const BASE = "name: wire\nscenarios: [host-host, pod-pod-cross]\ntools: [iperf3, ping]\nprotocols: [tcp, udp]\n";

describe("loadSpec: the CLI reads and validates a spec file once", () => {
  test("the shipped spec", () => {
    const loaded = loadSpec("default", {});
    expect(loaded.spec.name).toBe("default");
    expect(loaded.spec.scenarios).toHaveLength(5);
    expect(loaded.yaml).toMatch(/^# The default netmatrix matrix/);
    expect(loaded.source).toMatch(/specs\/default\.yaml$/);
  });

  test("an unreadable file names the path and the fix", () => {
    const err = refusal(() => loadSpec("/nonexistent/netmatrix-spec.yaml", {}));
    expect(err.message).toBe("cannot read spec /nonexistent/netmatrix-spec.yaml: ENOENT: no such file or directory, open '/nonexistent/netmatrix-spec.yaml'");
    expect(err.hint).toBe("give a YAML file, or --spec default for the shipped one");
  });

  test("a malformed spec names the file's line and the fix", () => {
    const path = file("typo.yaml", `${BASE}durration: 5\n`);
    expect(refusal(() => loadSpec(path, {})).message).toBe(
      `${path}:5: unknown key "durration"; did you mean "duration"? (keys: name, scenarios, tools, protocols, directions, parallel, lengths, udpBitrates, duration, omit, repetitions, pairs, concurrency, thresholds, seed, connections, bodies, httpModes, messageRates, mss, crosscheck, udp, families)`,
    );
  });

  test("flags override the file's keys; a flag out of bounds is named without a line, the file's keys keep theirs", () => {
    const path = file("over.yaml", `${BASE}duration: 20\nomit: 5\n`);
    expect(loadSpec(path, { duration: 7, repetitions: 2 }).spec).toMatchObject({ durationS: 7, omitS: 5, repetitions: 2 });
    expect(refusal(() => loadSpec(path, { duration: 99_999 })).message).toBe(`${path}: duration 99999 s is outside 1..3600 s; use a value in 1..3600`);
    expect(refusal(() => loadSpec(path, { duration: 3 })).message).toBe(`${path}:6: omit 5 s is not shorter than duration 3 s; use an omit below 3, or 0`);
  });
});

describe("the spec crosses the wire typed", () => {
  test("YAML → MatrixSpec message → binary → the coordinator's validation: the spec the CLI validated", () => {
    const path = file("wire.yaml", `${BASE}pairs: { nodes: [b, a] }\nlengths: [0, 64K]\nudpBitrates: [1G, 250M]\nthresholds: { cvPercent: 5 }\n`);
    const loaded = loadSpec(path, { duration: 4 });
    // As `netmatrix run --spec` builds it (commands/matrix-run.ts).
    const req = create(RunMatrixRequestSchema, { spec: specMessage(loaded.spec), specYaml: loaded.yaml, specSource: loaded.source });
    const received = fromBinary(RunMatrixRequestSchema, toBinary(RunMatrixRequestSchema, req));
    expect(received.specJson).toBe("");
    expect(requestedSpec(received)).toEqual(loaded.spec);
  });

  // Each: the YAML line that breaks the spec, and the same value set in a valid message by a client that skipped the CLI's check.
  const cases: [string, string, (m: MatrixSpecMessage) => void][] = [
    ["duration", "duration: 99999", (m) => (m.durationS = 99_999)],
    ["parallel", "parallel: [1, 500]", (m) => (m.parallel = [1, 500])],
    ["repetitions", "repetitions: 0", (m) => (m.repetitions = 0)],
    ["concurrency", "concurrency: 20000", (m) => (m.concurrency = 20_000)],
    ["omit", "omit: 61", (m) => (m.omitS = 61)],
    ["cvPercent", "thresholds: { cvPercent: 5000 }", (m) => (m.thresholds!.cvPercent = 5000)],
    ["sample", "pairs: { sample: 0 }", (m) => (m.pairs = create(MatrixSpecSchema, { pairs: { selection: { case: "sample", value: { count: 0 } } } }).pairs)],
    ["scenario", "scenarios: [host-host, pod-pod]", (m) => (m.scenarios = ["host-host", "pod-pod"])],
    ["name", "name: '-x'", (m) => (m.name = "-x")],
  ];

  test.each(cases)("the coordinator refuses a typed spec with %s out of bounds with the CLI's message", (_, line, patch) => {
    const valid = loadSpec(file("valid.yaml", BASE), {});
    // The line replaces the base's line for the same key.
    const key = line.slice(0, line.indexOf(":") + 1);
    const path = file(
      "bad.yaml",
      `${BASE.split("\n")
        .filter((l) => l && !l.startsWith(key))
        .join("\n")}\n${line}\n`,
    );
    const cli = refusal(() => loadSpec(path, {})).message;
    expect(cli).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:\\d+: `));
    const m = clone(MatrixSpecSchema, specMessage(valid.spec));
    patch(m);
    const req = fromBinary(RunMatrixRequestSchema, toBinary(RunMatrixRequestSchema, create(RunMatrixRequestSchema, { spec: m, specSource: path })));
    const coordinator = refusal(() => requestedSpec(req));
    expect(coordinator.code).toBe("invalid-argument");
    // The same problem and fix; a message has no lines, so only the CLI names one.
    expect(coordinator.message).toBe(cli.replace(/^(.*?):\d+: /, "$1: "));
  });
});
