/**
 * Durable results: one directory per run under DATA_DIR/runs/RUN_ID with the
 * spec (as written, spec.yaml, and as run, spec.json: the validated spec
 * with the YAML's keys, as every run has stored it), the agents' inventory,
 * meta.json (status, counts) and cases.jsonl — one JSON line per finished case repetition,
 * appended and fsync'd before anyone hears of it. A crash loses at most the
 * repetitions that were running; `resume` skips everything already on disk.
 *
 * Appends are group-committed ({@link RunDir.appendDurable}): the records
 * that finish within a few milliseconds of each other are written together
 * with one async write and one fdatasync, off the event loop, and each
 * caller's promise settles only once its batch is on disk. meta.json is
 * rewritten on state changes (start, end), not per record: the live counts of
 * a run this process runs are kept in memory ({@link RunDir.progress}) and
 * shown by {@link ResultsStore.list} and {@link ResultsStore.snapshot}; after a
 * crash, {@link ResultsStore.recover} recounts them from cases.jsonl.
 *
 * Storage faults (a full disk, a quota, a read-only mount, permissions) are
 * NetmatrixErrors naming the file and the fix ({@link storageError}). A write
 * that fails leaves nothing behind: no `.tmp` file, no partial line (an
 * append cut short is truncated away; one left by a crash is dropped when the
 * file is read and cut off on resume). A meta.json that cannot be written is
 * kept in memory and written at the next chance (see {@link ResultsStore}).
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { open as openFile, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { clone, create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import {
  AgentStatusSchema,
  CaseRecordSchema,
  GetRunResponseSchema,
  RunInfoSchema,
  type AgentStatus,
  type CaseRecord,
  type GetRunResponse,
  type RunInfo,
} from "../../gen/netmatrix/v1/control_pb.js";
import { NetmatrixError } from "../../common/src/errors.js";
import type { MatrixSpec } from "./matrix/spec-types.js";
import { specDocument, specFromJson, specMessage } from "./matrix/spec-wire.js";

const RUN_ID = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$/;

/** A new run id: UTC date and time plus 4 random hex digits, e.g. 20261123-201500-a3f9. */
export function newRunId(now = new Date()): string {
  const iso = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${iso}-${randomBytes(2).toString("hex")}`;
}

const DATA_DIR_FLAG = "--data-dir (env NETMATRIX_DATA_DIR)";

/**
 * A NetmatrixError for a failed file operation on `file`: what happened in
 * words (with the errno code), the file, and the fix. `dataDir` is the
 * coordinator's data directory, named in the fix (default: the file's directory).
 */
export function storageError(err: unknown, file: string, action: "write" | "read" | "create", dataDir = dirname(file)): NetmatrixError {
  if (err instanceof NetmatrixError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? "";
  const what = `cannot ${action} ${file}`;
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return new NetmatrixError("resource-exhausted", `${what}: ${code === "ENOSPC" ? "no space left on the disk" : "the disk quota is used up"} (${code})`, {
        cause: err,
        hint: `free space on the disk holding ${dataDir} (see \`df -h ${dataDir}\`), or start the coordinator with ${DATA_DIR_FLAG} on a disk with room`,
      });
    case "EROFS":
      return new NetmatrixError("failed-precondition", `${what}: the file system is read-only (EROFS)`, {
        cause: err,
        hint: `remount the disk holding ${dataDir} read-write, or start the coordinator with ${DATA_DIR_FLAG} on a writable disk`,
      });
    case "EACCES":
    case "EPERM":
      return new NetmatrixError("failed-precondition", `${what}: permission denied (${code})`, {
        cause: err,
        hint: `let the coordinator's user ${action === "read" ? "read" : "write"} ${dataDir} (chown or chmod it), or start the coordinator with ${DATA_DIR_FLAG} on a directory it owns`,
      });
    case "EIO":
      return new NetmatrixError("internal", `${what}: input/output error (EIO)`, {
        cause: err,
        hint: `the disk holding ${dataDir} is failing (see \`dmesg\`); start the coordinator with ${DATA_DIR_FLAG} on another disk`,
      });
    default:
      return new NetmatrixError("internal", `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * Replace `file` atomically (write then rename); on failure the `.tmp` file
 * is removed and a {@link storageError} thrown. Not fsync'd: meta.json is a
 * summary that resume recomputes from cases.jsonl, which is fsync'd per batch.
 */
function writeAtomic(file: string, text: string, dataDir?: string): void {
  const tmp = `${file}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    removeQuietly(tmp);
    throw storageError(err, file, "write", dataDir);
  }
}

