/**
 * The pure rule builders of lab services: IPv4 rules as before families
 * (iptables, /32, addr:port), IPv6 the same rules for ip6tables (/128,
 * [addr]:port); the IPv6 ClusterIP range fd00:10:96::/112.
 */
import { describe, expect, test } from "vitest";
import { addRuleArgv, dnatRules, iptablesBin, labFamilies, masqueradeRules, type RuleFamily } from "./lab-services-rules.js";
import { freeClusterIp6, isLabClusterIp6, serviceRules, type ProxiedService } from "./lab-services.js";

const TAG = "nm-lab-svc:run-1:case-1";
const C = ["-m", "comment", "--comment", TAG];

/** An argv as one line of words, `C` (the tag's comment match) where "…" stands. */
const words = (line: string): string[] => line.split(" ").flatMap((w) => (w === "…" ? C : [w]));

describe("dnatRules / addRuleArgv", () => {
  const v4 = words("iptables -w -t nat -A PREROUTING -d 10.96.0.20/32 -p tcp -m tcp --dport 5201 … -j DNAT --to-destination 10.244.2.10:5201");
  test.each<[RuleFamily | undefined, string, string, string[]]>([
    [undefined, "10.96.0.20", "10.244.2.10", v4],
    ["ipv4", "10.96.0.20", "10.244.2.10", v4],
    [
      "ipv6",
      "fd00:10:96::14",
      "fd00:10:244:2::10",
      words("ip6tables -w -t nat -A PREROUTING -d fd00:10:96::14/128 -p tcp -m tcp --dport 5201 … -j DNAT --to-destination [fd00:10:244:2::10]:5201"),
    ],
  ])("%s: PREROUTING and OUTPUT, the argv", (family, dst, backend, argv) => {
    const rules = dnatRules(dst, backend, [{ service: 5201, backend: 5201 }], ["tcp"], TAG, family);
    expect(rules.map((r) => r.chain)).toEqual(["PREROUTING", "OUTPUT"]);
    expect(addRuleArgv(rules[0]!)).toEqual(argv);
    expect(addRuleArgv(rules[1]!)).toEqual(argv.map((w) => (w === "PREROUTING" ? "OUTPUT" : w)));
    // IPv4 rules carry no family marker: exactly what they were before families.
    expect("family" in rules[0]!).toBe(family === "ipv6");
  });
});

describe("masqueradeRules", () => {
  test.each<[RuleFamily, string, string]>([
    ["ipv4", "10.96.0.20", "iptables"],
    ["ipv6", "fd00:10:96::14", "ip6tables"],
  ])("%s: MASQUERADE out of cni0 by the original destination", (family, dst, bin) => {
    const [rule] = masqueradeRules(dst, [{ service: 5201, backend: 5201 }], ["udp"], TAG, "cni0", family);
    expect(addRuleArgv(rule!)).toEqual(words(`${bin} -w -t nat -A POSTROUTING -o cni0 -p udp -m conntrack --ctstate DNAT --ctorigdst ${dst} --ctorigdstport 5201 … -j MASQUERADE`));
  });
});

describe("serviceRules by family", () => {
  const v6: ProxiedService = {
    tag: TAG,
    family: "ipv6",
    clusterIP: "fd00:10:96::14",
    backend: "fd00:10:244:2::10",
    ports: [{ protocol: "tcp", port: 5201, nodePort: 30000, targetPort: 5201 }],
  };
  test("IPv6: every rule is ip6tables, NodePorts on the node's IPv6 address", () => {
    const rules = serviceRules(v6, "fd00:198:18::11", "masquerade");
    expect(rules.map((r) => r.family)).toEqual(rules.map(() => "ipv6"));
    expect(rules.map((r) => `${r.chain} ${r.args.slice(0, 2).join(" ")}`)).toEqual([
      "PREROUTING -d fd00:10:96::14/128",
      "OUTPUT -d fd00:10:96::14/128",
      "POSTROUTING -o cni0",
      "PREROUTING -d fd00:198:18::11/128",
      "OUTPUT -d fd00:198:18::11/128",
      "POSTROUTING -p tcp",
    ]);
  });
  test("IPv4 (no family): unchanged, no family markers", () => {
    const v4: ProxiedService = { ...v6, family: undefined, clusterIP: "10.96.0.20", backend: "10.244.2.10" };
    delete v4.family;
    const rules = serviceRules(v4, "198.18.0.11", "bridge-nf");
    expect(rules.every((r) => !("family" in r))).toBe(true);
    expect(rules.map((r) => r.args[1])).toEqual(["10.96.0.20/32", "10.96.0.20/32", "198.18.0.11/32", "198.18.0.11/32", "tcp"]);
  });
});

describe("IPv6 ClusterIPs and families", () => {
  test.each<[string, boolean]>([
    ["fd00:10:96::14", true],
    ["fd00:10:96::1", true],
    ["fd00:10:96::fffe", true],
    ["fd00:10:96::ffff", false],
    ["fd00:10:96::0", false],
    ["fd00:10:96::0014", false],
    ["fd00:10:97::14", false],
    ["10.96.0.20", false],
  ])("isLabClusterIp6(%s) = %s", (ip, ok) => expect(isLabClusterIp6(ip)).toBe(ok));

  test("freeClusterIp6 hands out ::14 upwards, skipping used ones", () => {
    expect(freeClusterIp6(new Set())).toBe("fd00:10:96::14");
    expect(freeClusterIp6(new Set(["fd00:10:96::14", "fd00:10:96::15"]))).toBe("fd00:10:96::16");
  });

  test("labFamilies / iptablesBin", () => {
    expect(labFamilies(false)).toEqual(["ipv4"]);
    expect(labFamilies(true)).toEqual(["ipv4", "ipv6"]);
    expect([iptablesBin(), iptablesBin("ipv4"), iptablesBin("ipv6")]).toEqual(["iptables", "iptables", "ip6tables"]);
  });
});
