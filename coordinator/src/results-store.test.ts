/**
 * The results store on real files: a torn last line (a crash or a full disk
 * mid-append) is never counted and is cut off on resume; storage faults are
 * errors naming the file and the fix and leave nothing behind; records are
 * group-committed (one fdatasync per batch, each caller told only once its
 * batch is on disk, bounded) and a run's live counts are shown without
 * rewriting meta.json. As root, on a real full (tmpfs) and read-only file system.
 */
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { create, toJson } from "@bufbuild/protobuf";
import { AgentStatusSchema, CaseRecordSchema, type CaseRecord } from "../../gen/netmatrix/v1/control_pb.js";
import { Encapsulation } from "../../gen/netmatrix/v1/fingerprint_pb.js";
import { FailureCode } from "../../gen/netmatrix/v1/types_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import { parseSpec } from "./matrix/index.js";
import { ResultsStore, type GroupCommitOptions, type RunDir } from "./results-store.js";
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

/** Every promise's outcome, in order: "ok" or the error. */
const outcomes = (ps: Promise<void>[]): Promise<("ok" | NetmatrixError)[]> =>
  Promise.all(
    ps.map((p) =>
      p.then(
        () => "ok" as const,
        (err: unknown) => {
          expect(err).toBeInstanceOf(NetmatrixError);
          return err as NetmatrixError;
        },
      ),
    ),
  );

