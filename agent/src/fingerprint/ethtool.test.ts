import { describe, expect, test } from "vitest";
import { OFFLOADS, parseEthtoolDriver, parseEthtoolFeatures } from "./ethtool.js";
import { fixture } from "./fixture.js";

describe("parseEthtoolFeatures", () => {
  test.each([
    // file, GSO, GRO, TSO, rx checksum, tx checksum, VXLAN segmentation offload
    ["ethtool-k-veth.txt", true, false, true, true, true, true],
    ["ethtool-k-vxlan.txt", true, true, true, true, true, false],
    ["ethtool-k-virtio.txt", true, true, true, true, true, false],
    ["ethtool-k-lo.txt", true, true, true, true, true, false],
  ])("%s: gso %s, gro %s, tso %s, rx-csum %s, tx-csum %s, udp_tnl %s", (file, gso, gro, tso, rx, tx, tnl) => {
    const f = parseEthtoolFeatures(fixture(file));
    expect(Object.keys(f).sort()).toEqual([...OFFLOADS].sort());
    expect(f["generic-segmentation-offload"]).toBe(gso);
    expect(f["generic-receive-offload"]).toBe(gro);
    expect(f["tcp-segmentation-offload"]).toBe(tso);
    expect(f["rx-checksumming"]).toBe(rx);
    expect(f["tx-checksumming"]).toBe(tx);
    expect(f["tx-udp_tnl-segmentation"]).toBe(tnl);
  });

  test("'off [fixed]' and '[requested on]' read as off; unknown features and other text are ignored", () => {
    expect(parseEthtoolFeatures("Features for x:\nlarge-receive-offload: off [fixed]\nrx-gro-hw: off [requested on]\nhighdma: on\nnot a feature\n")).toEqual({
      "large-receive-offload": false,
      "rx-gro-hw": false,
    });
    expect(parseEthtoolFeatures("")).toEqual({});
  });
});

describe("parseEthtoolDriver", () => {
  test.each([
    ["ethtool-i-veth.txt", "veth"],
    ["ethtool-i-vxlan.txt", "vxlan"],
    ["ethtool-i-bridge.txt", "bridge"],
    ["ethtool-i-virtio.txt", "virtio_net"],
  ])("%s → %s", (file, driver) => expect(parseEthtoolDriver(fixture(file))).toBe(driver));

  test("no driver line → empty", () => expect(parseEthtoolDriver("Cannot get driver information: Operation not supported\n")).toBe(""));
});
