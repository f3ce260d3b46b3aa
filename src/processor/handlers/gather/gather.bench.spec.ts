/**
 * Timing run, in two flavours:
 *   node -r @swc-node/register src/processor/handlers/gather/gather.bench.spec.ts [sizes...]
 *     plain Node, as in the worker's child process: these are the representative figures;
 *   GATHER_BENCH=1 npx jest --selectProjects unit --testPathPatterns gather.bench
 *     under Jest, whose vm sandbox makes this code ~3x slower; skipped without GATHER_BENCH so the
 *     unit suite stays fast.
 * Prints one line per case with wall time, placement and mean score.
 */
import { createGatherings } from './gather';
import type { GatherParticipant, GatherPayload } from './gather.types';

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cities of up to ~40 km across, 14 slots (1-4 each), 30 interests (0-5 each), skewed popularity. */
function cityPayload(n: number, maxKm: number | undefined): GatherPayload {
  const rnd = mulberry32(42);
  const cities = Array.from({ length: Math.max(3, Math.round(n / 2000)) }, () => ({
    lat: -60 + 120 * rnd(),
    lon: -180 + 360 * rnd(),
    spread: 0.05 + 0.3 * rnd(),
  }));
  const pick = (prefix: string, size: number, count: number): string[] => {
    const out = new Set<string>();
    while (out.size < count) out.add(`${prefix}${Math.floor(rnd() ** 1.5 * size)}`);
    return [...out];
  };
  const participants: GatherParticipant[] = Array.from({ length: n }, (_, i) => {
    const c = cities[Math.floor(rnd() * cities.length)];
    return {
      id: `u${i}`,
      location: { lat: c.lat + (rnd() - 0.5) * c.spread, lon: c.lon + (rnd() - 0.5) * c.spread },
      availability: pick('slot-', 14, 1 + Math.floor(rnd() * 4)),
      interests: pick('i', 30, Math.floor(rnd() * 6)),
    };
  });
  return { participants, group_size: { min: 4, max: 8 }, ...(maxKm === undefined ? {} : { max_distance_km: maxKm }) };
}

const CASES: Array<[number, number | undefined, number]> = [
  [1_000, 10, 1_000],
  [1_000, undefined, 1_000],
  [10_000, 5, 10_000],
  [10_000, undefined, 10_000],
  [100_000, 5, 120_000],
  [100_000, undefined, 120_000],
];

function measure(n: number, km: number | undefined): { ms: number; line: string; partial: boolean } {
  const payload = cityPayload(n, km);
  const started = performance.now();
  const result = createGatherings(payload, { softLimitHit: () => false, progress: () => undefined });
  const ms = performance.now() - started;
  const meanScore = result.gatherings.reduce((s, g) => s + g.score, 0) / Math.max(1, result.gatherings.length);
  const line =
    `gather bench n=${n} km=${km ?? '-'}: ${ms.toFixed(0)} ms, ${result.stats.gatherings} gatherings, ` +
    `${result.stats.assigned}/${n} placed, mean score ${meanScore.toFixed(3)}\n`;
  return { ms, line, partial: result.partial };
}

if (typeof describe === 'function') {
  (process.env.GATHER_BENCH ? describe : describe.skip)('createGatherings timing', () => {
    jest.setTimeout(600_000);
    // Ceilings are loose: they catch an accidental O(n^2), not a few percent.
    it.each(CASES)('n=%i max_distance_km=%s', (n, km, ceilingMs) => {
      const { ms, line, partial } = measure(n, km);
      process.stdout.write(line);
      expect(partial).toBe(false);
      expect(ms).toBeLessThan(ceilingMs);
    });
  });
} else {
  const sizes = process.argv.slice(2).map(Number);
  for (const [n, km] of CASES) if (sizes.length === 0 || sizes.includes(n)) process.stdout.write(measure(n, km).line);
}
