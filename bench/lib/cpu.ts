import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { AddressInfo, connect, createServer } from 'node:net';
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

/**
 * This VM's speed, now: it drifts by up to 2× over minutes (hypervisor neighbours, with no steal time
 * shown), and loopback socket round trips drift more than plain computation. Rows that set one
 * phase against another are only as good as the two phases' speeds are alike. `cpuMs`: a fixed
 * integer loop, best of three; `loopbackUs`: median round trip of 1-byte messages over loopback TCP.
 */
export async function speedProbe(): Promise<{ cpuMs: number; loopbackUs: number }> {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    let x = 0;
    for (let i = 0; i < 2e7; i++) x = (x + i * 7) % 1000003;
    best = Math.min(best, performance.now() - t0 + (x < 0 ? 1 : 0));
  }
  const server = createServer((sock) => sock.on('data', (d) => sock.write(d)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sock = connect((server.address() as AddressInfo).port, '127.0.0.1');
  sock.setNoDelay(true);
  await once(sock, 'connect');
  const rtts: number[] = [];
  for (let i = 0; i < 2000; i++) {
    const t0 = performance.now();
    sock.write('x');
    await once(sock, 'data');
    rtts.push(performance.now() - t0);
  }
  sock.destroy();
  server.close();
  rtts.sort((a, b) => a - b);
  return { cpuMs: Math.round(best * 10) / 10, loopbackUs: Math.round(rtts[rtts.length >> 1] * 1000) };
}
