/**
 * Address families of an agent's registered addresses: which address a
 * client targets for a case over IPv4 or IPv6. An agent registers its primary
 * (IPv4 where it has one) first, then its others; IPv6 link-local (fe80::/10)
 * addresses are never a target (they need a zone). Pure.
 */
import { isIP } from "node:net";
import type { FamilyName } from "./model.js";

/** Whether `address` is IPv6 link-local (fe80::/10), which needs an interface zone to reach. */
export function isLinkLocal6(address: string): boolean {
  return isIP(address) === 6 && /^fe[89ab][0-9a-f]:/i.test(address);
}

/** The family of `address`, or undefined when it is no IP address (or an IPv6 link-local one). */
export function addressFamily(address: string): FamilyName | undefined {
  const v = isIP(address);
  if (v === 4) return "ipv4";
  if (v === 6 && !isLinkLocal6(address) && !/^::ffff:/i.test(address)) return "ipv6";
  return undefined;
}

/** Whether `address` is a targetable address of `family` (not link-local, not IPv4-mapped). */
export function isAddressOf(address: string, family: FamilyName): boolean {
  return addressFamily(address) === family;
}

/**
 * The address of `family` a client targets: for IPv4 the primary
 * (`addresses[0]`, as before families); for IPv6 the first IPv6 address that
 * is not link-local, loopback only when the primary is loopback too.
 * Undefined when there is none.
 */
export function familyAddress(addresses: readonly string[], family: FamilyName): string | undefined {
  if (family === "ipv4") return addresses[0] || undefined;
  const loopback = addresses[0] === "127.0.0.1" || addresses[0] === "::1";
  return addresses.find((a) => addressFamily(a) === "ipv6" && (a !== "::1" || loopback));
}
