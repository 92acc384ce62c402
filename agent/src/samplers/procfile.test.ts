import { spawn } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { parseProcessStat } from "./process.js";
import { ProcFile } from "./procfile.js";

const dir = mkdtempSync(join(tmpdir(), "nm-smp-procfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("ProcFile", () => {
  test.each([false, true])("reads a 100 KiB file whole (buffer grows; oneRecord %s)", (oneRecord) => {
    const path = join(dir, `big-${oneRecord}`);
    const text = "x".repeat(100 * 1024 - 1) + "\n";
    writeFileSync(path, text);
    const f = new ProcFile(path, Infinity, oneRecord);
    expect(f.read(0n)).toBe(text);
    expect(f.readBytes(1n)?.length).toBe(text.length);
    f.close();
  });

  test("each read is the file as it is now, from offset 0", () => {
    const path = join(dir, "changing");
    writeFileSync(path, "first\n");
    const f = new ProcFile(path);
    expect(f.read(0n)).toBe("first\n");
    writeFileSync(path, "second, longer\n");
    expect(f.read(1n)).toBe("second, longer\n");
    writeFileSync(path, "3\n");
    expect(f.read(2n)).toBe("3\n");
    f.close();
  });

  test("a kept descriptor shows the old file until reopenMs has passed", () => {
    const path = join(dir, "replaced");
    writeFileSync(path, "old\n");
    const f = new ProcFile(path, 1000);
    expect(f.read(0n)).toBe("old\n");
    writeFileSync(`${path}.new`, "new\n");
    renameSync(`${path}.new`, path);
    expect(f.read(999_999_999n)).toBe("old\n");
    expect(f.read(1_000_000_000n)).toBe("new\n");
    f.close();
  });

  test("a missing file is undefined, and is read once it exists", () => {
    const path = join(dir, "later");
    const f = new ProcFile(path);
    expect(f.readBytes(0n)).toBeUndefined();
    writeFileSync(path, "here\n");
    expect(f.read(1n)).toBe("here\n");
    f.close();
    f.close(); // twice is harmless
  });

  test("/proc/<pid>/stat of a process that exits becomes undefined", async () => {
    const child = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      const f = new ProcFile(`/proc/${child.pid}/stat`, Infinity, true);
      const bytes = f.readBytes(0n);
      expect(bytes && parseProcessStat(bytes)?.comm).toBe("sleep");
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
      await new Promise((r) => setTimeout(r, 50)); // reaped
      expect(f.readBytes(1n)).toBeUndefined();
      f.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
