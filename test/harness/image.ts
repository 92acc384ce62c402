/**
 * The image the container tests run: $NETMATRIX_TEST_IMAGE (default
 * localhost/netmatrix/netmatrix:dev, what scripts/build-image.sh tags), when
 * podman and the image are here and we are root. Otherwise the tests skip and
 * say why, unless $NETMATRIX_REQUIRE_IMAGE=1 (CI sets it after building the
 * image), which turns a skip into a failure: CI cannot pass without running them.
 */
import { spawnSync } from "node:child_process";

export const TEST_IMAGE = process.env.NETMATRIX_TEST_IMAGE || "localhost/netmatrix/netmatrix:dev";

/** Why the container tests cannot run here, or undefined when they can. */
export function imageUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "the lab's containers need root";
  const podman = spawnSync("podman", ["image", "exists", TEST_IMAGE], { stdio: "ignore" });
  if (podman.error) return "podman is not installed (bash scripts/install-tools.sh)";
  if (podman.status !== 0) return `image ${TEST_IMAGE} is missing (bash scripts/build-image.sh)`;
  return undefined;
}

/**
 * For `describe.skipIf(skipImage(file))`: true when the tests must skip (after
 * saying so); throws when CI requires the image and it is not usable.
 */
export function skipImage(file: string): boolean {
  const why = imageUnavailable();
  if (!why) return false;
  if (process.env.NETMATRIX_REQUIRE_IMAGE === "1") throw new Error(`${file}: NETMATRIX_REQUIRE_IMAGE=1 but ${why}`);
  console.warn(`SKIPPED ${file}: ${why}`);
  return true;
}
