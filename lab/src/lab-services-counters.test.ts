/**
 * The counters the lab's kube-proxy keeps for removed Service rules: parsing
 * `iptables-save -c` (real captured output, fixtures/), the records and their
 * bounded file; and, as root, a real namespace's rules deleted with the
 * packets they counted.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { deleteTagged, parseSaveCounters } from "./lab-services-rules.js";
import { appendCounterRecords, counterRecord, describeTag, readCounterRecords, serviceCountersFile, type ServiceCounterRecord } from "./lab-services-counters.js";
import { inNs, tryInNs } from "./topology-run.js";
import { testSlot } from "../../test/harness/slot.js";

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const RUN_TAG = "nm-lab-svc:20260102-030405-abcd:0123456789ab";

describe("parseSaveCounters (iptables-save -c, iptables v1.8.9 nf_tables)", () => {
  it("reads every nat rule with its exact packets and bytes, and its tag", () => {
    const rules = parseSaveCounters(fixture("iptables-save-c.txt"));
    expect(rules.map((r) => [r.words[1], r.tag, r.packets, r.bytes])).toEqual([
      ["PREROUTING", RUN_TAG, 0, 0],
      ["OUTPUT", RUN_TAG, 7, 420],
      ["OUTPUT", "nm-lab-kube:netmatrix/nm-c0002", 0, 0],
      ["POSTROUTING", RUN_TAG, 7, 420],
      ["POSTROUTING", undefined, 0, 0],
      ["KUBE-SVC-X", "default/web:http cluster IP", 0, 0],
    ]);
    // The words are what `iptables -D` takes after -A: quotes gone, the counters not among them.
    expect(rules[1]!.words).toEqual([
      "-A",
      "OUTPUT",
      "-d",
      "10.96.0.20/32",
      "-p",
      "tcp",
      "-m",
      "tcp",
      "--dport",
      "80",
      "-m",
      "comment",
      "--comment",
      RUN_TAG,
      "-j",
      "DNAT",
      "--to-destination",
      "10.0.0.1:8080",
    ]);
    expect(rules[4]!.words).toEqual(["-A", "POSTROUTING", "-s", "172.17.0.0/16", "!", "-o", "docker0", "-j", "MASQUERADE"]);
  });

  it("takes only the asked table's rules (the filter table's tagged rule is not nat's)", () => {
    const filter = parseSaveCounters(fixture("iptables-save-c.txt"), "filter");
    expect(filter.map((r) => [r.words.slice(0, 2), r.tag])).toEqual([[["-A", "INPUT"], "nm-lab-svc:not:nat"]]);
    expect(parseSaveCounters(fixture("iptables-save-c.txt"), "mangle")).toEqual([]);
    expect(parseSaveCounters("")).toEqual([]);
  });

  it("agrees with `iptables -t nat -L -v -x -n` read at the same moment", () => {
    // PKTS BYTES TARGET … /* TAG */ of every rule, as -L prints them, in order.
    const listed = fixture("iptables-L-v-x-n-nat.txt")
      .split("\n")
      .map((l) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s.*?(?:\/\* (.*) \*\/)?\s*(?:to:\S+)?\s*$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [Number(m[1]), Number(m[2]), m[3], m[4]]);
    const saved = parseSaveCounters(fixture("iptables-save-c-nat.txt")).map((r) => [r.packets, r.bytes, r.words[r.words.indexOf("-j") + 1], r.tag]);
    expect(saved).toEqual(listed);
    expect(saved.filter((r) => r[0] === 5)).toHaveLength(2);
  });
});