/** Remove `path` if it is there; a failure to (on a read-only disk, nothing was made) is not the error to report. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // see above
  }
}

/** A run's status as shown: what meta.json says, unless the run is not running any more. */
function settled(runId: string, info: RunInfo, running: Set<string>, unsaved?: RunInfo): RunInfo {
  if (info.status !== "running" || running.has(runId)) return info;
  if (unsaved) return clone(RunInfoSchema, unsaved);
  info.status = "interrupted";
  return info;
}

/**
 * Group commit of cases.jsonl ({@link RunDir.appendDurable}). A batch is
 * written when its first record has waited `maxDelayMs`, or at once when it
 * holds `maxBatchRecords` records or `maxBatchBytes` bytes, or on
 * {@link RunDir.flush}; one batch is in flight at a time, and what queues up
 * behind it goes as the next batch as soon as it is done.
 */
export interface GroupCommitOptions {
  /** How long the first record of a batch waits for others (0: until the event loop's next turn). */
  maxDelayMs: number;
  /** A batch this large (records) is written without waiting. */
  maxBatchRecords: number;
  /** A batch this large (bytes) is written without waiting; at most this much goes in one write. */
  maxBatchBytes: number;
  /**
   * Back-pressure: while the bytes queued and in flight would pass this,
   * appendDurable waits for the batch in flight before queueing its record
   * (at least `maxBatchBytes`; a single larger record is taken alone).
   */
  maxPendingBytes: number;
}

/** Case records are ~30 KB (timelines): up to ~270 per 8 MiB write; 64 MiB queued at most. */
export const GROUP_COMMIT_DEFAULTS: Readonly<GroupCommitOptions> = { maxDelayMs: 10, maxBatchRecords: 4096, maxBatchBytes: 8 << 20, maxPendingBytes: 64 << 20 };

/** What group commit has done for one RunDir (tests, benchmarks). */
export interface GroupCommitStats {
  /** Batches written and fdatasync'd (one fdatasync each). */
  batches: number;
  /** Records in those batches. */
  records: number;
  /** The most records in one batch. */
  largestBatch: number;
  /** Batches that failed (their every record rejected). */
  failedBatches: number;
  /** Bytes queued or in flight now. */
  pendingBytes: number;
}

/** How many appendDurable callers of a batch go on per turn of the event loop. */
const RESOLVE_SLICE = 8;

interface PendingRecord {
  line: Buffer;
  resolve: () => void;
  reject: (err: NetmatrixError) => void;
}

/** One run's directory. */
export class RunDir {
  /** Group commit: records waiting for the next batch, and their bytes. */
  private queue: PendingRecord[] = [];
  private queuedBytes = 0;
  /** The batch being written (one at a time), and its bytes. */
  private inflight: Promise<void> | undefined;
  private inflightBytes = 0;
  /** Set when the queue is to be written as soon as nothing is in flight. */
  private due = false;
  /** Cancels the armed batch delay, if any. */
  private cancelDelay: (() => void) | undefined;
  /** Records queued so far, and settled so far (batches settle in order). */
  private queuedCount = 0;
  private settledCount = 0;
  /** Called once the batch in flight has settled (back-pressure, flush). */
  private settledWaiters: (() => void)[] = [];
  private closed = false;
  private readonly stats: Omit<GroupCommitStats, "pendingBytes"> = { batches: 0, records: 0, largestBatch: 0, failedBatches: 0 };
  private readonly commit: GroupCommitOptions;

