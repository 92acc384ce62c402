/**
 * The parsers against hostile output: the project's own captured
 * fixtures, mutated (truncations, byte flips, line deletions, duplications
 * and insertions, huge/negative/non-numeric numbers in numeric places, long
 * runs of spaces/digits/brackets, up to 1 MB of junk or of repeated real
 * rows), at least 10,000 inputs per parser with a fixed seed. Every parse
 *
 * - returns within 50 ms per MB of input, or — when the machine is busy —
 *   within a multiple of a linear scan of the same input measured in the
 *   same test (a quadratic pattern is thousands of times slower at 1 MB);
 * - is a typed failure, or a success whose every figure is finite and in
 *   range (checked here independently of validate.ts);
 * - and a success encodes to protobuf as the agent sends it
 *   (create(MeasurementSchema, …) + toBinary, which is agent/src/convert.ts's
 *   pbMeasurement / pbServerReport).
 *
 * Also here: the known worst cases of each pattern, grown from 16 KB to 1 MB.
 *
 * NETMATRIX_FUZZ_RUNS=N overrides the number of inputs per parser,
 * NETMATRIX_FUZZ_SEED=S the seed (a failure prints the seed and the path to
 * replay it).
 */
import { readdirSync, readFileSync } from "node:fs";
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MeasurementSchema } from "../../gen/netmatrix/v1/types_pb.js";
import { failures } from "../../common/src/model.js";
import { http } from "./http.js";
import { iperf2 } from "./iperf2.js";
import { iperf3 } from "./iperf3.js";
import { ping } from "./ping.js";
import { qperf } from "./qperf.js";
import { sockperf } from "./sockperf.js";
import type { CapturedOutput, ClientParams, Measurement, ParseOutcome, ServerOutcome, ServerReport } from "./types.js";
import { PARSER_THREW, UINT32_MAX } from "./validate.js";

const RUNS = Number(process.env.NETMATRIX_FUZZ_RUNS ?? 10_000);
const SEED = process.env.NETMATRIX_FUZZ_SEED === undefined ? undefined : Number(process.env.NETMATRIX_FUZZ_SEED);
const MB = 1024 * 1024;

// ---------------------------------------------------------------- timing

/** The bound of the issue: 50 ms per MB of input. */
const MS_PER_MB = 50;
/** What a call on a tiny input may take anyway (timer resolution, a GC slice). */
const CONSTANT_MS = 5;
/**
 * On a busy machine the bound is also met by staying within this multiple of
 * a linear scan of the same input, measured in the same test: the parsers
 * cost 1–40 scans' worth here, a quadratic pattern thousands at 1 MB.
 */
const SCAN_RATIO = 100;

let sink = 0;
/** The linear reference: read every character once. */
function linearScan(text: string): void {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) | 0;
  sink ^= h;
}

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

/** The fastest of `n` runs: preemption and GC only ever add time. */
function fastest(fn: () => void, n = 3): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) best = Math.min(best, timed(fn));
  return best;
}

interface TimingStats {
  /** Largest ms per MB seen on inputs of 256 KB and more (below, the constant dominates). */
  maxMsPerMB: number;
  /** Largest parse time / linear scan time seen on inputs of 256 KB and more. */
  maxScanRatio: number;
  /** Largest input, characters. */
  maxChars: number;
  calls: number;
  /** What the slowest input (per MB) was. */
  slowest: string;
}
const newStats = (): TimingStats => ({ maxMsPerMB: 0, maxScanRatio: 0, maxChars: 0, calls: 0, slowest: "" });

/**
 * Run `parse` on `input` (of `chars` characters) and hold it to the bound;
 * returns its result. A call over the bound is measured twice more (the
 * fastest counts) before it fails, with the linear scan beside it.
 */
