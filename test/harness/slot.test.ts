/**
 * The test slot: claims are exclusive while their owner lives and taken over
 * when it is gone; names, addresses and ports of different slots never
 * overlap; the e2e project's global setup hands every file the run's slot.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { checkPrefix, IFNAME_MAX, planTopology, rootLinkNames } from "../../lab/src/topology-plan.js";
import { claimSlot, parseSlot, SLOT_ENV, SLOT_MAX, slotOf, testSlot } from "./slot.js";

const dir = mkdtempSync(join(tmpdir(), "nm-slot-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  return Number(r.stdout.trim());
}

describe("claimSlot", () => {
  test("a live owner keeps its slot; a released or dead owner's slot is taken again; all taken is an error", () => {
    const locks = join(dir, "locks");
    const a = claimSlot(process.pid, locks);
    const b = claimSlot(process.pid, locks);
    expect([a.id, b.id]).toEqual([1, 2]);
    expect(readFileSync(join(locks, "slot-1"), "utf8").trim()).toBe(String(process.pid));
    a.release();
    expect(claimSlot(process.pid, locks).id).toBe(1);
    // Slot 3 held by a process that is gone: taken over.
    writeFileSync(join(locks, "slot-3"), `${deadPid()}\n`);
    expect(claimSlot(process.pid, locks).id).toBe(3);
    // A garbled lock is no owner either.
    writeFileSync(join(locks, "slot-4"), "not a pid\n");
    expect(claimSlot(process.pid, locks).id).toBe(4);
    for (let id = 5; id <= SLOT_MAX; id++) expect(claimSlot(process.pid, locks).id).toBe(id);
    expect(() => claimSlot(process.pid, locks)).toThrow(/all 10 test slots are taken/);
  });

  test("release removes only its own lock", () => {
    const locks = join(dir, "release");
    const a = claimSlot(process.pid, locks);
    writeFileSync(join(locks, `slot-${a.id}`), "1\n"); // someone else took it over meanwhile
    a.release();
    expect(readFileSync(join(locks, `slot-${a.id}`), "utf8")).toBe("1\n");
  });
});

describe("slotOf", () => {
  const slots = Array.from({ length: SLOT_MAX }, (_, i) => slotOf(i + 1));
  const tags = ["lab", "ltopo", "lsvc", "tpair", "tweb", "smp", "bfid", "bsmp"];

  test("prefixes are valid lab prefixes, never `nm-lab-`, and none starts another (a sweep removes only its own)", () => {
    const prefixes = slots.flatMap((s) => tags.map((t) => s.prefix(t)));
    for (const p of prefixes) {
      expect(checkPrefix(p)).toBe(p);
      expect(p.startsWith("nm-lab-")).toBe(false);
      // Root links: a lab's `${prefix}cext`, a pair's `${prefix}ra`.
      expect(`${p}cext`.length).toBeLessThanOrEqual(IFNAME_MAX);
    }
    for (const p of prefixes) expect(prefixes.filter((q) => q.startsWith(p))).toEqual([p]);
    expect(() => slots[0]!.prefix("toolong")).toThrow(/1\.\.5/);
  });

  test("labs of different slots share no root-visible address, and none is the user's lab's (block 0)", () => {
    const rootVisible = (block: number) => {
      const t = planTopology({ prefix: "nm-x-", block, nodes: 16, external: true });
      return [...t.nodes.flatMap((n) => [n.podCidr, n.controlGateway]), t.external!.controlGateway];
    };
    const all = [0, ...slots.map((s) => s.block)].flatMap(rootVisible);
    expect(new Set(all).size).toBe(all.length);
    expect(rootLinkNames(planTopology({ prefix: slots[0]!.prefix("lab"), nodes: 16, external: true })).every((n) => n.length <= IFNAME_MAX)).toBe(true);
  });

  test("port ranges stay inside the slot's 1000, below the ephemeral ports, and never overlap another slot's", () => {
    expect(slots[0]!.portRange(0, 100)).toBe("21000-21099");
    expect(slots[1]!.portRange(500, 60)).toBe("22500-22559");
    expect(slots.at(-1)!.portRange(0, 1000)).toBe("30000-30999");
    expect(() => slots[0]!.portRange(950, 100)).toThrow(/outside/);
    expect(() => slots[0]!.portRange(-1, 10)).toThrow(/outside/);
  });

  test("labEnv gives the lab command this slot's prefix, block and free ports", () => {
    expect(slotOf(7).labEnv("/d")).toEqual({ NETMATRIX_DATA_DIR: "/d", NETMATRIX_LAB_PREFIX: "nm7-lab-", NETMATRIX_LAB_ADDRESS_BLOCK: "7", NETMATRIX_LAB_PORT: "0" });
  });

  test.each(["0", "11", "1.5", "x", " "])("refuses %j as a slot", (text) => {
    expect(() => parseSlot(text)).toThrow(/not a slot/);
  });
});

test("the e2e project's global setup gave this run a slot, and testSlot() is it", () => {
  const given = process.env[SLOT_ENV];
  expect(given).toMatch(/^\d+$/);
  expect(testSlot().id).toBe(Number(given));
});
