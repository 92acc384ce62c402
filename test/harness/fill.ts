/** Test helper: fill a file system until it refuses another byte. */
import { closeSync, openSync, writeSync } from "node:fs";

/** Write `file` until the file system holding it answers ENOSPC even for one byte. */
export function fillFileSystem(file: string): void {
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (let size = chunk.length; size >= 1;) {
      try {
        writeSync(fd, chunk, 0, size);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
        size >>= 1;
      }
    }
  } finally {
    closeSync(fd);
  }
}
