/**
 * Durable results: one directory per run under DATA_DIR/runs/RUN_ID with the
 * spec (as written, spec.yaml, and as run, spec.json: the validated spec
 * with the YAML's keys, as every run has stored it), the agents' inventory,
 * meta.json (status, counts) and cases.jsonl — one JSON line per finished case repetition,
 * appended and fsync'd before anyone hears of it. A crash loses at most the
 * repetition that was running; `resume` skips everything already on disk.
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { create, fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
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

/**
 * Replace `file` atomically (write then rename). Not fsync'd: meta.json is a
 * summary that resume recomputes from cases.jsonl, which is fsync'd per line.
 */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** One run's directory. */
export class RunDir {
  constructor(
    readonly dir: string,
    readonly runId: string,
  ) {}

  private path(name: string): string {
    return join(this.dir, name);
  }

  readInfo(): RunInfo {
    return fromJson(RunInfoSchema, JSON.parse(readFileSync(this.path("meta.json"), "utf8")) as JsonValue);
  }

  writeInfo(info: RunInfo): void {
    writeAtomic(this.path("meta.json"), `${JSON.stringify(toJson(RunInfoSchema, info), null, 2)}\n`);
  }

  specYaml(): string {
    return existsSync(this.path("spec.yaml")) ? readFileSync(this.path("spec.yaml"), "utf8") : "";
  }

  specJson(): string {
    return readFileSync(this.path("spec.json"), "utf8");
  }

  /** The spec as run, validated (a SpecError naming spec.json when it does not validate). */
  spec(): MatrixSpec {
    return specFromJson(this.specJson(), this.path("spec.json"));
  }

  agents(): AgentStatus[] {
    const raw = JSON.parse(readFileSync(this.path("inventory.json"), "utf8")) as JsonValue[];
    return raw.map((a) => fromJson(AgentStatusSchema, a, { ignoreUnknownFields: true }));
  }

  /** Append one record and flush it to disk before returning. */
  append(record: CaseRecord): void {
    const file = this.path("cases.jsonl");
    const fd = openSync(file, "a");
    try {
      appendFileSync(fd, `${JSON.stringify(toJson(CaseRecordSchema, record))}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Everything kept about the run, as `GetRun` returns it; `info` overrides meta.json (live status). */
  snapshot(info: RunInfo = this.readInfo()): GetRunResponse {
    const specJson = this.specJson();
    const spec = specMessage(specFromJson(specJson, this.path("spec.json")));
    return create(GetRunResponseSchema, { info, specYaml: this.specYaml(), specJson, spec, agents: this.agents(), records: this.records() });
  }

  /**
   * Every complete record on disk. A last line cut short by a crash is
   * dropped (and, with `repair`, truncated away so appends stay valid).
   */
  records(repair = false): CaseRecord[] {
    const file = this.path("cases.jsonl");
    if (!existsSync(file)) return [];
    const text = readFileSync(file, "utf8");
    const end = text.lastIndexOf("\n") + 1;
    if (repair && end < Buffer.byteLength(text)) truncateSync(file, Buffer.byteLength(text.slice(0, end)));
    return text
      .slice(0, end)
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => fromJson(CaseRecordSchema, JSON.parse(l) as JsonValue, { ignoreUnknownFields: true }));
  }
}

export class ResultsStore {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, "runs");
    mkdirSync(this.root, { recursive: true });
  }

  /** Create a run directory with its spec and inventory. */
  create(opts: { name: string; specYaml: string; spec: MatrixSpec; agents: AgentStatus[]; total: number }): RunDir {
    const runId = newRunId();
    const dir = join(this.root, runId);
    mkdirSync(dir, { recursive: true });
    const run = new RunDir(dir, runId);
    if (opts.specYaml) writeFileSync(join(dir, "spec.yaml"), opts.specYaml);
    writeFileSync(join(dir, "spec.json"), `${JSON.stringify(specDocument(opts.spec))}\n`);
    writeFileSync(
      join(dir, "inventory.json"),
      `${JSON.stringify(
        opts.agents.map((a) => toJson(AgentStatusSchema, a)),
        null,
        2,
      )}\n`,
    );
    const now = Date.now();
    run.writeInfo(create(RunInfoSchema, { runId, name: opts.name, createdAtMs: now, updatedAtMs: now, status: "running", total: opts.total }));
    return run;
  }

  /** An existing run; a NetmatrixError naming the fix when there is none. */
  open(runId: string): RunDir {
    const dir = join(this.root, runId);
    if (!RUN_ID.test(runId) || !existsSync(join(dir, "meta.json"))) {
      throw new NetmatrixError("not-found", `no run "${runId}" in ${this.root}`, { hint: "list runs with `netmatrix runs`" });
    }
    return new RunDir(dir, runId);
  }

  /** A run's snapshot with its live status (see `list`). */
  snapshot(runId: string, running: Set<string> = new Set()): GetRunResponse {
    const run = this.open(runId);
    const info = run.readInfo();
    if (info.status === "running" && !running.has(runId)) info.status = "interrupted";
    return run.snapshot(info);
  }

  /** Every run, newest first. A run still marked running that this process does not run was interrupted. */
  list(running: Set<string> = new Set()): RunInfo[] {
    return readdirSync(this.root)
      .filter((d) => RUN_ID.test(d) && existsSync(join(this.root, d, "meta.json")) && statSync(join(this.root, d)).isDirectory())
      .map((d) => {
        const info = new RunDir(join(this.root, d), d).readInfo();
        if (info.status === "running" && !running.has(d)) info.status = "interrupted";
        return info;
      })
      .sort((a, b) => b.createdAtMs - a.createdAtMs);
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
