/**
 * vitest global setup of the e2e project: claim this run's test slot (see
 * slot.ts) once, before any worker starts, and hand it to every worker
 * through $NETMATRIX_TEST_SLOT; release it when the run ends. A slot given in
 * the environment is used as it is.
 */
import { claimSlot, parseSlot, SLOT_ENV } from "./slot.js";

export default function setup(): (() => void) | undefined {
  const given = process.env[SLOT_ENV];
  if (given !== undefined && given !== "") {
    console.log(`e2e test slot ${parseSlot(given)} (from $${SLOT_ENV})`);
    return undefined;
  }
  const claim = claimSlot();
  process.env[SLOT_ENV] = String(claim.id);
  console.log(`e2e test slot ${claim.id} (claimed; names nm${claim.id}-…)`);
  return () => {
    claim.release();
    delete process.env[SLOT_ENV];
  };
}