describe("counter records", () => {
  const dir = mkdtempSync(join(tmpdir(), "nm-counters-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("names the case (svc: tags) or the Kubernetes Service (kube: tags) and keeps the rule as iptables-save prints it", () => {
    expect(describeTag("nm-lab-", RUN_TAG)).toEqual({ runId: "20260102-030405-abcd", caseId: "0123456789ab" });
    expect(describeTag("nm-lab-", "nm-lab-kube:netmatrix/nm-c0002")).toEqual({ service: "netmatrix/nm-c0002" });
    expect(describeTag("nm-lab-", "nm7-lab-svc:a:b")).toEqual({});
    const [, output] = parseSaveCounters(fixture("iptables-save-c.txt"));
    const at = new Date("2026-01-02T03:04:05.678Z");
    expect(counterRecord("nm-lab-", { name: "node-1", ns: "nm-lab-node-1" }, output!, at)).toEqual({
      at: "2026-01-02T03:04:05.678Z",
      tag: RUN_TAG,
      runId: "20260102-030405-abcd",
      caseId: "0123456789ab",
      node: "node-1",
      ns: "nm-lab-node-1",
      chain: "OUTPUT",
      target: "DNAT",
      rule: `-A OUTPUT -d 10.96.0.20/32 -p tcp -m tcp --dport 80 -m comment --comment "${RUN_TAG}" -j DNAT --to-destination 10.0.0.1:8080`,
      packets: 7,
      bytes: 420,
    });
  });

  it("appends JSON lines, rotates past the bound to ….1 (total bounded), and reads both back oldest first, skipping a torn line", () => {
    const file = serviceCountersFile(dir);
    expect(file).toBe(join(dir, "service-counters.jsonl"));
    const rule = parseSaveCounters(fixture("iptables-save-c.txt"))[1]!;
    const rec = (i: number): ServiceCounterRecord => ({ ...counterRecord("nm-lab-", { name: "node-1", ns: "nm-lab-node-1" }, rule, new Date(0)), packets: i });
    const size = Buffer.byteLength(`${JSON.stringify(rec(0))}\n`);
    const max = size * 10;
    for (let i = 0; i < 25; i++) appendCounterRecords(file, [rec(i)], max);
    expect(statSync(file).size).toBeLessThanOrEqual(max);
    expect(statSync(`${file}.1`).size).toBeLessThanOrEqual(max);
    // 25 records, 10 a file: 0–9 rotated away, 10–19 in ….1, 20–24 in the file.
    expect(readCounterRecords(file).map((r) => r.packets)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    writeFileSync(file, `${readFileSync(file, "utf8")}{"at":"2026`);
    expect(readCounterRecords(file)).toHaveLength(15);
    appendCounterRecords(file, []);
    expect(readCounterRecords(join(dir, "none.jsonl"))).toEqual([]);
  });
});

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)(`deleteTagged on a real namespace${isRoot ? "" : " (skipped: needs root to create a network namespace)"}`, () => {
  const ns = `${testSlot().prefix("lcnt")}ns`;
  afterAll(async () => void (await tryInNs(undefined, ["ip", "netns", "delete", ns])));

  it("deletes exactly the matching rules and returns the packets they counted, read in the same moment", async () => {
    await tryInNs(undefined, ["ip", "netns", "delete", ns]);
    await inNs(undefined, ["ip", "netns", "add", ns]);
    await inNs(ns, ["ip", "link", "set", "lo", "up"]);
    await inNs(ns, ["ip", "link", "add", "va", "type", "veth", "peer", "name", "vb"]);
    await inNs(ns, ["ip", "addr", "add", "10.0.0.1/24", "dev", "va"]);
    for (const l of ["va", "vb"]) await inNs(ns, ["ip", "link", "set", l, "up"]);
    await inNs(ns, ["ip", "route", "add", "10.96.0.0/16", "dev", "va"]);
    const tag = "nm-lab-svc:run-1:c1";
    const other = "nm-lab-svc:run-1:c2";
    for (const [t, ip] of [
      [tag, "10.96.0.20"],
      [other, "10.96.0.21"],
    ] as const) {
      await inNs(ns, [
        "iptables",
        "-w",
        "-t",
        "nat",
        "-A",
        "OUTPUT",
        "-d",
        `${ip}/32`,
        "-p",
        "tcp",
        "-m",
        "tcp",
        "--dport",
        "80",
        "-m",
        "comment",
        "--comment",
        t,
        "-j",
        "DNAT",
        "--to-destination",
        "10.0.0.1:9",
      ]);
    }
    // Three connections to the ClusterIP (refused by the backend address: one SYN each, DNATed).
    for (let i = 0; i < 3; i++) await tryInNs(ns, ["bash", "-c", "echo > /dev/tcp/10.96.0.20/80"]);
    const deleted = await deleteTagged(ns, (t) => t === tag);
    expect([...deleted.tags]).toEqual([tag]);
    expect(deleted.removed.map((r) => [r.tag, r.words[1], r.packets])).toEqual([[tag, "OUTPUT", 3]]);
    // A SYN is at least 40 bytes (IPv4 and TCP headers).
    expect(deleted.removed[0]!.bytes).toBeGreaterThanOrEqual(3 * 40);
    const left = parseSaveCounters(await inNs(ns, ["iptables-save", "-c", "-t", "nat"]));
    expect(left.map((r) => r.tag)).toEqual([other]);
    // Already gone: nothing deleted, nothing counted twice.
    expect((await deleteTagged(ns, (t) => t === tag)).removed).toEqual([]);
  });
});
