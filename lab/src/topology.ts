/**
 * The lab's cluster topology: an underlay switch (a Linux bridge `br0` in its
 * own namespace), N node namespaces each with an `eth0` on it (optionally
 * shaped by tbf like a 1 or 10 Gbit NIC), a pod bridge `cni0` and pod
 * namespaces per node, an optional external host on the underlay, and a
 * control link from every node to the root namespace, where a coordinator
 * listens — so control traffic never shares the measured path.
 *
 * Three CNI modes stand in for the networks field report 004 compares (physical,
 * flannel host-gw, flannel vxlan, Calico, L2): see {@link CNI_DESCRIPTIONS}.
 *
 * - `planTopology(opts)` is pure: names and addresses (topology-plan.ts);
 * - `buildLab(topo)` creates it, tearing down what it made on failure;
 * - `teardownLab(prefix)` removes every namespace and root link of a prefix;
 * - `labObjects(prefix)` lists what exists now (status, half-built labs)
 *   (all three in topology-build.ts; data paths per mode in topology-cni.ts).
 */
export * from "./topology-plan.js";
export { buildLab, teardownLab, labObjects, type LabObjects } from "./topology-build.js";
