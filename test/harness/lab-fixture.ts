/**
 * One lab for a test file, as a user runs it: `netmatrix lab up ARGS` before
 * the describe's tests, matrices through the lab's coordinator with
 * `netmatrix run --spec`, and `lab down` after, checked to leave no namespace
 * and no root link of the lab. The lab takes this run's test slot (prefix,
 * address block, free ports), so it never touches another run's lab or the
 * user's.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { stringify } from "yaml";
import { readLabState, type LabState } from "../../lab/src/lab.js";
import { labObjects } from "../../lab/src/topology.js";
import { runNetmatrix } from "./processes.js";
import { testSlot } from "./slot.js";

/** A run's JSON document, as `run --output json` prints it (tests read it loosely). */
export interface RunDocument {
  run: { runId: string };
  cases: any[];
  refused?: unknown[];
}

export class LabFixture {
  /** The lab's data dir (a fresh temporary one). */
  readonly dataDir: string;
  /** The environment for `netmatrix lab …`: the data dir and this slot's prefix, block and ports. */
  readonly env: Record<string, string>;
  /** The lab's prefix of namespaces, links and rule tags. */
  readonly prefix: string;
  private labState: LabState | undefined;

  constructor(tag: string) {
    this.dataDir = mkdtempSync(join(tmpdir(), `nm-${tag}-`));
    this.env = testSlot().labEnv(this.dataDir);
    this.prefix = this.env.NETMATRIX_LAB_PREFIX!;
  }

  /** The state `lab up` wrote; only inside the describe's tests. */
  get state(): LabState {
    if (!this.labState) throw new Error("the lab is not up: use state inside the tests of the describe that called up()");
    return this.labState;
  }

  /**
   * Registers, in the calling describe, `lab up ARGS` before its tests (then `settleMs` for the agents'
   * start-up CPU to leave their load window) and, after them, `lab down`, the check that nothing of the lab
   * remains, `alsoGone` (more such checks), and the data dir removed.
   */
  up(args: string[], settleMs: number, alsoGone?: () => Promise<void>): void {
    beforeAll(async () => {
      const up = await runNetmatrix(["lab", "up", ...args], { env: this.env });
      if (up.code !== 0) throw new Error(`lab up ${args.join(" ")} failed (exit ${up.code}):\n${up.stderr.slice(-4000)}`);
      this.labState = readLabState(this.dataDir)!;
      await new Promise((r) => setTimeout(r, settleMs));
    }, 120_000);
    afterAll(async () => {
      // Whatever happened, leave nothing behind.
      await runNetmatrix(["lab", "down"], { env: this.env });
      try {
        expect(await labObjects(this.prefix)).toEqual({ namespaces: [], rootLinks: [] });
        await alsoGone?.();
      } finally {
        rmSync(this.dataDir, { recursive: true, force: true });
      }
    }, 120_000);
  }

  /** Runs `spec` (written to NAME.yaml) on the lab's coordinator; the run's document, or an error with the CLI's stderr. */
  async runSpec(name: string, spec: Record<string, unknown>): Promise<RunDocument> {
    const file = join(this.dataDir, `${name}.yaml`);
    writeFileSync(file, stringify(spec));
    const argv = ["run", "--spec", file, "--coordinator", this.state.coordinator, "--token-file", this.state.tokenFile, "--output", "json"];
    const res = await runNetmatrix(argv, { env: this.env });
    try {
      return JSON.parse(res.stdout) as RunDocument;
    } catch {
      throw new Error(`run --spec ${name} printed no report (exit ${res.code}):\n${res.stderr.slice(-4000)}`);
    }
  }
}