  constructor(
    readonly dir: string,
    readonly runId: string,
    /** The store it belongs to, which keeps a meta.json that could not be written (none for a copied run directory). */
    private readonly store?: ResultsStore,
  ) {
    const o = store?.groupCommit ?? GROUP_COMMIT_DEFAULTS;
    this.commit = { ...o, maxPendingBytes: Math.max(o.maxPendingBytes, o.maxBatchBytes) };
  }

  private path(name: string): string {
    return join(this.dir, name);
  }

  /** A file of the run as text; a {@link storageError} when it cannot be read. */
  private read(name: string): string {
    try {
      return readFileSync(this.path(name), "utf8");
    } catch (err) {
      throw storageError(err, this.path(name), "read", this.store?.dataDir);
    }
  }

  readInfo(): RunInfo {
    const file = this.path("meta.json");
    const text = this.read("meta.json");
    try {
      return fromJson(RunInfoSchema, JSON.parse(text) as JsonValue, { ignoreUnknownFields: true });
    } catch (err) {
      throw new NetmatrixError("internal", `${file} is damaged: ${(err as Error).message}`, {
        cause: err,
        hint: `restore it, or remove the run directory ${this.dir}`,
      });
    }
  }

  /**
   * Write meta.json atomically: on state changes (the run starts, resumes,
   * ends); per record, {@link progress}. When that fails (a
   * {@link storageError} is thrown), a final status (anything but "running")
   * is kept by the store, shown instead of the file's and written at the
   * next chance. Once written, meta.json is the run's state again (the live
   * one of {@link progress} is dropped); a final status drops it either way.
   */
  writeInfo(info: RunInfo): void {
    if (info.status !== "running") this.store?.keep(this.runId, this, info);
    writeAtomic(this.path("meta.json"), `${JSON.stringify(toJson(RunInfoSchema, info), null, 2)}\n`, this.store?.dataDir);
    this.store?.saved(this.runId);
  }

  /**
   * The run's live state (counts after each record) without writing
   * meta.json: the store shows it instead of the file's while the run is
   * running in this process (ResultsStore.list/snapshot with it in
   * `running`). A copy is kept; the next {@link writeInfo} with a final
   * status ends it. Costs a small object copy, no I/O.
   */
  progress(info: RunInfo): void {
    this.store?.progress(this.runId, info);
  }

  specYaml(): string {
    return existsSync(this.path("spec.yaml")) ? this.read("spec.yaml") : "";
  }

  specJson(): string {
    return this.read("spec.json");
  }

  /** The spec as run, validated (a SpecError naming spec.json when it does not validate). */
  spec(): MatrixSpec {
    return specFromJson(this.specJson(), this.path("spec.json"));
  }

  agents(): AgentStatus[] {
    const raw = JSON.parse(this.read("inventory.json")) as JsonValue[];
    return raw.map((a) => fromJson(AgentStatusSchema, a, { ignoreUnknownFields: true }));
  }

