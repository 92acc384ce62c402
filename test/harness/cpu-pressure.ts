/**
 * How busy the machine was while a test measured, from the kernel's CPU
 * pressure stall information (/proc/pressure/cpu, "some"): the share of the
 * wall time in which at least one runnable task waited for a CPU. A rate
 * that depends on the machine keeping a queue full (a 1 Gbit `tbf` shaper
 * drained by softirqs, an iperf3 sender refilling it) cannot be held to its
 * theory while other work holds the CPUs; a test measures the pressure over
 * the same window as its traffic and asserts the theory only when the
 * machine had CPU to spare, skipping (saying why) otherwise — never the
 * other way round: a rate above what a shaper allows fails however busy the
 * machine.
 */
import { readFileSync } from "node:fs";

/**
 * Pressure above which a shaped rate that missed its theory is put down to
 * the machine: on this project's 2-core machine a test's own shaped iperf3
 * flows (and a lab run's agents) with nothing else running stalled 7–17 %
 * of the time; with two busy loops beside them, 72–95 %.
 */
export const BUSY_PRESSURE = 0.4;

/** The "some" stall total, µs since boot; undefined without PSI (kernel without CONFIG_PSI, or psi=0). */
function someTotalUs(): number | undefined {
  try {
    const line = readFileSync("/proc/pressure/cpu", "utf8")
      .split("\n")
      .find((l) => l.startsWith("some "));
    const m = line?.match(/\btotal=(\d+)\b/);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** A window over which CPU pressure is measured. */
export interface PressureWindow {
  /** Share of the window's wall time in which some task waited for a CPU (0..1); undefined without PSI. */
  stop(): number | undefined;
}

/** Start measuring CPU pressure now. */
export function measurePressure(): PressureWindow {
  const t0 = process.hrtime.bigint();
  const s0 = someTotalUs();
  return {
    stop() {
      const s1 = someTotalUs();
      const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
      if (s0 === undefined || s1 === undefined || wallUs <= 0) return undefined;
      return Math.min(1, Math.max(0, (s1 - s0) / wallUs));
    },
  };
}

/** "37 %" or "unknown (no /proc/pressure/cpu)". */
export function formatPressure(p: number | undefined): string {
  return p === undefined ? "unknown (no /proc/pressure/cpu)" : `${(p * 100).toFixed(0)} %`;
}

/**
 * Why a shaped rate that missed its theory by more than the tolerance cannot
 * be held to it — the machine was busy during the measurement — or
 * undefined when it should have met it (idle enough, or pressure unknown):
 * then the test fails.
 */
export function busyReason(pressure: number | undefined, what: string): string | undefined {
  if (pressure === undefined || pressure < BUSY_PRESSURE) return undefined;
  return `${what}: the machine was busy (CPU pressure ${formatPressure(pressure)}: some task waited for a CPU that share of the time, above ${formatPressure(BUSY_PRESSURE)}), so the shaper's queue could not be kept full; the rate's theory is not testable now (its cap was checked)`;
}