function withinBound<T>(stats: TimingStats, chars: number, input: string, parse: () => T, what = ""): T {
  let result!: T;
  let ms = timed(() => (result = parse()));
  const budget = CONSTANT_MS + (MS_PER_MB * chars) / MB;
  const big = chars >= 256 * 1024;
  stats.calls++;
  stats.maxChars = Math.max(stats.maxChars, chars);
  if (ms <= budget && !big) return result;
  if (ms > budget)
    ms = Math.min(
      ms,
      fastest(() => parse(), 2),
    );
  const scan = fastest(() => linearScan(input));
  if (big) {
    if (ms / (chars / MB) > stats.maxMsPerMB) stats.slowest = what;
    stats.maxMsPerMB = Math.max(stats.maxMsPerMB, ms / (chars / MB));
    stats.maxScanRatio = Math.max(stats.maxScanRatio, ms / Math.max(scan, 0.05));
  }
  if (ms > budget && ms > CONSTANT_MS + SCAN_RATIO * scan) {
    throw new Error(
      `parse of ${chars} characters took ${ms.toFixed(1)} ms: over ${budget.toFixed(1)} ms (50 ms/MB) and over ${SCAN_RATIO} × the ${scan.toFixed(2)} ms linear scan`,
    );
  }
  return result;
}

function report(tool: string, stats: TimingStats): void {
  console.log(
    `${tool}: ${stats.calls} parses, largest ${(stats.maxChars / MB).toFixed(2)} MB; on inputs ≥ 256 KB at most ${stats.maxMsPerMB.toFixed(1)} ms/MB (bound ${MS_PER_MB}) and ${stats.maxScanRatio.toFixed(1)} × a linear scan (bound ${SCAN_RATIO} when busy); slowest: ${stats.slowest}`,
  );
}

// ---------------------------------------------------------------- the rules a result must keep (independent of validate.ts)

const FAILURE_NAMES = new Set<string>(failures.names);

function expectTypedFailure(code: string, reason: string): void {
  if (!FAILURE_NAMES.has(code)) throw new Error(`failure code ${code} is not a FailureName`);
  if (typeof reason !== "string" || reason.length === 0 || reason.length > 300) throw new Error(`bad failure reason (${reason.length} chars)`);
  // The guard's catch is a safety net; a parser that needs it has a bug.
  if (reason.includes(PARSER_THREW)) throw new Error(`the parser threw: ${reason}`);
}

/** Every number under `value`, with its path. */
function* numbers(value: unknown, path: string): Generator<[string, number]> {
  if (typeof value === "number") yield [path, value];
  else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* numbers(value[i], `${path}[${i}]`);
  else if (typeof value === "object" && value !== null) for (const [k, v] of Object.entries(value)) yield* numbers(v, `${path}.${k}`);
}

const UINT32_PATHS = [/^\.retransmits$/, /^\.streams\[\d+\]\.(id|retransmits)$/, /^\.intervals\[\d+\]\.retransmits$/, /^\.latency\.samples$/];

function expectTrustworthy(m: Measurement | ServerReport): void {
  for (const [path, v] of numbers(m, "")) {
    // Every figure netmatrix reports is a rate, a size, a count, a time or a percentage: finite and ≥ 0.
    if (!Number.isFinite(v) || v < 0) throw new Error(`${path} = ${v}`);
    if (/loss_?percent$/i.test(path) && v > 100) throw new Error(`${path} = ${v} > 100`);
    if (UINT32_PATHS.some((re) => re.test(path)) && (!Number.isInteger(v) || v > UINT32_MAX)) throw new Error(`${path} = ${v} is not a uint32`);
  }
  const lossPairs: [number | undefined, number | undefined, string][] = [[m.lostPackets, m.packets, "measurement"]];
  for (const s of m.streams) lossPairs.push([s.lostPackets, s.packets, `stream ${s.id}`]);
  if (m.extra) lossPairs.push([m.extra.reverse_lost_packets, m.extra.reverse_packets, "reverse"]);
  for (const [lost, packets, what] of lossPairs) if (lost !== undefined && packets !== undefined && lost > packets) throw new Error(`${what}: lost ${lost} > packets ${packets}`);
  if ("intervals" in m) for (const s of m.intervals) if (s.endS < s.startS) throw new Error(`interval ${s.startS}–${s.endS}`);
  if ("latency" in m && m.latency?.minUs !== undefined && m.latency.maxUs !== undefined && m.latency.minUs > m.latency.maxUs) throw new Error("latency min > max");
}

/** What agent/src/convert.ts does before the session stream sends it. */
function encodes(m: Measurement | ServerReport): void {
  const msg = "intervals" in m ? create(MeasurementSchema, m) : create(MeasurementSchema, { ...m, durationS: 0 });
  toBinary(MeasurementSchema, msg);
}

