/** Captured outputs (fixtures/, taken on a Debian 12 VM, kernel 6.18, in throwaway namespaces) for the parsers' tests. */
import { readFileSync } from "node:fs";

export const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