  /**
   * Append one record and flush it to disk before returning, blocking the
   * event loop (one fsync per record: for one-off writers and tests; a run
   * uses {@link appendDurable}). When that fails the file is cut back to its
   * length before (a full disk takes part of the line first) and a
   * {@link storageError} is thrown: the record is not on disk. Not while
   * group-committed records are pending (an internal error).
   */
  append(record: CaseRecord): void {
    const file = this.path("cases.jsonl");
    if (this.queue.length || this.inflight) {
      throw new NetmatrixError("internal", `${file}: RunDir.append() while group-committed records are pending`, { hint: "await flush() first, or use appendDurable()" });
    }
    const line = Buffer.from(`${JSON.stringify(toJson(CaseRecordSchema, record))}\n`);
    let fd: number | undefined;
    let size = 0;
    try {
      fd = openSync(file, "a");
      size = fstatSync(fd).size;
      for (let off = 0; off < line.length;) off += writeSync(fd, line, off, line.length - off);
      fsyncSync(fd);
    } catch (err) {
      if (fd !== undefined) {
        try {
          ftruncateSync(fd, size);
          fsyncSync(fd);
        } catch {
          // The partial line stays; records() drops it and resume cuts it off.
        }
      }
      throw storageError(err, file, "write", this.store?.dataDir);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /**
   * Append one record to cases.jsonl with group commit: the promise resolves
   * once the record's batch is written and fdatasync'd (one async write and
   * one fdatasync per batch, none of it on the event loop), so whoever hears
   * of the record after that finds it on disk. Records are written in the
   * order of the calls (calls held back by back-pressure queue up after).
   * A record waits at most `maxDelayMs` for company, then for the batch in
   * flight (if any) and its own batch's write and fdatasync; a batch's
   * callers are resumed a few at a time, the event loop let in between.
   *
   * When the batch's write or fdatasync fails, the file is cut back to its
   * length before the batch and every promise of the batch rejects with the
   * same {@link storageError} naming cases.jsonl and the fix: none of its
   * records counts. (Should the cut fail too, complete lines of the batch may
   * stay and count on resume, and a torn last line is dropped by
   * {@link records}, as with {@link append}.) The next batch tries again:
   * once the fault is fixed, appends succeed.
   *
   * Bounded (see {@link GroupCommitOptions}): past `maxPendingBytes` queued
   * and in flight, the call waits for the batch in flight before queueing
   * (back-pressure, never a rejection). After {@link close}, it rejects.
   */
  async appendDurable(record: CaseRecord): Promise<void> {
    const line = Buffer.from(`${JSON.stringify(toJson(CaseRecordSchema, record))}\n`);
    const { maxPendingBytes, maxBatchRecords, maxBatchBytes } = this.commit;
    for (;;) {
      if (this.closed) throw new NetmatrixError("internal", `${this.path("cases.jsonl")}: a record appended after the run's results were closed`);
      const pending = this.queuedBytes + this.inflightBytes;
      if (pending === 0 || pending + line.length <= maxPendingBytes) break;
      await this.batchSettled();
    }
    const done = new Promise<void>((resolve, reject) => this.queue.push({ line, resolve, reject }));
    this.queuedBytes += line.length;
    this.queuedCount++;
    if (this.queue.length >= maxBatchRecords || this.queuedBytes >= maxBatchBytes) this.due = true;
    this.schedule();
    return done;
  }

  /**
   * Write what is queued now, without waiting for the batch delay; resolves
   * once everything appended before the call has settled (on disk, or its
   * appendDurable rejected: errors go to those callers, never here).
   */
  async flush(): Promise<void> {
    const target = this.queuedCount;
    while (this.settledCount < target) {
      this.due = true;
      this.kick();
      await this.batchSettled();
    }
  }

  /**
   * {@link flush}, then refuse further appends (an append still held back by
   * back-pressure then is refused too). Await it before the run's final
   * writeInfo. Nothing stays open between batches: not calling it leaks nothing.
   */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  /** What group commit has done for this run directory. */
  commitStats(): GroupCommitStats {
    return { ...this.stats, pendingBytes: this.queuedBytes + this.inflightBytes };
  }

  /** Resolves when the batch in flight settles (at once when none is, nor any is to start). */
  private batchSettled(): Promise<void> {
    if (!this.inflight && this.queue.length) {
      this.due = true;
      this.kick();
    }
    if (!this.inflight) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /** Start the queue's batch when it is due, or arm the delay that makes it due. */
  private schedule(): void {
    if (this.due) return this.kick();
    if (this.cancelDelay) return;
    const fire = (): void => {
      this.cancelDelay = undefined;
      this.due = true;
      this.kick();
    };
    if (this.commit.maxDelayMs > 0) {
      const t = setTimeout(fire, this.commit.maxDelayMs);
      this.cancelDelay = () => clearTimeout(t);
    } else {
      const t = setImmediate(fire);
      this.cancelDelay = () => clearImmediate(t);
    }
  }

  /** Start writing a batch if one is due and none is in flight. */
  private kick(): void {
    if (this.inflight || !this.due || !this.queue.length) return;
    this.cancelDelay?.();
    this.cancelDelay = undefined;
    this.due = false;
    const { maxBatchRecords, maxBatchBytes } = this.commit;
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < maxBatchRecords && (n === 0 || bytes + this.queue[n]!.line.length <= maxBatchBytes)) bytes += this.queue[n++]!.line.length;
    const batch = this.queue.splice(0, n);
    this.queuedBytes -= bytes;
    this.inflightBytes = bytes;
    this.inflight = this.writeBatch(batch).finally(() => {
      this.inflight = undefined;
      this.inflightBytes = 0;
      // What queued up while this batch was written has waited long enough: it goes next.
      if (this.queue.length) this.due = true;
      this.kick();
      const waiters = this.settledWaiters;
      this.settledWaiters = [];
      for (const w of waiters) w();
    });
  }

  /** One batch: one write, one fdatasync; on failure the file is cut back and every record rejected. Never rejects itself. */
  private async writeBatch(batch: PendingRecord[]): Promise<void> {
    const file = this.path("cases.jsonl");
    let fh: FileHandle | undefined;
    let size: number | undefined;
    try {
      const buf = batch.length === 1 ? batch[0]!.line : Buffer.concat(batch.map((p) => p.line));
      fh = await openFile(file, "a");
      size = (await fh.stat()).size;
      for (let off = 0; off < buf.length;) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
      await fh.datasync();
    } catch (err) {
      if (fh && size !== undefined) {
        try {
          await fh.truncate(size);
          await fh.datasync();
        } catch {
          // The partial tail stays; records() drops a torn last line and resume cuts it off.
        }
      }
      this.stats.failedBatches++;
      this.settledCount += batch.length;
      const error = storageError(err, file, "write", this.store?.dataDir);
      for (const p of batch) p.reject(error);
      return;
    } finally {
      await fh?.close().catch(() => undefined);
    }
    this.stats.batches++;
    this.stats.records += batch.length;
    this.settledCount += batch.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.length);
    // The callers go on (count, stream the record) in slices, the event loop let in between: a big batch is no long block.
    for (let i = 0; i < batch.length; i += RESOLVE_SLICE) {
      if (i) await new Promise((r) => setImmediate(r));
      for (const p of batch.slice(i, i + RESOLVE_SLICE)) p.resolve();
    }
  }

  /** Everything kept about the run, as `GetRun` returns it; `info` overrides meta.json (live status). */
  snapshot(info: RunInfo = this.readInfo()): GetRunResponse {
    const specJson = this.specJson();
    const spec = specMessage(specFromJson(specJson, this.path("spec.json")));
    return create(GetRunResponseSchema, { info, specYaml: this.specYaml(), specJson, spec, agents: this.agents(), records: this.records() });
  }

  /**
   * Every complete record on disk. The tail a crash or a full disk can leave
   * (a last line without its newline, lines that are not a record after the
   * last good one) is not a record: it is dropped, so its repetition counts as
   * not done, and with `repair` cut off so appends start on a clean line. A
   * damaged line before good ones is never written by netmatrix: an error
   * naming the file and the line.
   */
  records(repair = false): CaseRecord[] {
    const file = this.path("cases.jsonl");
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw storageError(err, file, "read", this.store?.dataDir);
    }
    const out: CaseRecord[] = [];
    let good = 0; // end of the last good line
    let damaged: { line: number; reason: string } | undefined;
    for (let pos = 0, line = 1; pos < buf.length; line++) {
      const nl = buf.indexOf(0x0a, pos);
      if (nl < 0) break; // cut short
      const text = buf.toString("utf8", pos, nl);
      pos = nl + 1;
      if (!text.trim()) {
        if (!damaged) good = pos;
        continue;
      }
      let record: CaseRecord;
      try {
        record = fromJson(CaseRecordSchema, JSON.parse(text) as JsonValue, { ignoreUnknownFields: true });
      } catch (err) {
        damaged ??= { line, reason: (err as Error).message };
        continue;
      }
      if (damaged) {
        throw new NetmatrixError("internal", `${file}:${damaged.line}: not a case record (${damaged.reason}), and intact records follow it`, {
          hint: `netmatrix never writes that: restore the file, or delete line ${damaged.line} (--resume measures its repetition again)`,
        });
      }
      out.push(record);
      good = pos;
    }
    if (repair && good < buf.length) {
      try {
        truncateSync(file, good);
      } catch (err) {
        throw storageError(err, file, "write", this.store?.dataDir);
      }
    }
    return out;
  }
}