function checkClient(r: ParseOutcome): void {
  if (!r.ok) return expectTypedFailure(r.failure.code, r.failure.reason);
  expectTrustworthy(r.measurement);
  encodes(r.measurement);
}

function checkServer(r: ServerOutcome): void {
  if (r.status === "failed") return expectTypedFailure(r.failure.code, r.failure.reason);
  if (r.status !== "report" && r.status !== "pending") throw new Error(`unknown server outcome ${JSON.stringify(r)}`);
  if (r.status === "report") {
    expectTrustworthy(r.report);
    encodes(r.report);
  }
}

// ---------------------------------------------------------------- fixtures

interface Sample {
  name: string;
  /** "client" output, or a server's stdout (iperf2). */
  role: "client" | "server";
  out: CapturedOutput;
  params: ClientParams;
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** The params a fixture's argv was run with. */
function paramsOf(argv: string[]): ClientParams {
  // sockperf is UDP unless told --tcp.
  const sockperfUdp = argv.includes("sockperf") && !argv.includes("--tcp");
  const p: ClientParams = {
    target: "127.0.0.1",
    port: Number(flag(argv, "-p") ?? flag(argv, "-lp") ?? 5001),
    protocol: argv.includes("-u") || argv.includes("udp_bw") || sockperfUdp ? "udp" : "tcp",
    durationS: Number(flag(argv, "-t") ?? flag(argv, "-d")?.replace(/s$/, "") ?? 2),
    parallel: Number(flag(argv, "-P") ?? 1),
    direction: argv.includes("-R") ? "reverse" : argv.includes("--bidir") || argv.includes("--full-duplex") ? "bidir" : "forward",
  };
  const count = flag(argv, "-c");
  if (argv[0] === "ping" && count) p.pingCount = Number(count);
  if (argv.includes("Connection: close")) p.httpMode = "new-connection";
  const mps = flag(argv, "--mps");
  if (mps) p.messageRatePerS = Number(mps);
  return p;
}

function samples(tool: string): Sample[] {
  const dir = new URL(`./fixtures/${tool}/`, import.meta.url);
  const files = readdirSync(dir);
  const read = (f: string): string => readFileSync(new URL(f, dir), "utf8");
  const out: Sample[] = [];
  for (const f of files.filter((x) => x.endsWith(".meta.json") && !x.endsWith(".server.meta.json"))) {
    const name = f.slice(0, -".meta.json".length);
    const meta = JSON.parse(read(f)) as { argv: string[]; exitCode: number };
    const stdoutFile = files.find((x) => x === `${name}.stdout.json` || x === `${name}.stdout.txt`)!;
    const params = paramsOf(meta.argv);
    out.push({ name, role: "client", out: { stdout: read(stdoutFile), stderr: read(`${name}.stderr.txt`), exitCode: meta.exitCode }, params });
    if (files.includes(`${name}.server.stdout.txt`))
      out.push({ name: `${name}.server`, role: "server", out: { stdout: read(`${name}.server.stdout.txt`), stderr: "", exitCode: 0 }, params });
  }
  return out;
}

// ---------------------------------------------------------------- mutations

/** A small, fast, seeded PRNG (mulberry32) for the big inputs, so fast-check keeps only a seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Numbers a broken or hostile tool might print where a figure belongs. */
const HOSTILE_NUMBERS = [
  "-1",
  "-0",
  "0",
  "-3",
  "-999999999",
  "1.5",
  "0.0000001",
  "4294967295",
  "4294967296",
  "9007199254740993",
  "18446744073709551616",
  "1e308",
  "1e400",
  "-1e400",
  "1e-400",
  "NaN",
  "Infinity",
  "-Infinity",
  "abc",
  "",
  "1,000",
  "0x10",
  "1.2.3",
  "9".repeat(400),
  "1".repeat(20_000),
];
/** JSON values for iperf3's documents (the raw token is spliced in: 1e400 parses as Infinity). */
const HOSTILE_JSON = [...HOSTILE_NUMBERS.filter((n) => /^-?\d+(\.\d+)?(e-?\d+)?$/.test(n)), '"5"', '"NaN"', "null", "true", "{}", "[]", '"-1"'];
const CHARS = ["\u0000", "\r", "\n", "[", "]", "*", "-", ".", ",", "%", "=", "/", " ", "\t", "9", "0", "a", "{", "}", '"', "\u2028", "é", "\uffff"];
/** Long runs that trip quadratic patterns. */
const RUNS_OF = [
  " ",
  "1",
  "9",
  "[",
  "[ ",
  "[ *",
  ".",
  "-",
  "1.",
  "1/",
  "\r",
  "\t",
  "(",
  ")",
  "=",
  "icmp_seq=1 ",
  "time=",
  " packets transmitted, ",
  "rtt min/avg/max/mdev = ",
  "{",
  "[",
  '"',
  ",",
  "SUM",
  "Socket errors: ",
  " requests in ",
  "sockperf: ",
  "---> percentile ",
  "ERROR: ",
];

type Edit =
  | { kind: "truncate"; at: number }
  | { kind: "flip"; at: number; char: string }
  | { kind: "delete-line"; at: number }
  | { kind: "duplicate-line"; at: number; times: number }
  | { kind: "swap-lines"; a: number; b: number }
  | { kind: "insert-line"; at: number; text: string }
  | { kind: "number"; which: number; value: string }
  | { kind: "json-value"; which: number; value: string };

type Big =
  | { kind: "run"; at: number; unit: string; chars: number }
  | { kind: "junk"; at: number; seed: number; alphabet: string; chars: number }
  | { kind: "repeat-lines"; seed: number; chars: number };

interface Plan {
  sample: number;
  params: "fixture" | Partial<ClientParams>;
  edits: Edit[];
  big?: Big;
  /** Which stream the edits go to. */
  stream: "stdout" | "stderr";
}

const at = fc.nat();
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant("truncate" as const), at }),
  fc.record({ kind: fc.constant("flip" as const), at, char: fc.constantFrom(...CHARS) }),
  fc.record({ kind: fc.constant("delete-line" as const), at }),
  fc.record({ kind: fc.constant("duplicate-line" as const), at, times: fc.integer({ min: 1, max: 300 }) }),
  fc.record({ kind: fc.constant("swap-lines" as const), a: at, b: at }),
  fc.record({ kind: fc.constant("insert-line" as const), at, text: fc.string({ maxLength: 120, unit: "binary" }) }),
  {
    arbitrary: fc.record({
      kind: fc.constant("number" as const),
      which: at,
      value: fc.oneof(fc.constantFrom(...HOSTILE_NUMBERS), fc.double().map(String), fc.integer().map(String)),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("json-value" as const),
      which: at,
      value: fc.oneof(
        fc.constantFrom(...HOSTILE_JSON),
        fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
      ),
    }),
    weight: 4,
  },
);
const bigArb: fc.Arbitrary<Big> = fc.oneof(
  fc.record({ kind: fc.constant("run" as const), at, unit: fc.constantFrom(...RUNS_OF), chars: fc.integer({ min: 1_000, max: MB }) }),
  fc.record({
    kind: fc.constant("junk" as const),
    at,
    seed: fc.integer(),
    alphabet: fc.constantFrom("0123456789", " \t", "[] *", "0123456789. -/%\n", "[ 1] 0.0-1.0 sec Bytes bits/sec\n", '{}[]":,0123456789e-'),
    chars: fc.integer({ min: 1_000, max: MB }),
  }),
  fc.record({ kind: fc.constant("repeat-lines" as const), seed: fc.integer(), chars: fc.integer({ min: 10_000, max: MB }) }),
);
const paramsArb: fc.Arbitrary<Partial<ClientParams>> = fc.record(
  {
    protocol: fc.constantFrom("tcp" as const, "udp" as const),
    direction: fc.constantFrom("forward" as const, "reverse" as const, "bidir" as const),
    parallel: fc.integer({ min: 1, max: 8 }),
    durationS: fc.integer({ min: 1, max: 10 }),
  },
  { requiredKeys: [] },
);

