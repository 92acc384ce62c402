/**
 * The results store on real files: a torn last line (a crash or a full disk
 * mid-append) is never counted and is cut off on resume; storage faults are
 * errors naming the file and the fix and leave nothing behind. As root, on a
 * real full (tmpfs) and read-only file system.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { create, toJson } from "@bufbuild/protobuf";
import { CaseRecordSchema, type CaseRecord } from "../../gen/netmatrix/v1/control_pb.js";
import { FailureCode } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { parseSpec } from "./matrix/index.js";
import { ResultsStore, type RunDir } from "./results-store.js";
import { fillFileSystem } from "../../test/harness/fill.js";

const spec = parseSpec("name: store-test\nscenarios: [host-host]\ntools: [iperf3]\n", "store-test.yaml");

function record(runId: string, i: number, pad = 0): CaseRecord {
  return create(CaseRecordSchema, {
    runId,
    caseId: `case-${i}`,
    key: `host-host/n1->n2/${"x".repeat(pad)}`,
    repetition: 0,
    result: { caseId: `case-${i}`, repetitions: [{ index: 0, outcome: { case: "failure", value: { code: FailureCode.TOOL_ERROR, reason: "test" } } }] },
  });
}

const line = (r: CaseRecord): string => `${JSON.stringify(toJson(CaseRecordSchema, r))}\n`;
const newRun = (store: ResultsStore): RunDir => store.create({ name: spec.name, specYaml: "", spec, agents: [], total: 10 });
const caught = (f: () => unknown): NetmatrixError => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(NetmatrixError);
    return err as NetmatrixError;
  }
  throw new Error("expected an error");
};

describe("cases.jsonl: a torn line is never counted", () => {
  let dir: string;
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "nm-store-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a last line cut short is dropped, cut off on repair, and the next append starts on a clean line", () => {
    const store = new ResultsStore(dir);
    const run = newRun(store);
    for (const i of [1, 2, 3]) run.append(record(run.runId, i));
    const file = join(run.dir, "cases.jsonl");
    const intact = statSync(file).size;
    // What a crash (or the disk filling up) mid-append leaves: part of the 4th line.
    const torn = line(record(run.runId, 4));
    appendFileSync(file, torn.slice(0, torn.length >> 1));
    expect(run.records().map((r) => r.caseId)).toEqual(["case-1", "case-2", "case-3"]);
    expect(statSync(file).size).toBeGreaterThan(intact); // reading alone changes nothing
    expect(run.records(true)).toHaveLength(3);
    expect(statSync(file).size).toBe(intact);
    run.append(record(run.runId, 4));
    expect(run.records().map((r) => r.caseId)).toEqual(["case-1", "case-2", "case-3", "case-4"]);
    expect(readFileSync(file, "utf8").endsWith("}\n")).toBe(true);
  });

  test("a complete but damaged tail (zeros a crash can leave, a record that does not decode) is dropped too", () => {
    const run = newRun(new ResultsStore(dir));
    run.append(record(run.runId, 1));
    const file = join(run.dir, "cases.jsonl");
    const intact = statSync(file).size;
    appendFileSync(file, Buffer.concat([Buffer.alloc(300), Buffer.from("\n"), Buffer.from('{"caseId": 7}\n'), Buffer.from("\n")]));
    expect(run.records(true).map((r) => r.caseId)).toEqual(["case-1"]);
    expect(statSync(file).size).toBe(intact);
  });

  test("a damaged line before intact ones is an error naming the file and the line, not a silent loss", () => {
    const run = newRun(new ResultsStore(dir));
    const file = join(run.dir, "cases.jsonl");
    writeFileSync(file, line(record(run.runId, 1)) + '{"runId":"x", "caseId"\n' + line(record(run.runId, 3)));
    const err = caught(() => run.records(true));
    expect(err.message).toContain(`${file}:2: not a case record`);
    expect(err.hint).toMatch(/delete line 2/);
  });

  test("recover() at start-up: a run left running is marked interrupted with its counts, its torn tail and .tmp files gone", () => {
    const data = join(dir, "recover");
    const store = new ResultsStore(data);
    const run = newRun(store);
    for (const i of [1, 2]) run.append(record(run.runId, i));
    appendFileSync(join(run.dir, "cases.jsonl"), '{"runId":"');
    writeFileSync(join(run.dir, "meta.json.tmp"), "{");
    const done = newRun(store);
    done.writeInfo(Object.assign(done.readInfo(), { status: "finished" }));
    const again = new ResultsStore(data);
    expect(again.recover()).toEqual([]);
    expect(run.readInfo()).toMatchObject({ status: "interrupted", done: 2, failed: 2 });
    expect(readdirSync(run.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(readFileSync(join(run.dir, "cases.jsonl"), "utf8").endsWith("}\n")).toBe(true);
    expect(done.readInfo().status).toBe("finished");
  });
});

const root = process.getuid?.() === 0;

function fill(file: string): void {
  fillFileSystem(file);
}

describe.skipIf(!root)("storage faults on a real full and read-only file system (tmpfs; needs root)", () => {
  let mnt: string;
  const filler = (): string => join(mnt, "filler");
  beforeAll(() => {
    mnt = mkdtempSync(join(tmpdir(), "nm-store-tmpfs-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "nm-store-test", mnt]);
  });
  afterEach(() => {
    execFileSync("mount", ["-o", "remount,rw", mnt]);
    rmSync(filler(), { force: true });
  });
  afterAll(() => {
    try {
      execFileSync("umount", [mnt]);
    } finally {
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  test("a full disk: append cuts its partial line back, meta.json keeps no .tmp and is written once there is room", () => {
    const store = new ResultsStore(join(mnt, "data"));
    const run = newRun(store);
    run.append(record(run.runId, 1));
    const file = join(run.dir, "cases.jsonl");
    const intact = statSync(file).size;
    // Without the cut, the full disk takes part of a long line (what the old append left behind).
    const big = record(run.runId, 2, 20_000);
    const probe = join(run.dir, "probe.jsonl");
    writeFileSync(probe, line(record(run.runId, 1)));
    fill(filler());
    expect(() => appendFileSync(probe, line(big))).toThrow(/ENOSPC/);
    expect(statSync(probe).size).toBeGreaterThan(intact);
    rmSync(probe);
    fill(filler() + "2");

    const err = caught(() => run.append(big));
    expect(err.code).toBe("resource-exhausted");
    expect(err.message).toBe(`cannot write ${file}: no space left on the disk (ENOSPC)`);
    expect(err.hint).toContain(`free space on the disk holding ${join(mnt, "data")}`);
    expect(err.hint).toContain("--data-dir");
    expect(statSync(file).size).toBe(intact);
    expect(run.records()).toHaveLength(1);

    const info = Object.assign(run.readInfo(), { status: "failed", error: err.message, done: 1 });
    const meta = caught(() => run.writeInfo(info));
    expect(meta.message).toBe(`cannot write ${join(run.dir, "meta.json")}: no space left on the disk (ENOSPC)`);
    expect(readdirSync(run.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect(run.readInfo().status).toBe("running"); // on disk
    expect(store.list().find((r) => r.runId === run.runId)).toMatchObject({ status: "failed", error: err.message }); // kept in memory
    expect(store.snapshot(run.runId).info).toMatchObject({ status: "failed" });

    const refused = caught(() => newRun(store));
    expect(refused.code).toBe("resource-exhausted");
    expect(refused.message).toMatch(new RegExp(`^cannot (write|create) ${join(mnt, "data", "runs")}/`));
    expect(readdirSync(store.root)).toEqual([run.runId]); // nothing of the refused run is left

    rmSync(filler());
    rmSync(filler() + "2");
    expect(store.list().find((r) => r.runId === run.runId)?.status).toBe("failed");
    expect(JSON.parse(readFileSync(join(run.dir, "meta.json"), "utf8"))).toMatchObject({ status: "failed", error: err.message, done: 1 });
  });

  test("a read-only disk: a clear error naming the file and the fix; the failed state is kept and written after remounting", () => {
    const store = new ResultsStore(join(mnt, "ro"));
    const run = newRun(store);
    run.append(record(run.runId, 1));
    execFileSync("mount", ["-o", "remount,ro", mnt]);
    const err = caught(() => run.append(record(run.runId, 2)));
    expect(err.code).toBe("failed-precondition");
    expect(err.message).toBe(`cannot write ${join(run.dir, "cases.jsonl")}: the file system is read-only (EROFS)`);
    expect(err.hint).toContain(`remount the disk holding ${join(mnt, "ro")} read-write`);
    expect(run.records()).toHaveLength(1);
    const info = Object.assign(run.readInfo(), { status: "failed", error: err.message });
    expect(caught(() => run.writeInfo(info)).message).toContain("read-only (EROFS)");
    expect(caught(() => newRun(store)).message).toMatch(/read-only \(EROFS\)/);
    expect(new ResultsStore(join(mnt, "ro")).list().map((r) => r.status)).toEqual(["interrupted"]); // readable; another store knows nothing kept
    expect(store.list().map((r) => r.status)).toEqual(["failed"]);
    execFileSync("mount", ["-o", "remount,rw", mnt]);
    expect(store.snapshot(run.runId).info?.status).toBe("failed");
    expect(JSON.parse(readFileSync(join(run.dir, "meta.json"), "utf8")).status).toBe("failed");
    expect(existsSync(join(run.dir, "meta.json.tmp"))).toBe(false);
  });
});
