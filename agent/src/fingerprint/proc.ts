/** Pure parsers of /proc and /sys text: /proc/cpuinfo, one-number files. */

/** The CPU model and the number of processors /proc/cpuinfo lists. */
export function parseCpuinfo(text: string): { model: string; count: number } {
  const model = /^(?:model name|Processor|cpu model|uarch)\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? "";
  const count = text.split("\n").filter((l) => /^processor\s*:/.test(l)).length;
  return { model, count };
}

/** A non-negative integer file ("262144\n"), else undefined (absent, "-1" for a veth's speed, garbage). */
export function parseCount(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (!t || !/^\d{1,15}$/.test(t)) return undefined;
  return Number(t);
}
