import { runInNewContext } from "node:vm";
import { describe, expect, test } from "vitest";
import { browserFunction, formatBitrate } from "../../../common/src/format.js";
import { livePage, SCRIPT } from "./page.js";

const VALUES = [0, 1, 999, 1e3, 12.5e3, 99.995e6, 941.2e6, 1e9, 9.41e9, 123.456e9, 2.5e12, NaN, Infinity, undefined];

describe("the live page's rate formatter is common/src/format.ts's formatBitrate", () => {
  const source = browserFunction(formatBitrate);

  test("its source is in the page, and no second formatter is", () => {
    expect(livePage()).toContain(source);
    // Every unit name in the script belongs to that one function.
    expect(SCRIPT.split("Gbit/s").length).toBe(source.split("Gbit/s").length);
  });

  test("the page's fmt gives what the CLI and the reports print", () => {
    // The function and the page's `fmt` line, as the browser runs them, in a bare context.
    const start = SCRIPT.indexOf(source);
    const end = SCRIPT.indexOf("\n", SCRIPT.indexOf("const fmt =", start));
    const fmt = runInNewContext(`${SCRIPT.slice(start, end)}\nfmt;`) as (v: unknown) => string;
    for (const v of VALUES) expect(fmt(v)).toBe(formatBitrate(v));
    expect(fmt(941.2e6)).toBe("941.2 Mbit/s");
  });
});
