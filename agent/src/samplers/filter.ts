/**
 * Interface-name filters: include/exclude glob lists compiled once into one
 * function with per-name cached verdicts, so a tick runs no regex for names
 * it has seen before.
 */

/** Decides whether an interface name is sampled. */
export type NameFilter = (name: string) => boolean;

/** Interfaces left out when the caller gives no exclude list. */
export const DEFAULT_EXCLUDE: readonly string[] = ["lo"];

/** Most names remembered by a filter before it starts over (pods come and go, and so do their veths). */
const FILTER_CACHE_MAX = 4096;

/**
 * Compile include/exclude patterns once into a name filter. Each entry may be
 * a comma-separated list; `*` matches any run of characters, everything else
 * is literal. A name is sampled when it matches an include pattern (default:
 * all) and no exclude pattern (default: {@link DEFAULT_EXCLUDE}, i.e. `lo`).
 * Verdicts are cached per name, so steady-state ticks run no regex.
 */
export function compileNameFilter(include?: readonly string[], exclude?: readonly string[]): NameFilter {
  const inc = globsToRegExp(include ?? ["*"]);
  const exc = globsToRegExp(exclude ?? DEFAULT_EXCLUDE);
  const cache = new Map<string, boolean>();
  return (name) => {
    let v = cache.get(name);
    if (v === undefined) {
      v = inc !== undefined && inc.test(name) && (exc === undefined || !exc.test(name));
      if (cache.size >= FILTER_CACHE_MAX) cache.clear();
      cache.set(name, v);
    }
    return v;
  };
}

/** One anchored alternation for all patterns; undefined when there are none. */
function globsToRegExp(list: readonly string[]): RegExp | undefined {
  const parts = list
    .flatMap((entry) => entry.split(","))
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) =>
      p
        .split("*")
        .map((lit) => lit.replace(/[.+?^${}()|[\]\\/-]/g, "\\$&"))
        .join(".*"),
    );
  return parts.length === 0 ? undefined : new RegExp(`^(?:${parts.join("|")})$`);
}