describe("cases.jsonl: group commit (appendDurable)", () => {
  let dir: string;
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "nm-commit-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const store = (groupCommit: Partial<GroupCommitOptions> = {}): ResultsStore => new ResultsStore(join(dir, String(Math.random()).slice(2)), { groupCommit });

  test("many concurrent appends: one whole line each, in call order, each on disk when its promise resolves, far fewer fdatasyncs than records", async () => {
    const run = newRun(store());
    const file = join(run.dir, "cases.jsonl");
    const n = 2000;
    // Where each record's line ends in the file: once its promise resolves (after its batch's write and fdatasync), the file reaches it.
    let end = 0;
    const ends = Array.from({ length: n }, (_, i) => (end += Buffer.byteLength(line(record(run.runId, i)))));
    const seenOnDisk: boolean[] = [];
    const ps = Array.from({ length: n }, (_, i) =>
      run.appendDurable(record(run.runId, i)).then(() => {
        seenOnDisk[i] = statSync(file).size >= ends[i]!;
      }),
    );
    await Promise.all(ps);
    expect(seenOnDisk.filter(Boolean)).toHaveLength(n);
    expect(run.records().map((r) => r.caseId)).toEqual(Array.from({ length: n }, (_, i) => `case-${i}`));
    const text = readFileSync(file, "utf8");
    expect(text.split("\n")).toHaveLength(n + 1);
    expect(text.endsWith("}\n")).toBe(true);
    const stats = run.commitStats();
    expect(stats).toMatchObject({ records: n, failedBatches: 0, pendingBytes: 0 });
    expect(stats.batches).toBeGreaterThanOrEqual(1);
    expect(stats.batches).toBeLessThan(n / 10); // one fdatasync per batch, not per record
    expect(stats.largestBatch).toBeGreaterThan(10);
  });

  test("a batch is written when it is full, without waiting for its delay; flush() writes what waits; the bounds hold", async () => {
    const run = newRun(store({ maxDelayMs: 600_000, maxBatchRecords: 10 }));
    const full = Array.from({ length: 30 }, (_, i) => run.appendDurable(record(run.runId, i)));
    await Promise.all(full); // three full batches: no 10-minute wait (the test would time out)
    expect(run.commitStats()).toMatchObject({ batches: 3, records: 30, largestBatch: 10 });
    const waiting = Array.from({ length: 4 }, (_, i) => run.appendDurable(record(run.runId, 30 + i)));
    let settled = false;
    void Promise.all(waiting).then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false); // under the batch size, waiting for its delay
    expect(run.commitStats().pendingBytes).toBeGreaterThan(0);
    await run.flush();
    expect(settled).toBe(true);
    expect(run.commitStats()).toMatchObject({ batches: 4, records: 34, pendingBytes: 0 });
    expect(run.records()).toHaveLength(34);
  });

  test("the delay bounds how long a lone record waits, and what arrives within it shares its batch", async () => {
    const run = newRun(store({ maxDelayMs: 150 }));
    const t0 = performance.now();
    const first = run.appendDurable(record(run.runId, 1));
    await new Promise((r) => setTimeout(r, 20));
    const second = run.appendDurable(record(run.runId, 2));
    await Promise.all([first, second]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140); // held for the delay (timers do not fire early)
    expect(run.commitStats()).toMatchObject({ batches: 1, records: 2, largestBatch: 2 });
  });

  test("back-pressure: past maxPendingBytes an append waits for the batch in flight; bytes queued and in flight stay under the cap", async () => {
    const size = line(record("20260101-000000-abcd", 100, 2000)).length;
    const run = newRun(store({ maxDelayMs: 0, maxBatchBytes: 3 * size, maxPendingBytes: 6 * size }));
    let peak = 0;
    const ps = Array.from({ length: 200 }, (_, i) => {
      const p = run.appendDurable(record(run.runId, 100 + i, 2000));
      peak = Math.max(peak, run.commitStats().pendingBytes);
      return p;
    });
    await Promise.all(ps);
    expect(peak).toBeLessThanOrEqual(6 * size);
    expect(run.commitStats()).toMatchObject({ records: 200, pendingBytes: 0 });
    expect(run.commitStats().largestBatch).toBeLessThanOrEqual(3);
    expect(run.records().map((r) => r.caseId)).toEqual(Array.from({ length: 200 }, (_, i) => `case-${100 + i}`));
  });

  test("a failed batch rejects every one of its appends with the storage error, counts nothing, and appends work again once the fault is gone", async () => {
    const run = newRun(store());
    await run.appendDurable(record(run.runId, 0));
    const file = join(run.dir, "cases.jsonl");
    // A fault on the file: cases.jsonl is a directory, so opening it to append fails (EISDIR), root or not.
    const kept = readFileSync(file);
    rmSync(file);
    mkdirSync(file);
    const results = await outcomes(Array.from({ length: 50 }, (_, i) => run.appendDurable(record(run.runId, 1 + i))));
    const errors = results.filter((r): r is NetmatrixError => r !== "ok");
    expect(errors).toHaveLength(50);
    expect(new Set(errors).size).toBe(1); // the batch's one error, for each of its records
    expect(errors[0]!.message).toMatch(new RegExp(`^cannot write ${file}: .*EISDIR`));
    expect(run.commitStats()).toMatchObject({ records: 1, pendingBytes: 0 });
    expect(run.commitStats().failedBatches).toBeGreaterThanOrEqual(1);
    rmSync(file, { recursive: true });
    writeFileSync(file, kept);
    await Promise.all([1, 2, 3].map((i) => run.appendDurable(record(run.runId, 100 + i))));
    expect(run.records().map((r) => r.caseId)).toEqual(["case-0", "case-101", "case-102", "case-103"]);
  });

  test("close() writes what waits and refuses later appends; the blocking append() refuses to interleave with pending batches", async () => {
    const run = newRun(store({ maxDelayMs: 600_000 }));
    const waiting = run.appendDurable(record(run.runId, 1));
    expect(caught(() => run.append(record(run.runId, 2))).message).toContain("while group-committed records are pending");
    await run.close();
    await waiting;
    expect(run.records().map((r) => r.caseId)).toEqual(["case-1"]);
    await expect(run.appendDurable(record(run.runId, 3))).rejects.toThrow(/after the run's results were closed/);
    run.append(record(run.runId, 4)); // nothing pending: the blocking append still works (tests, one-off writers)
    expect(run.records()).toHaveLength(2);
  });

  test("progress(): live counts shown by list() and snapshot() while the run runs here, without rewriting meta.json; a final writeInfo ends them", async () => {
    const s = store();
    const run = newRun(s);
    const meta = join(run.dir, "meta.json");
    const onDisk = readFileSync(meta, "utf8");
    const running = new Set([run.runId]);
    const info = run.readInfo();
    for (const i of [1, 2, 3]) {
      await run.appendDurable(record(run.runId, i));
      info.done++;
      info.failed++;
      run.progress(info);
    }
    info.done = 99; // the store keeps a copy: a later change of the caller's object is not shown until progress() again
    expect(readFileSync(meta, "utf8")).toBe(onDisk); // not rewritten per record
    expect(s.list(running).find((r) => r.runId === run.runId)).toMatchObject({ status: "running", done: 3, failed: 3 });
    expect(s.snapshot(run.runId, running).info).toMatchObject({ status: "running", done: 3, failed: 3 });
    expect(s.snapshot(run.runId, running).records).toHaveLength(3);
    // Not running in this process (it stopped without a final state): meta.json's, interrupted, as before.
    expect(s.list().find((r) => r.runId === run.runId)).toMatchObject({ status: "interrupted", done: 0 });
    // Another store (another process) sees meta.json only.
    expect(new ResultsStore(s.dataDir).list(running).find((r) => r.runId === run.runId)).toMatchObject({ status: "running", done: 0 });
    info.done = 3;
    info.status = "finished";
    run.writeInfo(info);
    expect(JSON.parse(readFileSync(meta, "utf8"))).toMatchObject({ status: "finished", done: 3, failed: 3 });
    expect(s.list(running).find((r) => r.runId === run.runId)).toMatchObject({ status: "finished", done: 3 });
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

  test("a full disk mid-batch: every append of the batch rejects, the batch's written part is cut off, and appends work once there is room", async () => {
    const store = new ResultsStore(join(mnt, "batch"), { groupCommit: { maxDelayMs: 600_000, maxBatchRecords: 40 } });
    const run = newRun(store);
    await Promise.all(Array.from({ length: 40 }, (_, i) => run.appendDurable(record(run.runId, i))));
    const file = join(run.dir, "cases.jsonl");
    const intact = statSync(file).size;
    // 64 KiB left: the disk takes the first part of a batch of 40 records of ~20 KB, then refuses the rest.
    fill(filler());
    truncateSync(filler(), statSync(filler()).size - 64 * 1024);
    const results = await outcomes(Array.from({ length: 40 }, (_, i) => run.appendDurable(record(run.runId, 40 + i, 20_000))));
    expect(results.every((r) => r !== "ok" && r.code === "resource-exhausted" && r.message === `cannot write ${file}: no space left on the disk (ENOSPC)`)).toBe(true);
    expect(statSync(file).size).toBe(intact);
    expect(run.records()).toHaveLength(40);
    rmSync(filler());
    await Promise.all([run.appendDurable(record(run.runId, 80)), run.appendDurable(record(run.runId, 81))]);
    expect(
      run
        .records()
        .map((r) => r.caseId)
        .slice(-3),
    ).toEqual(["case-39", "case-80", "case-81"]);
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
    // A resume refused by the same fault (its "running" meta.json cannot be written) changes nothing shown, then or later.
    const resumed = Object.assign(store.open(run.runId).readInfo(), { status: "running", error: "" });
    expect(caught(() => store.open(run.runId).writeInfo(resumed)).message).toContain("read-only (EROFS)");
    expect(store.list().map((r) => r.status)).toEqual(["failed"]);
    execFileSync("mount", ["-o", "remount,rw", mnt]);
    expect(store.snapshot(run.runId).info?.status).toBe("failed");
    expect(store.list().map((r) => r.status)).toEqual(["failed"]);
    expect(JSON.parse(readFileSync(join(run.dir, "meta.json"), "utf8")).status).toBe("failed");
    expect(existsSync(join(run.dir, "meta.json.tmp"))).toBe(false);
  });
});

describe("inventory.json keeps the agents' environment fingerprints", () => {
  let dir: string;
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), "nm-store-fp-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a fingerprint written with the run comes back; an inventory from before fingerprints still loads, without one", () => {
    const store = new ResultsStore(dir);
    const agent = create(AgentStatusSchema, {
      agentId: "n1/host",
      info: {
        node: "n1",
        fingerprint: { kernel: "6.8.0", encapsulation: Encapsulation.VXLAN, interfaces: [{ name: "eth0", mtu: 1450, offloads: { "generic-receive-offload": true } }] },
      },
    });
    const run = store.create({ name: spec.name, specYaml: "", spec, agents: [agent], total: 1 });
    const back = store.open(run.runId).agents()[0]!.info!.fingerprint!;
    expect(back.encapsulation).toBe(Encapsulation.VXLAN);
    expect(back.interfaces[0]).toMatchObject({ name: "eth0", mtu: 1450, offloads: { "generic-receive-offload": true } });
    // An older run's inventory: the same file without the field.
    const file = join(run.dir, "inventory.json");
    const old = (JSON.parse(readFileSync(file, "utf8")) as { info: Record<string, unknown> }[]).map((a) => ({ ...a, info: { ...a.info, fingerprint: undefined } }));
    writeFileSync(file, JSON.stringify(old));
    expect(store.open(run.runId).agents()[0]!.info!.fingerprint).toBeUndefined();
  });
});