function planArb(nSamples: number): fc.Arbitrary<Plan> {
  return fc.record({
    sample: fc.integer({ min: 0, max: nSamples - 1 }),
    params: fc.oneof({ arbitrary: fc.constant("fixture" as const), weight: 3 }, { arbitrary: paramsArb, weight: 1 }),
    edits: fc.array(editArb, { minLength: 0, maxLength: 4 }),
    // About one input in 60 is big (up to 1 MB): enough of them, and the runs stay fast.
    big: fc.oneof({ arbitrary: fc.constant(undefined), weight: 59 }, { arbitrary: bigArb, weight: 1 }),
    stream: fc.constantFrom("stdout" as const, "stdout" as const, "stdout" as const, "stderr" as const),
  });
}

function splice(text: string, pos: number, insert: string): string {
  const i = text.length === 0 ? 0 : pos % (text.length + 1);
  return text.slice(0, i) + insert + text.slice(i);
}

function applyEdit(text: string, e: Edit): string {
  const lines = (): string[] => text.split("\n");
  switch (e.kind) {
    case "truncate":
      return text.slice(0, text.length === 0 ? 0 : e.at % text.length);
    case "flip": {
      if (text.length === 0) return e.char;
      const i = e.at % text.length;
      return text.slice(0, i) + e.char + text.slice(i + 1);
    }
    case "delete-line": {
      const l = lines();
      l.splice(e.at % l.length, 1);
      return l.join("\n");
    }
    case "duplicate-line": {
      const l = lines();
      const i = e.at % l.length;
      l.splice(i, 0, ...Array<string>(e.times).fill(l[i]!));
      return l.join("\n");
    }
    case "swap-lines": {
      const l = lines();
      const a = e.a % l.length;
      const b = e.b % l.length;
      [l[a], l[b]] = [l[b]!, l[a]!];
      return l.join("\n");
    }
    case "insert-line": {
      const l = lines();
      l.splice(e.at % (l.length + 1), 0, e.text);
      return l.join("\n");
    }
    case "number": {
      const found = [...text.matchAll(/-?\d+(?:\.\d+)?/g)];
      if (found.length === 0) return text;
      const m = found[e.which % found.length]!;
      return text.slice(0, m.index) + e.value + text.slice(m.index + m[0].length);
    }
    case "json-value": {
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        return text;
      }
      // The e.which-th number leaf, in document order, becomes the raw token.
      const leaves: [Record<string | number, unknown>, string | number][] = [];
      const walk = (v: unknown): void => {
        if (typeof v !== "object" || v === null) return;
        for (const [k, x] of Object.entries(v)) {
          if (typeof x === "number") leaves.push([v as Record<string | number, unknown>, Array.isArray(v) ? Number(k) : k]);
          else walk(x);
        }
      };
      walk(doc);
      if (leaves.length === 0) return text;
      const [holder, key] = leaves[e.which % leaves.length]!;
      const mark = "__hostile__";
      holder[key] = mark;
      return JSON.stringify(doc).replace(`"${mark}"`, e.value);
    }
  }
}

