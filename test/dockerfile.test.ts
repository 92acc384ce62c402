/**
 * Dockerfile.agent, parsed (dockerfile-ast) and linted (dockerfile-utils),
 * against what the repository says it needs: the tools scripts/install-tools.sh
 * installs, what package.json's "bin" runs, the sources tsconfig compiles,
 * a non-root user, and a .dockerignore that lets exactly those in. The built
 * image itself is run in test/image.test.ts.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { DockerfileParser, type Instruction } from "dockerfile-ast";
import { validate } from "dockerfile-utils";
import { beforeAll, describe, expect, it } from "vitest";
import { drivers } from "../tools/src/index.js";

const ROOT = join(import.meta.dirname, "..");
const TEXT = readFileSync(join(ROOT, "Dockerfile.agent"), "utf8");
const LINES = TEXT.split("\n");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string>; type?: string };
const tsconfig = JSON.parse(readFileSync(join(ROOT, "tsconfig.json"), "utf8")) as { include: string[]; compilerOptions: { outDir: string } };

interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
}

/** The instruction as written (continuation lines joined), without its keyword. */
function raw(i: Instruction): string {
  const { start, end } = i.getRange();
  return LINES.slice(start.line, end.line + 1)
    .join("\n")
    .replace(/\\\n/g, " ")
    .replace(/^\s*\w+\s+/, "");
}

function flag(i: Instruction, name: string): string | undefined {
  const flags = (i as Instruction & { getFlags?: () => { getName(): string; getValue(): string | null }[] }).getFlags?.() ?? [];
  return flags.find((f) => f.getName() === name)?.getValue() ?? undefined;
}

/** COPY sources and destination: [sources…, dest]. */
function copyArgs(i: Instruction): { sources: string[]; dest: string; from: string | undefined } {
  const args = i.getArguments().map((a) => a.getValue());
  return { sources: args.slice(0, -1), dest: args[args.length - 1]!, from: flag(i, "from") };
}

/**
 * Whether `.dockerignore` (Docker's rules: patterns in order, the last match
 * wins, "!" re-includes, a pattern matches a path or any directory above it)
 * keeps `path` in the build context.
 */
function included(path: string, patterns: string[]): boolean {
  const toRegex = (glob: string) =>
    new RegExp(
      `^${glob
        .replace(/^\/+|\/+$/g, "")
        .split("/")
        .map((seg) =>
          seg === "**"
            ? "(?:.*)"
            : seg
                .replace(/[.+^${}()|[\]\\]/g, "\\$&")
                .replace(/\*/g, "[^/]*")
                .replace(/\?/g, "[^/]"),
        )
        .join("/")
        .replace(/\(\?:\.\*\)\//g, "(?:.*/)?")}$`,
    );
  const parts = path.split("/");
  const candidates = parts.map((_, n) => parts.slice(0, n + 1).join("/"));
  let keep = true;
  for (const p of patterns) {
    const negate = p.startsWith("!");
    const re = toRegex(negate ? p.slice(1) : p);
    if (candidates.some((c) => re.test(c))) keep = negate;
  }
  return keep;
}

let stages: Stage[] = [];
let args: Map<string, string>;
const stage = (name: string) => stages.find((s) => s.name === name)!;
const final = () => stages[stages.length - 1]!;
const of = (s: Stage, keyword: string) => s.instructions.filter((i) => i.getKeyword() === keyword);

beforeAll(() => {
  const df = DockerfileParser.parse(TEXT);
  args = new Map(df.getARGs().map((a) => [a.getProperty()!.getName(), a.getProperty()!.getValue() ?? ""]));
  const froms = df.getFROMs();
  const all = df.getInstructions();
  stages = froms.map((f, n) => {
    const start = f.getRange().start.line;
    const end = n + 1 < froms.length ? froms[n + 1]!.getRange().start.line : Infinity;
    const image = f.getImage()!.replace(/^\$\{(\w+)\}$/, (_m, v: string) => args.get(v) ?? "");
    return { name: f.getBuildStage() ?? String(n), image, instructions: all.filter((i) => i.getRange().start.line > start && i.getRange().start.line < end) };
  });
});

