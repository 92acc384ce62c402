/**
 * The one place a test run takes its host-global names, addresses and ports
 * from, so two runs on one machine (two checkouts, CI beside a developer,
 * scripts/e2e-twice.sh) never touch each other's namespaces, root-namespace
 * links and routes, or ports.
 *
 * A run has a slot 1..{@link SLOT_MAX}: $NETMATRIX_TEST_SLOT when set, else
 * one claimed for the run (vitest's global setup for the e2e project claims it
 * once and exports it to the workers; a process that imports this outside
 * vitest, e.g. a benchmark, claims its own). A claim is a lock file
 * `$TMPDIR/netmatrix-test-slots/slot-N` holding the owner's pid; one whose
 * owner is gone is taken over. From the slot:
 *
 * - names: `prefix(tag)` = `nm<slot>-<tag>-` for namespaces and root links
 *   (never a prefix of another slot's or tag's, never `nm-lab-`, the
 *   user's lab);
 * - addresses: lab address block = the slot (root-visible control links in
 *   198.18.<1+slot>.0/24, pods in 10.244.<16·slot+i>.0/24; block 0 stays the
 *   user's lab) — see lab/src/topology-plan.ts `blockAddresses`;
 * - ports: tool-server port ranges from the slot's own 1000 ports
 *   (21000 + 1000·(slot−1) …), and coordinators on free ports (port 0).
 *   Addresses and ports inside a test's own namespaces are private to it and
 *   need no slot.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blockAddresses } from "../../lab/src/topology-plan.js";

/** The environment variable holding the run's slot. */
export const SLOT_ENV = "NETMATRIX_TEST_SLOT";
/** Slots 1..SLOT_MAX (their port ranges end at 30999, below Linux's ephemeral ports). */
export const SLOT_MAX = 10;
/** Ports per slot for agents' tool servers. */
const SLOT_PORTS = 1000;
const FIRST_SLOT_PORT = 21000;

const LOCK_DIR = join(tmpdir(), "netmatrix-test-slots");

export interface TestSlot {
  /** 1..SLOT_MAX. */
  id: number;
  /** The lab address block (root-visible control links and pod routes) of this slot. */
  block: number;
  /** Prefix for namespaces and root-namespace links: `nm<slot>-<tag>-`; `tag` is 1..5 of [a-z0-9]. */
  prefix(tag: string): string;
  /** A `MIN-MAX` tool-server port range: `count` ports at `offset` within the slot's 1000. */
  portRange(offset: number, count: number): string;
  /** Environment for `netmatrix lab …`: its data dir, and this slot's prefix, address block and free ports. */
  labEnv(dataDir: string): Record<string, string>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Try to take slot `id` for `pid`; takes over a lock whose owner is gone. */
function tryClaim(file: string, pid: number): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${pid}\n`, { flag: "wx", mode: 0o644 });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") return false;
    }
    let owner: number;
    try {
      owner = Number(readFileSync(file, "utf8").trim());
    } catch {
      continue; // removed meanwhile: try again
    }
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
    try {
      rmSync(file);
    } catch {
      return false; // not ours to remove (another user's, sticky directory)
    }
  }
  return false;
}

/**
 * Claim a free slot for process `pid` (default this one); returns it and its
 * release. Throws when all are taken. `dir`: where the locks live (tests only).
 */
export function claimSlot(pid = process.pid, dir = LOCK_DIR): { id: number; release(): void } {
  mkdirSync(dir, { recursive: true });
  try {
    // Shared by every user's runs, like /tmp itself.
    chmodSync(dir, 0o1777);
  } catch {
    // someone else's directory: it already is
  }
  for (let id = 1; id <= SLOT_MAX; id++) {
    const file = join(dir, `slot-${id}`);
    if (!tryClaim(file, pid)) continue;
    return {
      id,
      release() {
        try {
          if (readFileSync(file, "utf8").trim() === String(pid)) rmSync(file);
        } catch {
          // already gone
        }
      },
    };
  }
  throw new Error(`all ${SLOT_MAX} test slots are taken (locks in ${dir}); wait for a run to end or set ${SLOT_ENV}=1..${SLOT_MAX}`);
}

/** Parse $NETMATRIX_TEST_SLOT; throws a sentence naming the fix when it is not a slot. */
export function parseSlot(text: string): number {
  const id = Number(text);
  if (!/^\d+$/.test(text.trim()) || id < 1 || id > SLOT_MAX) throw new Error(`${SLOT_ENV}=${JSON.stringify(text)} is not a slot: use 1..${SLOT_MAX}`);
  return id;
}

/** The slot `id`'s names, addresses and ports. */
export function slotOf(id: number): TestSlot {
  const block = id;
  blockAddresses(block); // throws if the lab has no such block
  const slot: TestSlot = {
    id,
    block,
    prefix(tag) {
      if (!/^[a-z0-9]{1,5}$/.test(tag)) throw new Error(`test prefix tag ${JSON.stringify(tag)}: use 1..5 of [a-z0-9]`);
      return `nm${id}-${tag}-`;
    },
    portRange(offset, count) {
      if (!Number.isInteger(offset) || !Number.isInteger(count) || offset < 0 || count < 1 || offset + count > SLOT_PORTS) {
        throw new Error(`port range ${offset}+${count} is outside a slot's ${SLOT_PORTS} ports`);
      }
      const min = FIRST_SLOT_PORT + SLOT_PORTS * (id - 1) + offset;
      return `${min}-${min + count - 1}`;
    },
    labEnv(dataDir) {
      return { NETMATRIX_DATA_DIR: dataDir, NETMATRIX_LAB_PREFIX: slot.prefix("lab"), NETMATRIX_LAB_ADDRESS_BLOCK: String(block), NETMATRIX_LAB_PORT: "0" };
    },
  };
  return slot;
}

let current: TestSlot | undefined;

/** This run's slot: $NETMATRIX_TEST_SLOT, else one claimed now for this process (and exported to its children). */
export function testSlot(): TestSlot {
  if (current) return current;
  const given = process.env[SLOT_ENV];
  if (given !== undefined && given !== "") {
    current = slotOf(parseSlot(given));
  } else {
    const claim = claimSlot();
    process.once("exit", () => claim.release());
    process.env[SLOT_ENV] = String(claim.id);
    current = slotOf(claim.id);
  }
  return current;
}