export class ResultsStore {
  readonly root: string;
  /** Final run states whose meta.json could not be written (a full or read-only disk), by run id. */
  private readonly unsaved = new Map<string, { run: RunDir; info: RunInfo }>();
  /** Live states of running runs (RunDir.progress), newer than their meta.json, by run id; shown only while in `running`. */
  private readonly live = new Map<string, RunInfo>();
  /** How the store's run directories group-commit their records. */
  readonly groupCommit: Readonly<GroupCommitOptions>;

  constructor(
    readonly dataDir: string,
    opts: { groupCommit?: Partial<GroupCommitOptions> } = {},
  ) {
    this.groupCommit = { ...GROUP_COMMIT_DEFAULTS, ...opts.groupCommit };
    this.root = join(dataDir, "runs");
    try {
      mkdirSync(this.root, { recursive: true });
    } catch (err) {
      throw storageError(err, this.root, "create", dataDir);
    }
  }

  /** Keep `info` as `run`'s state until its meta.json is written (RunDir.writeInfo); a final state ends the live one. */
  keep(runId: string, run: RunDir, info: RunInfo): void {
    this.live.delete(runId);
    this.unsaved.set(runId, { run, info: clone(RunInfoSchema, info) });
  }

  /** A copy of `info` is `runId`'s live state, shown instead of its meta.json while it runs here (RunDir.progress). */
  progress(runId: string, info: RunInfo): void {
    this.live.set(runId, clone(RunInfoSchema, info));
  }

