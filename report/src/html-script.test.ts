import { runInNewContext } from "node:vm";
import { describe, expect, test } from "vitest";
import { browserFunction, formatBitrate } from "../../common/src/format.js";
import { REPORT_SCRIPT } from "./html-script.js";

const VALUES = [0, 1, 999, 1e3, 12.5e3, 99.995e6, 941.2e6, 1e9, 9.41e9, 123.456e9, 2.5e12, -3e6, NaN, Infinity, null, undefined];

describe("the report page's rate formatter is common/src/format.ts's formatBitrate", () => {
  const source = browserFunction(formatBitrate);

  test("its source is in the script, and no second formatter is", () => {
    expect(REPORT_SCRIPT).toContain(source);
    expect(REPORT_SCRIPT.split("Gbit/s").length).toBe(source.split("Gbit/s").length);
  });

  test("the script's fmtBps gives what the CLI and the Markdown report print, with the page's dash for no value", () => {
    // The function and the script's `fmtBps`, as the browser runs them, in a bare context.
    const start = REPORT_SCRIPT.indexOf(source);
    const end = REPORT_SCRIPT.indexOf("\n", REPORT_SCRIPT.indexOf("function fmtBps", start));
    const fmtBps = runInNewContext(`${REPORT_SCRIPT.slice(start, end)}\nfmtBps;`) as (v: unknown) => string;
    for (const v of VALUES) expect(fmtBps(v)).toBe(formatBitrate(v as number | null | undefined, "–"));
    expect(fmtBps(9.41e9)).toBe("9.41 Gbit/s");
    expect(fmtBps(null)).toBe("–");
  });
});
