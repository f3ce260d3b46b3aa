/**
 * `npm run fuzz`: the front door's fuzz properties (test/fuzz/front-door.properties.ts, the same
 * generators and checks as test/api/fuzz.e2e-spec.ts) over many more requests, against an API in
 * this process on a redis-server of its own, with a report: counts by status and by route, the
 * slowest requests, and every violation. Each kind of violation found is then shrunk by fast-check
 * to a minimal request, with the response and the log lines it caused.
 *
 *   npm run fuzz                          # 10,000 requests, seed 1
 *   npm run fuzz -- --runs=50000 --seed=7 --timeout-ms=5000 --out=fuzz-report.md
 *
 * Exit code 1 when any property was violated.
 */
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { FuzzStats, describeRequest, healthAfterwards, probe, renderReport, runFuzz, startFuzzTarget } from './front-door.properties';

function arg(name: string, fallback: string): string {
  const hit = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`));
  return hit ? hit.slice(name.length + 3) : fallback;
}

async function main(): Promise<number> {
  const runs = Number(arg('runs', '10000'));
  const seed = Number(arg('seed', '1'));
  const timeoutMs = Number(arg('timeout-ms', '5000'));
  const out = arg('out', '');
  const target = await startFuzzTarget();
  const say = (text: string) => target.logs.print(`${text}\n`);
  try {
    say(`fuzz: ${runs} requests, seed ${seed}, per-request timeout ${timeoutMs} ms, API on 127.0.0.1:${target.port}`);
    const started = Date.now();
    // Phase 1: every request, every violation recorded, none stops the run.
    const { stats } = await runFuzz(target, {
      seed,
      numRuns: runs,
      timeoutMs,
      failOn: () => false,
      onProgress: (n) => n % 1000 === 0 && say(`  ${n} requests, ${((Date.now() - started) / 1000).toFixed(1)} s`),
    });
    const seconds = (Date.now() - started) / 1000;
    const after = await healthAfterwards(target);

    // Phase 2: the violations of each status (one defect, usually), shrunk to a minimal request by
    // replaying the same seed.
    const minimal: string[] = [];
    for (const status of new Set(stats.violations.map((s) => s.status))) {
      const { details } = await runFuzz(target, { seed, numRuns: runs, timeoutMs, failOn: (_v, s) => s.status === status, stats: new FuzzStats() });
      if (!details.failed || !details.counterexample) continue;
      const [req] = details.counterexample;
      const from = target.logs.lines.length;
      const again = await probe(target, req, timeoutMs);
      const log = target.logs.lines.slice(from).filter((l) => l.trim() !== '');
      minimal.push(
        `### Answered ${status}: ${[...new Set(again.violations.map((v) => v.kind))].join(', ')}`,
        '',
        `- minimal request (after ${details.numShrinks} shrinks): \`${describeRequest(req)}\``,
        `- answer: ${again.status} in ${again.ms.toFixed(1)} ms${again.requestId ? `, request_id=${again.requestId}` : ''}`,
        `- ${(details.errorInstance as Error | null)?.message ?? ''}`.replace(/\n/g, ' / '),
        ...(log.length ? ['- log:', '', '```', ...log.slice(0, 20), '```'] : ['- log: nothing']),
        '',
      );
    }

    const header = [
      `# Front-door fuzz: ${stats.requests} requests, seed ${seed}, ${new Date().toISOString().slice(0, 10)}`,
      '',
      `${seconds.toFixed(1)} s (${(stats.requests / seconds).toFixed(0)} requests/s, mean ${(stats.totalMs / stats.requests).toFixed(2)} ms), per-request timeout ${timeoutMs} ms, fast-check ${fc.__version}, Node ${process.version}.`,
      `Afterwards: ${after.length === 0 ? '/health/ready 200, a valid POST 201 and its GET 200, every task\'s job data readable, no queue left paused, no prototype changed' : after.join('; ')}.`,
    ].join('\n');
    const report = `${renderReport(stats, header)}\n${minimal.length ? `\n## Minimal reproductions\n\n${minimal.join('\n')}` : ''}`;
    say(`\n${report}`);
    if (out) writeFileSync(out, `${report}\n`);
    return stats.violations.length === 0 && after.length === 0 ? 0 : 1;
  } finally {
    await target.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(2);
  },
);
