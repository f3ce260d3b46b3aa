import { readFileSync } from 'node:fs';
import { Proc } from './procs';
import { TICKS_PER_SECOND, treeCpuMs } from './sysinfo';

/**
 * Where the CPU went during a run, per process (and its pool children), in ms per 1000 tasks.
 * On 2 cores, whatever the API, the worker parent, the children, Redis and the load generator
 * spend is shared: this shows which one bounds the throughput.
 */
export type CpuReport = Record<string, number>;

export function cpuMeter(procs: Proc[]): { stop(tasks: number, seconds: number): CpuReport } {
  const start = procs.map((p) => treeCpuMs(p.pid));
  const harness0 = process.cpuUsage();
  return {
    stop(tasks: number, seconds: number): CpuReport {
      const out: CpuReport = {};
      const per = 1000 / tasks;
      let sum = 0;
      procs.forEach((p, i) => {
        const now = treeCpuMs(p.pid);
        const self = now.self - start[i].self;
        const kids = now.children - start[i].children;
        out[p.name] = Math.round(self * per);
        sum += self + kids;
        if (kids > 0) out[`${p.name} children`] = Math.round(kids * per);
      });
      const h = process.cpuUsage(harness0);
      const harness = (h.user + h.system) / 1000;
      out['harness (load generator)'] = Math.round(harness * per);
      sum += harness;
      out['total, ms per 1000 tasks'] = Math.round(sum * per);
      // Cores busy on average: 2.0 means the machine was saturated.
      out['cores busy'] = Math.round((sum / 1000 / seconds) * 100) / 100;
      return out;
    },
  };
}

function machineBusyMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
    return busy * (1000 / TICKS_PER_SECOND);
  } catch {
    return NaN;
  }
}

/**
 * CPU the machine spent outside this benchmark's processes (all of which descend from the
 * harness, so their time, reaped or not, is in the harness's tree): other users' work, and kernel
 * time not charged to a process. On a shared 2-core machine this says how much to trust a phase.
 */
export function foreignCpuMeter(): { stop(): { cores: number; seconds: number } } {
  const t0 = performance.now();
  const m0 = machineBusyMs();
  const own0 = treeCpuMs(process.pid);
  return {
    stop() {
      const seconds = (performance.now() - t0) / 1000;
      const own1 = treeCpuMs(process.pid);
      const own = own1.self + own1.children - (own0.self + own0.children);
      const foreign = machineBusyMs() - m0 - own;
      return { cores: Math.round((Math.max(0, foreign) / 1000 / seconds) * 100) / 100, seconds: Math.round(seconds) };
    },
  };
}

/**
 * Waits (at most `maxMs`) until the machine has been quiet for a 2 s window: less than
 * `threshold` cores busy outside this benchmark. Returns how long it waited and the last load.
 */
export async function waitQuiet(maxMs: number, threshold = 0.25): Promise<{ waitedMs: number; cores: number }> {
  const t0 = performance.now();
  for (;;) {
    const m = foreignCpuMeter();
    await new Promise((r) => setTimeout(r, 2000));
    const { cores } = m.stop();
    const waitedMs = performance.now() - t0;
    if (cores < threshold || waitedMs >= maxMs) return { waitedMs, cores };
  }
}