describe("Dockerfile.agent", () => {
  it("lints clean", () => {
    expect(validate(TEXT).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it("builds on Node 20 (bookworm) and runs on Debian bookworm-slim", () => {
    expect(stages.map((s) => [s.name, s.image])).toEqual([
      ["build", "node:20-bookworm-slim"],
      ["deps", "node:20-bookworm-slim"],
      ["runtime", "debian:bookworm-slim"],
    ]);
    expect(of(final(), "COPY").map(copyArgs)).toContainEqual({ sources: ["/usr/local/bin/node"], dest: "/usr/local/bin/node", from: "build" });
  });

  it("installs the tool packages scripts/install-tools.sh installs, without recommends", () => {
    const script = readFileSync(join(ROOT, "scripts", "install-tools.sh"), "utf8");
    const table = new Map([...script.matchAll(/\[([\w-]+)\]=([\w.+-]+)/g)].map((m) => [m[1]!, m[2]!]));
    // Every program of the catalogue (a tool's server too, when it is another program: http's nginx), by the package its driver names.
    const programs = Object.values(drivers).flatMap((d) => [{ binary: d.binary, debianPackage: d.debianPackage }, ...(d.serverBinary ? [d.serverBinary] : [])]);
    expect(programs.map((p) => table.get(p.binary))).toEqual(programs.map((p) => p.debianPackage));
    const tools = programs.map((p) => p.debianPackage);
    expect(tools).toEqual(expect.arrayContaining(["iperf3", "iperf", "qperf", "iputils-ping", "wrk", "nginx-light", "sockperf"]));
    const installs = of(final(), "RUN")
      .map(raw)
      .flatMap((r) => r.split(/&&|;/))
      .filter((c) => /apt-get\s+install/.test(c));
    expect(installs).toHaveLength(1);
    const words = installs[0]!.trim().split(/\s+/);
    expect(words).toContain("--no-install-recommends");
    expect(words).toEqual(expect.arrayContaining(tools as string[]));
    expect(of(final(), "RUN").map(raw).join("\n")).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
  });

  it("compiles every source tsconfig includes, with dev dependencies, into dist/", () => {
    const build = stage("build");
    const workdir = of(build, "WORKDIR")[0]!.getArguments()[0]!.getValue();
    const copied = of(build, "COPY").flatMap((i) => copyArgs(i).sources);
    for (const dir of tsconfig.include) expect(copied, `build stage copies ${dir}`).toContain(dir.split("/")[0]);
    expect(copied).toEqual(expect.arrayContaining(["package.json", "package-lock.json", "tsconfig.json"]));
    const runs = of(build, "RUN").map(raw);
    expect(runs.some((r) => /(^|\s)npm ci\b/.test(r) && !r.includes("--omit=dev"))).toBe(true);
    expect(runs).toContain("npm run build");
    expect(of(final(), "COPY").map(copyArgs)).toContainEqual({ sources: [`${workdir}/${tsconfig.compilerOptions.outDir}`], dest: "./dist", from: "build" });
  });

  it("compiles no test harness or benchmark, and nothing it compiles imports one", () => {
    const copied = new Set(of(stage("build"), "COPY").flatMap((i) => copyArgs(i).sources));
    expect(tsconfig.include.filter((d) => /^(test|bench)\b/.test(d))).toEqual([]);
    expect([...copied].filter((s) => /^(test|bench|dist-dev)\b/.test(s))).toEqual([]);
    // Every relative import of a compiled file resolves inside what the build stage copies: the image cannot need the harness.
    const files = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [join(dir, e.name)] : [],
      );
    const compiled = tsconfig.include.flatMap(files);
    expect(compiled.length).toBeGreaterThan(50);
    const outside: string[] = [];
    for (const f of compiled) {
      for (const m of readFileSync(join(ROOT, f), "utf8").matchAll(/(?:from|import\()\s*"(\.{1,2}\/[^"]+)"/g)) {
        const target = relative(ROOT, join(ROOT, dirname(f), m[1]!));
        if (!copied.has(target.split("/")[0]!)) outside.push(`${f} → ${target}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it("ships production node_modules only", () => {
    expect(
      of(stage("deps"), "RUN")
        .map(raw)
        .some((r) => /(^|\s)npm ci\b.*--omit=dev/.test(r)),
    ).toBe(true);
    expect(of(final(), "COPY").map(copyArgs)).toContainEqual({ sources: ["/src/node_modules"], dest: "./node_modules", from: "deps" });
  });

  it("hands npm the extra CA only as a build secret of the stages that run npm ci, never to the runtime image", () => {
    for (const name of ["build", "deps"]) {
      const npmCi = of(stage(name), "RUN")
        .map(raw)
        .filter((r) => /(^|\s)npm ci\b/.test(r));
      expect(npmCi.length, name).toBe(1);
      expect(npmCi[0], name).toMatch(/^--mount=type=secret,id=extra_ca\s+NODE_EXTRA_CA_CERTS=\/run\/secrets\/extra_ca npm ci/);
    }
    const runtime = final()
      .instructions.map((i) => `${i.getKeyword()} ${raw(i)}`)
      .join("\n");
    expect(runtime).not.toMatch(/extra_ca|NODE_EXTRA_CA_CERTS|CERTIFICATE/);
  });

  it("copies what package.json's bin runs: the script, the compiled CLI it loads, package.json itself", () => {
    const appDir = of(final(), "WORKDIR")[0]!.getArguments()[0]!.getValue();
    const copies = of(final(), "COPY").map(copyArgs);
    const inImage = (p: string) => copies.some((c) => c.sources.some((s) => s === p || s.endsWith(`/${p.split("/")[0]}`) || p.startsWith(`${s}/`)));
    for (const target of Object.values(pkg.bin)) {
      expect(inImage(target), `COPY ${target}`).toBe(true);
      // The entry point imports the compiled CLI from dist/.
      const imported = [...readFileSync(join(ROOT, target), "utf8").matchAll(/new URL\("\.\.\/(dist\/[^"]+)"/g)].map((m) => m[1]!);
      expect(imported.length).toBeGreaterThan(0);
      for (const p of imported) expect(inImage(p), `COPY ${p}`).toBe(true);
    }
    // ESM: bin/ and dist/ need package.json's "type": "module" next to them.
    expect(pkg.type).toBe("module");
    expect(copies).toContainEqual({ sources: ["package.json"], dest: "./", from: undefined });
    // `--spec default` reads specs/default.yaml above dist/.
    expect(copies).toContainEqual({ sources: ["specs"], dest: "./specs", from: undefined });
    expect(appDir).toBe("/opt/netmatrix");
  });

  it("runs as a non-root user with `netmatrix` as its entry point", () => {
    const users = of(final(), "USER");
    expect(users).toHaveLength(1);
    const [uid, gid] = users[0]!.getArguments()[0]!.getValue().split(":");
    expect(Number(uid)).toBeGreaterThanOrEqual(1000);
    expect(uid).toBe("10001");
    expect(gid).toBe("10001");
    expect(of(final(), "RUN").map(raw).join("\n")).toMatch(/useradd[^\n]*--uid 10001/);
    // USER comes after every RUN: nothing later runs as root.
    const lastRun = Math.max(...of(final(), "RUN").map((i) => i.getRange().start.line));
    expect(users[0]!.getRange().start.line).toBeGreaterThan(lastRun);
    expect(JSON.parse(raw(of(final(), "ENTRYPOINT")[0]!))).toEqual(["netmatrix"]);
  });

  it("puts a `netmatrix` on PATH that runs bin/netmatrix.js (under tini as PID 1)", () => {
    const run = of(final(), "RUN")
      .map(raw)
      .find((r) => r.includes(">/usr/local/bin/netmatrix"))!;
    const printf = run.slice(run.indexOf("printf"), run.indexOf(">/usr/local/bin/netmatrix"));
    const dir = mkdtempSync(join(tmpdir(), "netmatrix-wrapper-"));
    try {
      const out = join(dir, "netmatrix");
      expect(spawnSync("sh", ["-c", `${printf} > "$1"`, "sh", out]).status).toBe(0);
      const wrapper = readFileSync(out, "utf8");
      expect(wrapper.startsWith("#!/bin/sh\n")).toBe(true);
      expect(spawnSync("sh", ["-n", out]).status).toBe(0);
      for (const target of Object.values(pkg.bin)) expect(wrapper).toContain(`/opt/netmatrix/${target} "$@"`);
      expect(wrapper).toMatch(/exec \/usr\/bin\/tini -- /);
      expect(of(final(), "RUN").map(raw).join("\n")).toMatch(/apt-get install[^&]*\btini\b/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe(".dockerignore", () => {
  const patterns = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));

  it("lets in everything the Dockerfile copies from the context", () => {
    const sources = stages
      .flatMap((s) => of(s, "COPY").map(copyArgs))
      .filter((c) => !c.from)
      .flatMap((c) => c.sources);
    expect(sources.length).toBeGreaterThan(5);
    for (const s of sources) {
      expect(existsSync(join(ROOT, s)), `${s} exists`).toBe(true);
      expect(included(s, patterns), `${s} is in the build context`).toBe(true);
      if (statSync(join(ROOT, s)).isDirectory()) expect(included(`${s}/src/x.ts`, patterns)).toBe(true);
    }
  });

  it("keeps out dependencies, build output, tools, secrets and tests", () => {
    for (const p of [
      "node_modules/yaml/package.json",
      "dist/cli/src/main.js",
      "dist-dev/bench/lab.js",
      ".git/config",
      ".tools/helm",
      "charts/netmatrix/values.yaml",
      "coordinator/src/registry.test.ts",
      "report/fixtures/runs/host-gw/cases.jsonl",
      "test/chart.test.ts",
      "test/harness/pair.ts",
      "bench/fidelity.ts",
      "token",
      ".env",
    ]) {
      expect(included(p, patterns), p).toBe(false);
    }
  });
});
