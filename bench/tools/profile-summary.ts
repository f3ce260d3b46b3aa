/**
 * Summarises V8 CPU profiles written by `npm run bench -- --profile` (node --cpu-prof):
 *   node --require @swc-node/register bench/tools/profile-summary.ts <file.cpuprofile> [top=25] [--grep=regex]
 * Prints time by package or Sluice file, then the top functions by self and by inclusive time
 * (each function counted once per sampled stack, so recursion is not double counted).
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function where(url: string): string {
  if (!url) return '(native/vm)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  const dist = /\/(?:dist|\.dist\/\d+)\/(.*)$/.exec(url);
  if (dist) return `sluice:${dist[1]}`;
  if (url.startsWith('node:')) return 'node-core';
  return url.replace(/^file:\/\//, '');
}

export function summarizeProfile(path: string, top = 25, grep?: RegExp): string {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode): string => {
    const f = n.callFrame;
    const file = f.url ? f.url.replace(/^.*\/(node_modules\/|dist\/|\.dist\/\d+\/)/, '$1') : '';
    return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
  };
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const byWhere = new Map<string, number>();
  let total = 0;
  let idle = 0;
  prof.samples.forEach((id, i) => {
    const dt = (prof.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const leaf = byId.get(id);
    if (!leaf) return;
    const name = leaf.callFrame.functionName;
    if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
      if (name === '(idle)') idle += dt;
      self.set(name, (self.get(name) ?? 0) + dt);
      byWhere.set(name, (byWhere.get(name) ?? 0) + dt);
      return;
    }
    self.set(key(leaf), (self.get(key(leaf)) ?? 0) + dt);
    byWhere.set(where(leaf.callFrame.url), (byWhere.get(where(leaf.callFrame.url)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (n.callFrame.functionName === '(root)') break;
      const k = key(n);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + dt);
    }
  });
  const busy = total - idle;
  const pct = (ms: number): string => `${((ms / busy) * 100).toFixed(1)}%`;
  const list = (m: Map<string, number>, n: number): string[] =>
    [...m.entries()]
      .filter(([k]) => k !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${v.toFixed(0).padStart(7)} ms ${pct(v).padStart(6)}  ${k}`);
  if (grep) {
    const hits = new Map([...incl.entries()].filter(([k]) => grep.test(k)));
    return [`${path}: ${(busy / 1000).toFixed(1)} s busy; inclusive time of functions matching ${grep}:`, ...list(hits, top)].join('\n');
  }
  return [
    `${path}: ${(total / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (percentages of busy time)`,
    'by package / file (self time):',
    ...list(byWhere, 20),
    `top ${top} functions by self time:`,
    ...list(self, top),
    `top ${top} functions by inclusive time:`,
    ...list(incl, top),
  ].join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const grepArg = args.find((a) => a.startsWith('--grep='));
  const [file, n] = args.filter((a) => !a.startsWith('--grep='));
  if (!file) {
    process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${summarizeProfile(file, Number(n) || 25, grepArg ? new RegExp(grepArg.slice('--grep='.length)) : undefined)}\n`);
}
