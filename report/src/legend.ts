/**
 * What the tables' columns, cell words and flags mean, for the legend under
 * a report or a comparison (terminal and Markdown) and for the CLI's
 * per-repetition lines. Flags are explained by their word, so a flag added
 * later renders as itself until it gets an entry here. Pure.
 */
import { CASE_FLAGS, REPETITION_FLAGS } from "../../common/src/model.js";

/** Each flag's meaning; a threshold flag ("cv>10%") is looked up by its word before the threshold. */
const FLAG_MEANINGS: Record<string, (threshold: string) => string> = {
  "cv>": (t) => `the repetitions vary by more than ${t} % (coefficient of variation): the mean is uncertain, run more repetitions`,
  "udp-loss>": (t) => `UDP lost more than ${t} % of the datagrams on average: the path drops at this rate`,
  retransmits: () => "TCP retransmitted segments (a few are normal at line rate; many mean loss on the path)",
  "above-nic-speed": () => "a repetition measured more than the slower NIC can carry: the measurement is suspect",
  "no-baseline": () => "no host-host result for the same node pair and test, so no ratio",
  [REPETITION_FLAGS.serverGone]: () => "the server agent left mid-repetition: the client's numbers alone",
  [REPETITION_FLAGS.cpuBound]: () => "an end's CPU was saturated: the number measures CPU, not the network",
  [CASE_FLAGS.baselineSuspect]: () => "host-host baseline slower than a pod path on the same pair: the baseline is not trustworthy",
  [CASE_FLAGS.toolsDisagree]: () =>
    "another tool measured the same path more than 5 % apart (crosscheck): at least one tool's figure is off; the agreement table says whose payload the NIC counters back",
  failed: () => "repetitions that failed (their reasons: --output json, or the HTML report)",
};

/** The word of a flag as the legend lists it: "cpu-bound (2/3)" → "cpu-bound", "cv>10%" → "cv>10%", "1 failed" → "failed". */
export function flagTerm(flag: string): string {
  return flag.replace(/ \(\d+\/\d+\)$/, "").replace(/^\d+ failed$/, "failed");
}

/** What `flag` means, or undefined for a flag this version does not know. */
export function flagMeaning(flag: string): string | undefined {
  const word = flagTerm(flag);
  const threshold = /^([a-z-]+>)([\d.]+)%$/.exec(word);
  if (threshold) return FLAG_MEANINGS[threshold[1]!]?.(threshold[2]!);
  return Object.hasOwn(FLAG_MEANINGS, word) ? FLAG_MEANINGS[word]!("") : undefined;
}

/** A legend entry: a term (a column, a cell word, a flag) and what it means. */
export interface LegendEntry {
  term: string;
  text: string;
}

/** Legend entries for the flags in `flags` (each word once, in order), unknown ones named as such. */
export function flagEntries(flags: readonly string[]): LegendEntry[] {
  const words = [...new Set(flags.map(flagTerm))];
  return words.map((w) => ({ term: w, text: flagMeaning(w) ?? "a flag this version of netmatrix has no explanation for" }));
}

/** Split `text` into lines of at most `width` characters at spaces (a longer word gets a line of its own). */
export function wrapWords(text: string, width: number): string[] {
  if (width <= 0) return [text];
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (!line) line = word;
    else if ([...line].length + 1 + [...word].length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  lines.push(line);
  return lines;
}

/**
 * The legend as text lines: a "legend:" heading, then each term padded to the
 * longest and its text beside it, wrapped to `width` (no wrapping without one).
 */
export function legendLines(entries: readonly LegendEntry[], width?: number): string[] {
  if (!entries.length) return [];
  const pad = Math.min(22, Math.max(...entries.map((e) => [...e.term].length)));
  const out = ["legend:"];
  for (const e of entries) {
    const head = `  ${e.term.padEnd(pad)}  `;
    const indent = " ".repeat(2 + pad + 2);
    const first = [...head].length > 2 + pad + 2 ? `  ${e.term}` : undefined;
    const room = width === undefined ? 0 : Math.max(20, width - indent.length);
    const body = width === undefined ? [e.text] : wrapWords(e.text, room);
    if (first) out.push(first, ...body.map((l) => indent + l));
    else out.push(head + body[0], ...body.slice(1).map((l) => indent + l));
  }
  return out;
}

/** The legend as a Markdown list. */
export function legendMarkdown(entries: readonly LegendEntry[]): string[] {
  if (!entries.length) return [];
  const esc = (t: string): string => t.replace(/\|/g, "\\|");
  return ["**Legend**", "", ...entries.map((e) => `- **${esc(e.term)}**: ${esc(e.text)}`)];
}
