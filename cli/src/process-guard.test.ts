/**
 * The process guard in a real Node process (the built module, after `npm run
 * build`): an uncaught exception and an unhandled rejection are logged with
 * a count, and the process goes on running; without the guard the first one
 * ends it.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const built = fileURLToPath(new URL("../../dist/cli/src/process-guard.js", import.meta.url));

function run(guarded: boolean): { status: number | null; lines: string[] } {
  const script = `
    import { guardProcess } from ${JSON.stringify(built)};
    const log = { error: (o, msg) => console.log(JSON.stringify({ survived: o.survived, origin: o.origin, msg })) };
    if (${guarded}) guardProcess(log, "the test process");
    setTimeout(() => { throw new Error("boom"); }, 10);
    setTimeout(() => { void Promise.reject(new Error("nobody awaits me")); }, 20);
    setTimeout(() => console.log(JSON.stringify({ alive: true })), 100);
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 10_000 });
  return { status: r.status, lines: r.stdout.trim().split("\n").filter(Boolean) };
}

describe.skipIf(!existsSync(built))("guardProcess (run `npm run build` first)", () => {
  test("logs and survives an uncaught exception and an unhandled rejection, counting them", () => {
    const r = run(true);
    expect(r.status).toBe(0);
    expect(r.lines.map((l) => JSON.parse(l))).toEqual([
      { survived: 1, origin: "uncaughtException", msg: "the test process survived an uncaught exception (a bug: please report it with this log)" },
      { survived: 2, origin: "unhandledRejection", msg: "the test process survived an unhandled rejection (a bug: please report it with this log)" },
      { alive: true },
    ]);
  });

  test("without it, the first one ends the process", () => {
    const r = run(false);
    expect(r.status).not.toBe(0);
    expect(r.lines).toEqual([]);
  });
});