function applyBig(text: string, b: Big): string {
  switch (b.kind) {
    case "run":
      return splice(text, b.at, b.unit.repeat(Math.ceil(b.chars / b.unit.length)));
    case "junk": {
      const rnd = prng(b.seed);
      const parts: string[] = new Array<string>(b.chars);
      for (let i = 0; i < b.chars; i++) parts[i] = b.alphabet[Math.floor(rnd() * b.alphabet.length)]!;
      return splice(text, b.at, parts.join(""));
    }
    case "repeat-lines": {
      // Real lines again and again, in random order: many rows, streams and intervals.
      const lines = text.split("\n").filter((l) => l.length > 0);
      if (lines.length === 0) return text;
      const rnd = prng(b.seed);
      const out: string[] = [];
      for (let size = 0; size < b.chars;) {
        const l = lines[Math.floor(rnd() * lines.length)]!;
        out.push(l);
        size += l.length + 1;
      }
      return `${text}\n${out.join("\n")}\n`;
    }
  }
}

function build(sample: Sample, plan: Plan): { out: CapturedOutput; params: ClientParams } {
  let text = plan.stream === "stdout" || sample.role === "server" ? sample.out.stdout : sample.out.stderr;
  for (const e of plan.edits) text = applyEdit(text, e);
  if (plan.big) text = applyBig(text, plan.big);
  const out = plan.stream === "stdout" || sample.role === "server" ? { ...sample.out, stdout: text } : { ...sample.out, stderr: text };
  const params = plan.params === "fixture" ? sample.params : { ...sample.params, ...plan.params };
  return { out, params };
}

