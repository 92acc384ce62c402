import { runInNewContext } from "node:vm";
import { describe, expect, test } from "vitest";
import { browserFunction, formatBitrate } from "../../../common/src/format.js";
import { livePage, SCRIPT } from "./page.js";

const VALUES = [0, 1, 999, 1e3, 12.5e3, 99.995e6, 941.2e6, 1e9, 9.41e9, 123.456e9, 2.5e12, NaN, Infinity, undefined];

describe("the live page's rate formatter is common/src/format.ts's formatBitrate", () => {
  const source = browserFunction(formatBitrate);

  test("its source is in the page's script, and no second formatter is", () => {
    expect(SCRIPT).toContain(source);
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

describe("the live page holds no data and runs nothing inline", () => {
  test("no inline script, style or event handler: the CSP can forbid them all", () => {
    const html = livePage();
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map((m) => m[1])).toEqual([' src="/assets/uPlot.iife.min.js"', ' src="/assets/live.js"']);
    expect(scripts.every((m) => m[2] === "")).toBe(true);
    expect(html).not.toMatch(/<style|\son[a-z]+=|style=/i);
  });

  test("names go into the page as text, and the token never into a URL", () => {
    expect(SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect(SCRIPT).not.toMatch(/token=" *\+|\.get\("token"\)|\{ *token/);
  });
});
