/** Whether the module at `url` (its import.meta.url) is the program run, not imported by another benchmark (bench:truth runs three). */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function isMain(url: string): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}