// ---------------------------------------------------------------- the fuzz tests

interface Subject {
  tool: string;
  seed: number;
  client(out: CapturedOutput, p: ClientParams): ParseOutcome;
  server?(stdout: string, p: ClientParams): ServerOutcome;
}

const SUBJECTS: Subject[] = [
  { tool: "iperf3", seed: 3003, client: (o, p) => iperf3.parseClient(o, p) },
  { tool: "iperf2", seed: 2002, client: (o, p) => iperf2.parseClient(o, p), server: (s, p) => iperf2.parseServer!(s, p) },
  { tool: "qperf", seed: 4004, client: (o, p) => qperf.parseClient(o, p) },
  { tool: "ping", seed: 5005, client: (o, p) => ping.parseClient(o, p) },
  { tool: "http", seed: 6006, client: (o, p) => http.parseClient(o, p) },
  { tool: "sockperf", seed: 7007, client: (o, p) => sockperf.parseClient(o, p) },
];

describe.each(SUBJECTS)("$tool parser under fuzzing", (subject) => {
  const all = samples(subject.tool);

  test(`${RUNS} mutated captured outputs: bounded time, typed failure or trustworthy figures that encode`, { timeout: 300_000 }, () => {
    const stats = newStats();
    const seed = SEED ?? subject.seed;
    try {
      fc.assert(
        fc.property(planArb(all.length), (plan) => {
          const sample = all[plan.sample]!;
          const { out, params } = build(sample, plan);
          const chars = out.stdout.length + out.stderr.length;
          const what = `${sample.name} ${JSON.stringify({ ...plan, sample: undefined })}`;
          if (sample.role === "server") {
            checkServer(withinBound(stats, chars, out.stdout, () => subject.server!(out.stdout, params), what));
          } else {
            checkClient(withinBound(stats, chars, `${out.stdout}\n${out.stderr}`, () => subject.client(out, params), what));
          }
        }),
        { numRuns: RUNS, seed },
      );
    } catch (err) {
      console.error(`${subject.tool} fuzz failed; replay with NETMATRIX_FUZZ_SEED=${seed} (and the path in the message)`);
      throw err;
    }
    report(subject.tool, stats);
    expect(stats.calls).toBeGreaterThanOrEqual(RUNS);
    // The inputs reached the size the bound is stated for.
    if (RUNS >= 10_000) expect(stats.maxChars).toBeGreaterThanOrEqual(0.9 * MB);
  });
});

// ---------------------------------------------------------------- known worst cases, grown to 1 MB

/**
 * Inputs aimed at each pattern's weak spot (long runs where two quantifiers
 * could share characters, or an unanchored pattern restarts). Each grows from
 * 16 KB to 1 MB and must stay within the bound at every size; a quadratic
 * pattern fails at the first sizes in well under a second instead of running
 * for minutes.
 */
