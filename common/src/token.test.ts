import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata } from "@grpc/grpc-js";
import { describe, expect, test } from "vitest";
import { NetmatrixError } from "./errors.js";
import { bearer, checkBearer, loadOrCreateToken, loadToken, tokenMatches } from "./token.js";

const dir = mkdtempSync(join(tmpdir(), "nm-token-"));

describe("loadToken", () => {
  test("reads and trims a file", () => {
    const f = join(dir, "t1");
    writeFileSync(f, "  abc\n");
    expect(loadToken(f, {})).toEqual({ value: "abc", source: f });
  });
  test("falls back to $NETMATRIX_TOKEN", () => {
    expect(loadToken(undefined, { NETMATRIX_TOKEN: "xyz" }).value).toBe("xyz");
  });
  test.each([
    ["nothing given", undefined, /no token given/],
    ["missing file", "/nonexistent/token", /cannot read token file/],
  ])("%s: a clear error with a hint", (_n, file, re) => {
    try {
      loadToken(file, {});
      expect.unreachable();
    } catch (err) {
      expect((err as NetmatrixError).message).toMatch(re);
      expect((err as NetmatrixError).hint).toBeTruthy();
    }
  });
  test("empty file is refused", () => {
    const f = join(dir, "empty");
    writeFileSync(f, "\n");
    expect(() => loadToken(f, {})).toThrow(/is empty/);
  });
});

describe("loadOrCreateToken", () => {
  test("creates a 0600 file once, then reads the same token", () => {
    const f = join(dir, "sub", "token");
    const a = loadOrCreateToken(f);
    expect(a.created).toBe(true);
    expect(a.value).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    const b = loadOrCreateToken(f);
    expect(b).toMatchObject({ created: false, value: a.value });
  });
});

describe("checkBearer", () => {
  const md = (v?: string) => {
    const m = new Metadata();
    if (v !== undefined) m.set("authorization", v);
    return m;
  };
  test("accepts the right token", () => expect(() => checkBearer(md(bearer("s3cret")), "s3cret")).not.toThrow());
  test.each([
    [undefined, /missing token/],
    ["Basic s3cret", /missing token/],
    [bearer("s3cre"), /wrong token/],
    [bearer("s3cret!"), /wrong token/],
  ])("refuses %j", (header, re) => expect(() => checkBearer(md(header), "s3cret")).toThrow(re));
});

describe("tokenMatches (the one compare, gRPC and web alike)", () => {
  test.each([
    ["s3cret", true],
    ["s3cre", false],
    ["s3cret!", false],
    ["S3cret", false],
    ["", false],
    [null, false],
    [undefined, false],
  ])("%j → %s", (given, ok) => expect(tokenMatches(given, "s3cret")).toBe(ok));
});
