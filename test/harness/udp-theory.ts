/**
 * Theoretical UDP goodput over Ethernet: each datagram's payload rides in a
 * frame with UDP (8), IPv4 (20) and Ethernet (14) headers — the bytes tbf
 * counts (no preamble, FCS or inter-frame gap on a veth).
 */
export const UDP_WIRE_OVERHEAD_BYTES = 8 + 20 + 14;

/** Payload bits/s a link of `rateBps` carries in datagrams of `datagramBytes`. */
export function udpGoodputBps(rateBps: number, datagramBytes: number): number {
  return (rateBps * datagramBytes) / (datagramBytes + UDP_WIRE_OVERHEAD_BYTES);
}

/** The tool's own datagram length from a report's measurement: bytes received over datagrams received; undefined without the figures. */
export function datagramBytesOf(m: { bytesReceived?: number; packets?: number; lostPackets?: number } | null | undefined): number | undefined {
  if (!m || m.bytesReceived === undefined || m.packets === undefined) return undefined;
  const received = m.packets - (m.lostPackets ?? 0);
  return received > 0 ? Math.round(m.bytesReceived / received) : undefined;
}
