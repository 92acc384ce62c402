/**
 * The import-boundary rule (.dependency-cruiser.cjs, `npm run lint:deps`)
 * can fail: dependency-cruiser with the project's own config over small
 * throw-away trees, one that keeps every layer rule and one that breaks each
 * of them once. (That the project itself passes is `npm run lint:deps` in CI.)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, describe, expect, test } from "vitest";

const CONFIG = resolve(".dependency-cruiser.cjs");
const DEPCRUISE = resolve("node_modules/.bin/depcruise");
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A tree of TypeScript files: path → the relative imports it makes (`type:` prefix = `import type`). */
type Tree = Record<string, string[]>;

function write(tree: Tree): string {
  const root = mkdtempSync(join(tmpdir(), "nm-deps-"));
  roots.push(root);
  for (const [file, imports] of Object.entries(tree)) {
    mkdirSync(join(root, dirname(file)), { recursive: true });
    const lines = imports.map((to, i) => {
      const type = to.startsWith("type:");
      const target = type ? to.slice(5) : to;
      let rel = join(`${"../".repeat(file.split("/").length - 1)}`, target).replace(/\.ts$/, ".js");
      if (!rel.startsWith(".")) rel = `./${rel}`;
      return type ? `import type { T as T${i} } from "${rel}";` : `import { v as v${i} } from "${rel}";`;
    });
    writeFileSync(join(root, file), `${lines.join("\n")}\nexport type T = number;\nexport const v = 1;\n`);
  }
  return root;
}

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

/** The violations dependency-cruiser finds in `tree` with the project's config, as "rule: from → to". */
function violations(tree: Tree): string[] {
  const root = write(tree);
  const dirs = [...new Set(Object.keys(tree).map((f) => f.split("/")[0]!))];
  const run = (outputType: string) => spawnSync(DEPCRUISE, ["--config", CONFIG, "--output-type", outputType, ...dirs], { cwd: root, encoding: "utf8", timeout: 60_000 });
  const json = run("json");
  expect(json.error).toBeUndefined();
  const out = JSON.parse(json.stdout) as { summary: { violations: Violation[]; error: number } };
  // As `npm run lint:deps` runs it: the exit status is non-zero exactly when there are errors, which fails CI.
  const lint = run("err-long");
  expect(lint.status === 0).toBe(out.summary.error === 0);
  expect(lint.status === 0).toBe(out.summary.violations.length === 0);
  return out.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
}

describe("the layer rule", () => {
  test("a tree that keeps the layers passes", () => {
    expect(
      violations({
        "gen/g.ts": [],
        "common/src/c.ts": ["gen/g.ts"],
        "tools/src/t.ts": ["common/src/c.ts", "gen/g.ts"],
        "agent/src/a.ts": ["tools/src/t.ts", "common/src/c.ts"],
        "coordinator/src/k.ts": ["tools/src/t.ts", "common/src/c.ts"],
        "lab/src/l.ts": ["common/src/c.ts"],
        "lab/src/netns.ts": [],
        "report/src/r.ts": ["tools/src/t.ts"],
        "cli/src/main.ts": ["agent/src/a.ts", "coordinator/src/k.ts", "lab/src/l.ts", "report/src/r.ts"],
        "agent/src/a.test.ts": ["agent/src/a.ts", "lab/src/netns.ts", "test/harness/h.ts"],
        "test/harness/h.ts": ["lab/src/l.ts"],
        "test/e2e.test.ts": ["cli/src/main.ts", "coordinator/src/k.ts", "agent/src/a.ts"],
        "bench/b.ts": ["coordinator/src/k.ts", "agent/src/a.ts"],
      }),
    ).toEqual([]);
  }, 60_000);

  test("every kind of violation is caught, type-only imports included", () => {
    expect(
      violations({
        "gen/g.ts": ["common/src/c.ts"],
        "common/src/c.ts": ["type:tools/src/t.ts"],
        "tools/src/t.ts": ["agent/src/a.ts"],
        "agent/src/a.ts": ["coordinator/src/k.ts"],
        "coordinator/src/k.ts": ["type:agent/src/b.ts", "report/src/r.ts", "test/harness/h.ts"],
        "agent/src/b.ts": [],
        "lab/src/l.ts": ["agent/src/b.ts", "coordinator/src/k2.ts"],
        "coordinator/src/k2.ts": [],
        "report/src/r.ts": ["coordinator/src/k2.ts", "cli/src/main.ts"],
        "report/src/r.test.ts": ["coordinator/src/k2.ts"],
        "cli/src/main.ts": [],
        "test/harness/h.ts": [],
        "common/src/x.ts": ["type:common/src/y.ts"],
        "common/src/y.ts": ["common/src/x.ts"],
        "common/src/z.ts": ["common/src/missing.ts"],
      }),
    ).toEqual(
      [
        "layer-gen: gen/g.ts → common/src/c.ts",
        "layer-common: common/src/c.ts → tools/src/t.ts",
        "layer-tools: tools/src/t.ts → agent/src/a.ts",
        "layer-agent: agent/src/a.ts → coordinator/src/k.ts",
        "layer-coordinator: coordinator/src/k.ts → agent/src/b.ts",
        "layer-coordinator: coordinator/src/k.ts → report/src/r.ts",
        "layer-coordinator: coordinator/src/k.ts → test/harness/h.ts",
        "shipped-not-to-harness: coordinator/src/k.ts → test/harness/h.ts",
        "layer-lab: lab/src/l.ts → agent/src/b.ts",
        "layer-lab: lab/src/l.ts → coordinator/src/k2.ts",
        "layer-report: report/src/r.ts → coordinator/src/k2.ts",
        "layer-report: report/src/r.ts → cli/src/main.ts",
        "layer-report-tests: report/src/r.test.ts → coordinator/src/k2.ts",
        // A cycle is reported once, at the edge where the search closes it.
        "no-circular: common/src/x.ts → common/src/y.ts",
        // An import that resolves nowhere is named as written; it cannot be placed in a layer either.
        "not-to-unresolvable: common/src/z.ts → ../../common/src/missing.js",
        "layer-common: common/src/z.ts → ../../common/src/missing.js",
      ].sort(),
    );
  }, 60_000);
});