  /** `run`'s state as shown before settling: its live state while it runs here, else meta.json. */
  private current(run: RunDir, running: Set<string>): RunInfo {
    const live = running.has(run.runId) ? this.live.get(run.runId) : undefined;
    return live ? clone(RunInfoSchema, live) : run.readInfo();
  }

  /** `runId`'s meta.json was written: forget what was kept (and the live state) for it, and write what is kept for others. */
  saved(runId: string): void {
    this.unsaved.delete(runId);
    this.live.delete(runId);
    this.flush();
  }

  /** Write every kept meta.json that can be written now (the disk has room again, or is writable again). */
  private flush(): void {
    for (const [runId, { run, info }] of this.unsaved) {
      try {
        writeAtomic(join(run.dir, "meta.json"), `${JSON.stringify(toJson(RunInfoSchema, info), null, 2)}\n`, this.dataDir);
        this.unsaved.delete(runId);
      } catch {
        // Still not writable: kept, and shown by list() and snapshot().
      }
    }
  }

  /** Create a run directory with its spec and inventory; on failure nothing of it is left. */
  create(opts: { name: string; specYaml: string; spec: MatrixSpec; agents: AgentStatus[]; total: number }): RunDir {
    this.flush();
    const runId = newRunId();
    const dir = join(this.root, runId);
    const run = new RunDir(dir, runId, this);
    let file = dir;
    try {
      mkdirSync(dir); // not recursive: that reports EROFS as ENOENT (the root exists: constructor)
      const write = (name: string, text: string): void => writeFileSync((file = join(dir, name)), text);
      if (opts.specYaml) write("spec.yaml", opts.specYaml);
      write("spec.json", `${JSON.stringify(specDocument(opts.spec))}\n`);
      write(
        "inventory.json",
        `${JSON.stringify(
          opts.agents.map((a) => toJson(AgentStatusSchema, a)),
          null,
          2,
        )}\n`,
      );
      const now = Date.now();
      run.writeInfo(create(RunInfoSchema, { runId, name: opts.name, createdAtMs: now, updatedAtMs: now, status: "running", total: opts.total }));
    } catch (err) {
      removeQuietly(dir);
      throw storageError(err, file, file === dir ? "create" : "write", this.dataDir);
    }
    return run;
  }