const WORST: [string, (n: number) => string][] = [
  ['"[" and spaces (iperf2 rows)', (n) => `[${" ".repeat(n)}`],
  ['"[ *" and spaces (iperf2 rows)', (n) => `[ *${" ".repeat(n)}x`],
  ["a row with a long tail of spaces (iperf2)", (n) => `[  1] 0.0000-1.0000 sec  1 Bytes  8 bits/sec${" ".repeat(n)}\r`],
  ["digits (ping summary, parseDecimal)", (n) => "1".repeat(n)],
  ["digits before packets transmitted (ping)", (n) => `${"1".repeat(n)} packets transmitted, `],
  ["ping summary with a long loss field", (n) => `1 packets transmitted, 1 received, ${"1.".repeat(n / 2)}`],
  ["icmp_seq= repeated on one line (ping)", (n) => "icmp_seq=1 ".repeat(n / 11)],
  ["icmp_seq then time= repeated (ping)", (n) => `icmp_seq=1 ${"time=1".repeat(n / 6)}`],
  ["rtt line with a long last field (ping)", (n) => `rtt min/avg/max/mdev = 1/1/1/${"1.".repeat(n / 2)}`],
  ["qperf figure with a long run of spaces", (n) => `tcp_bw:\n    bw  =  1${" ".repeat(n)}x\n`],
  ["qperf figure with a long digit run and a carriage return", (n) => `tcp_bw:\n    bw  =  ${"1".repeat(n)}\rx\n`],
  ["qperf unit with many parentheses", (n) => `tcp_bw:\n    bw  =  1 ${"(".repeat(n)}\n`],
  ["qperf figure name and spaces", (n) => `tcp_bw:\n ${"a".repeat(n / 2)}${" ".repeat(n / 2)}x\n`],
  ["open brackets (iperf3 JSON)", (n) => "[".repeat(n)],
  ["open braces (iperf3 JSON)", (n) => "{".repeat(n)],
  ["a JSON string of backslashes", (n) => `{"error": "${"\\\\".repeat(n / 2)}`],
  ["lines of text-report headers (iperf3)", (n) => "Connecting to host x\n".repeat(n / 21)],
  ["wrk latency row with long runs of spaces", (n) => `    Latency ${"1us ".repeat(n / 8)}${" ".repeat(n / 2)}x\n`],
  ["wrk totals with a long token before the comma", (n) => `  1 requests in ${"1,".repeat(n / 2)}s, 1B read x\n`],
  ["wrk percentile rows inside the distribution", (n) => `  Latency Distribution\n${"     50%   1.00us\n".repeat(n / 18)}`],
  ["wrk socket errors with long digit runs", (n) => `  Socket errors: connect ${"1".repeat(n)}, read 1, write 1, timeout\n`],
  ["sockperf percentile rows with long spaces", (n) => `sockperf: ---> percentile 99.000 =${" ".repeat(n)}1 x\n`],
  ["sockperf observation with a long number", (n) => `sockperf: ---> <MAX> observation = ${"1.".repeat(n / 2)}x\n`],
  ["sockperf colour escapes", (n) => `sockperf: ${"\x1b[2;35m".repeat(n / 7)}====> avg-rtt=1 (std-dev=1)\n`],
  ["sockperf lines repeated", (n) => "sockperf: ".repeat(n / 10)],
  ["carriage returns", (n) => "\r".repeat(n)],
  ["newlines", (n) => "\n".repeat(n)],
];

describe("known worst cases stay linear (16 KB → 1 MB)", () => {
  const p: ClientParams = { target: "127.0.0.1", port: 5001, protocol: "udp", durationS: 2, parallel: 1, direction: "forward" };
  const parsers: [string, (text: string) => unknown][] = [
    ["iperf3", (t) => iperf3.parseClient({ stdout: t, stderr: "", exitCode: 0 }, p)],
    ["iperf2", (t) => iperf2.parseClient({ stdout: t, stderr: "", exitCode: 0 }, p)],
    ["iperf2 server", (t) => iperf2.parseServer!(t, p)],
    ["qperf", (t) => qperf.parseClient({ stdout: t, stderr: "", exitCode: 0 }, p)],
    ["ping", (t) => ping.parseClient({ stdout: t, stderr: "", exitCode: 0 }, p)],
    ["stderr of ping", (t) => ping.parseClient({ stdout: "", stderr: t, exitCode: 2 }, p)],
    ["http", (t) => http.parseClient({ stdout: t, stderr: "", exitCode: 0 }, p)],
    ["stderr of http", (t) => http.parseClient({ stdout: "", stderr: t, exitCode: 1 }, p)],
    ["sockperf", (t) => sockperf.parseClient({ stdout: t, stderr: "", exitCode: 0 }, p)],
  ];

  test.each(WORST)("%s", { timeout: 120_000 }, (_label, make) => {
    const stats = newStats();
    for (const n of [16 * 1024, 64 * 1024, 256 * 1024, MB]) {
      const input = make(n);
      for (const [, parse] of parsers) withinBound(stats, input.length, input, () => parse(input));
    }
    expect(stats.maxChars).toBeGreaterThanOrEqual(MB - 32);
  });
});

// Keep the reference scan's result observable so it is not optimized away.
test("the linear reference did its work", () => {
  linearScan("abc\ndef");
  expect(typeof sink).toBe("number");
});
