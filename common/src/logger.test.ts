/**
 * The root logger's two formats: one colourized line per record for a
 * terminal, JSON lines otherwise, and NETMATRIX_LOG_FORMAT forcing either.
 * Written to a real file descriptor, as the coordinator and agent write to
 * stderr.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { createRootLogger, logFormat, type LoggerOptions } from "./logger.js";

const dir = mkdtempSync(join(tmpdir(), "nm-logger-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** What a root logger made with `opts` writes for two records (one from a component's child). */
function written(opts: LoggerOptions): string {
  const file = join(dir, `log-${n++}`);
  const fd = openSync(file, "w");
  try {
    const log = createRootLogger({ ...opts, fd, base: { role: "agent", node: "node-a" } });
    log.info({ port: 7400 }, "coordinator listening");
    log.child({ component: "session" }).warn({ retryInMs: 1000 }, "session ended; reconnecting");
  } finally {
    closeSync(fd);
  }
  return readFileSync(file, "utf8");
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[\d+m/;

describe("createRootLogger", () => {
  test("on a terminal: one colourized line per record, the component up front, the fields on the same line", () => {
    const out = written({ tty: true });
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(out).toMatch(ANSI);
    // eslint-disable-next-line no-control-regex
    const plain = lines.map((l) => l.replace(/\u001b\[\d+m/g, ""));
    expect(plain[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: coordinator listening \{"node":"node-a","port":7400\}$/);
    expect(plain[1]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: \[session\] session ended; reconnecting \{"node":"node-a","retryInMs":1000\}$/);
  });

  test("otherwise: JSON lines with every field", () => {
    const lines = written({ tty: false })
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toMatchObject([
      { level: 30, role: "agent", node: "node-a", port: 7400, msg: "coordinator listening" },
      { level: 40, component: "session", retryInMs: 1000, msg: "session ended; reconnecting" },
    ]);
  });

  test("a forced format wins over the terminal; forced pretty into a file has no colours", () => {
    expect(() => JSON.parse(written({ tty: true, format: "json" }).split("\n")[0]!)).not.toThrow();
    const pretty = written({ tty: false, format: "pretty" });
    expect(pretty).not.toMatch(ANSI);
    expect(pretty.trimEnd().split("\n")).toHaveLength(2);
  });
});

describe("logFormat", () => {
  test.each([
    [{ tty: true }, {}, "pretty"],
    [{ tty: false }, {}, "json"],
    [{ tty: true }, { NETMATRIX_LOG_FORMAT: "json" }, "json"],
    [{ tty: false }, { NETMATRIX_LOG_FORMAT: "Pretty" }, "pretty"],
    [{ tty: false, format: "json" as const }, { NETMATRIX_LOG_FORMAT: "pretty" }, "json"],
  ])("%j with %j: %s", (opts, env, format) => expect(logFormat(opts, env)).toBe(format));

  test("a wrong NETMATRIX_LOG_FORMAT names the accepted values", () => {
    expect(() => logFormat({ tty: true }, { NETMATRIX_LOG_FORMAT: "xml" })).toThrow(/NETMATRIX_LOG_FORMAT=xml is not a log format/);
    try {
      logFormat({}, { NETMATRIX_LOG_FORMAT: "xml" });
    } catch (err) {
      expect((err as { hint?: string }).hint).toBe("set it to json or pretty, or unset it");
    }
  });
});