  /** An existing run; a NetmatrixError naming the fix when there is none. */
  open(runId: string): RunDir {
    const dir = join(this.root, runId);
    if (!RUN_ID.test(runId) || !existsSync(join(dir, "meta.json"))) {
      throw new NetmatrixError("not-found", `no run "${runId}" in ${this.root}`, { hint: "list runs with `netmatrix runs`" });
    }
    this.flush();
    return new RunDir(dir, runId, this);
  }

  /** A run's snapshot with its live status and counts (see `list`). */
  snapshot(runId: string, running: Set<string> = new Set()): GetRunResponse {
    const run = this.open(runId);
    return run.snapshot(settled(runId, this.current(run, running), running, this.unsaved.get(runId)?.info));
  }

  /**
   * Every run, newest first. A run this process runs shows its live counts
   * (RunDir.progress; its meta.json is not rewritten per record). A run still
   * marked running that this process does not run was interrupted, or failed
   * (when this process could not write that down).
   */
  list(running: Set<string> = new Set()): RunInfo[] {
    this.flush();
    let dirs: string[];
    try {
      dirs = readdirSync(this.root);
    } catch (err) {
      throw storageError(err, this.root, "read", this.dataDir);
    }
    return dirs
      .filter((d) => RUN_ID.test(d) && existsSync(join(this.root, d, "meta.json")) && statSync(join(this.root, d)).isDirectory())
      .map((d) => settled(d, this.current(new RunDir(join(this.root, d), d, this), running), running, this.unsaved.get(d)?.info))
      .sort((a, b) => b.createdAtMs - a.createdAtMs);
  }

  /**
   * At start-up, before any run: finish what a coordinator that stopped
   * mid-run left. Every run still marked running is marked interrupted, with
   * its counts from cases.jsonl, whose damaged tail is cut off; stray `.tmp`
   * files go. Returns what could not be repaired (the run stays as it is).
   */
  recover(): { runId: string; error: NetmatrixError }[] {
    const problems: { runId: string; error: NetmatrixError }[] = [];
    for (const d of readdirSync(this.root)) {
      const dir = join(this.root, d);
      if (!RUN_ID.test(d) || !existsSync(join(dir, "meta.json"))) continue;
      try {
        for (const f of readdirSync(dir)) if (f.endsWith(".tmp")) rmSync(join(dir, f), { force: true });
        const run = new RunDir(dir, d, this);
        const info = run.readInfo();
        if (info.status !== "running") continue;
        const records = run.records(true);
        info.status = "interrupted";
        info.done = records.length;
        info.failed = records.filter((r) => r.result?.repetitions[0]?.outcome.case !== "measurement").length;
        info.updatedAtMs = Date.now();
        run.writeInfo(info);
      } catch (err) {
        problems.push({ runId: d, error: storageError(err, dir, "write", this.dataDir) });
      }
    }
    return problems;
  }
}

/**
 * A run directory anywhere (a copy, a fixture): a NetmatrixError naming the
 * fix when `dir` holds no run.
 */
export function openRunDirectory(dir: string): RunDir {
  const abs = resolve(dir);
  if (!existsSync(join(abs, "meta.json")) || !existsSync(join(abs, "spec.json"))) {
    throw new NetmatrixError("not-found", `${dir} is not a run directory (no meta.json and spec.json)`, { hint: "pass a run id, or a directory under DATA_DIR/runs/" });
  }
  return new RunDir(abs, basename(abs));
}
