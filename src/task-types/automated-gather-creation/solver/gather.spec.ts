import { createGatherings } from './gather';
import { GatherContext } from './budget';
import { cohesion } from './model';
import type { GatherParticipant, GatherPayload, GatherResult } from '../gather.types';

// An independent haversine, so the checker does not trust the code under test.
function distanceKm(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const h =
    Math.sin(((b.lat - a.lat) * rad) / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(((b.lon - a.lon) * rad) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

const REASONS = new Set(['no_common_slot', 'too_far', 'group_too_small', 'time_limit']);

/** Every invariant of the contract; throws with a precise message on the first violation. */
function expectValid(payload: GatherPayload, result: GatherResult): void {
  const byId = new Map(payload.participants.map((p) => [p.id, p]));
  const { min, max } = payload.group_size;
  const D = payload.max_distance_km;
  const seen = new Set<string>();
  const fail = (msg: string): never => {
    throw new Error(`invariant violated: ${msg}`);
  };
  let assigned = 0;
  for (const [gi, g] of result.gatherings.entries()) {
    if (g.members.length < min || g.members.length > max) fail(`gathering ${gi} has ${g.members.length} members`);
    let radius = 0;
    for (const id of g.members) {
      const p = byId.get(id) ?? fail(`unknown member ${id}`);
      if (seen.has(id)) fail(`${id} appears twice`);
      seen.add(id);
      if (!p.availability.includes(g.slot)) fail(`${id} is not available in ${g.slot}`);
      const d = distanceKm(g.center, p.location);
      if (D !== undefined && d > D) fail(`${id} is ${d} km from the centre of gathering ${gi} (limit ${D})`);
      radius = Math.max(radius, d);
    }
    if (Math.abs(radius - g.radius_km) > 1e-6) fail(`gathering ${gi} radius ${g.radius_km} but farthest member at ${radius}`);
    for (const interest of g.shared_interests) {
      const holders = g.members.filter((id) => byId.get(id)!.interests.includes(interest)).length;
      if (holders < 2) fail(`shared interest ${interest} held by ${holders}`);
    }
    if (!(g.score >= 0 && g.score <= 1)) fail(`score ${g.score}`);
    assigned += g.members.length;
  }
  for (const u of result.unassigned) {
    if (!byId.has(u.id)) fail(`unknown unassigned ${u.id}`);
    if (seen.has(u.id)) fail(`${u.id} appears twice`);
    if (!REASONS.has(u.reason)) fail(`reason ${u.reason}`);
    seen.add(u.id);
  }
  if (seen.size !== payload.participants.length) fail(`${payload.participants.length - seen.size} participants missing`);
  expect(result.stats).toMatchObject({
    participants: payload.participants.length,
    gatherings: result.gatherings.length,
    assigned,
  });
}

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A few towns of varying spread, skewed slot and interest popularity. */
function randomPayload(n: number, seed: number, min: number, max: number, maxKm?: number): GatherPayload {
  const rnd = mulberry32(seed);
  const towns = Array.from({ length: 1 + Math.ceil(n / 400) }, () => ({
    lat: -50 + 100 * rnd(),
    lon: -170 + 340 * rnd(),
    spread: 0.02 + 0.3 * rnd(),
  }));
  const pick = (prefix: string, size: number, count: number): string[] => {
    const out = new Set<string>();
    while (out.size < count) out.add(`${prefix}${Math.floor(rnd() ** 1.5 * size)}`);
    return [...out];
  };
  const participants: GatherParticipant[] = Array.from({ length: n }, (_, i) => {
    const t = towns[Math.floor(rnd() * towns.length)];
    return {
      id: `p${i}`,
      location: { lat: t.lat + (rnd() - 0.5) * t.spread, lon: t.lon + (rnd() - 0.5) * t.spread },
      availability: pick('slot-', 10, Math.floor(rnd() * 4)),
      interests: pick('i', 25, Math.floor(rnd() * 5)),
    };
  });
  return { participants, group_size: { min, max }, ...(maxKm === undefined ? {} : { max_distance_km: maxKm }) };
}

function quietCtx(): GatherContext & { calls: number; reports: number[] } {
  const ctx = {
    calls: 0,
    reports: [] as number[],
    softLimitHit: () => {
      ctx.calls++;
      return false;
    },
    progress: (pct: number) => {
      ctx.reports.push(pct);
    },
  };
  return ctx;
}

/** A context whose soft limit trips on call number `after + 1`. */
function limitedCtx(after: number): GatherContext {
  let calls = 0;
  return { softLimitHit: () => ++calls > after, progress: () => undefined };
}

const person = (id: string, lat: number, lon: number, availability: string[], interests: string[] = []): GatherParticipant => ({
  id,
  location: { lat, lon },
  availability,
  interests,
});

describe('createGatherings', () => {
  it('solves a small hand-made case exactly', () => {
    const payload: GatherPayload = {
      participants: [
        person('a1', 52.37, 4.89, ['sat-18'], ['chess', 'hiking']),
        person('a2', 52.372, 4.892, ['sat-18', 'sun-11'], ['chess']),
        person('a3', 52.368, 4.885, ['sat-18'], ['chess', 'go']),
        person('a4', 52.371, 4.895, ['sat-18'], ['hiking', 'chess']),
        person('u1', 52.09, 5.12, ['sun-11', 'sat-18'], ['go']),
        person('u2', 52.092, 5.118, ['sun-11'], ['go']),
        person('u3', 52.088, 5.121, ['sun-11'], ['go', 'chess']),
        person('r1', 51.92, 4.48, ['sat-18'], ['chess']), // Rotterdam: the slot exists, but nobody near
        person('x1', 52.37, 4.89, ['mon-09'], ['chess']), // nobody else ever free then
        person('e1', 52.37, 4.89, [], ['chess']), // no availability at all
        person('d1', 52.08, 4.3, ['fri-20']), // two people share fri-20, fewer than min
        person('d2', 52.08, 4.3, ['fri-20']),
      ],
      group_size: { min: 3, max: 4 },
      max_distance_km: 5,
    };
    const result = createGatherings(payload, quietCtx());
    expectValid(payload, result);
    expect(result.partial).toBe(false);
    expect(result.gatherings.map((g) => ({ members: g.members, slot: g.slot, shared: g.shared_interests }))).toEqual([
      { members: ['a1', 'a2', 'a3', 'a4'], slot: 'sat-18', shared: ['chess', 'hiking'] },
      { members: ['u1', 'u2', 'u3'], slot: 'sun-11', shared: ['go'] },
    ]);
    expect(result.unassigned).toEqual([
      { id: 'r1', reason: 'too_far' },
      { id: 'x1', reason: 'no_common_slot' },
      { id: 'e1', reason: 'no_common_slot' },
      { id: 'd1', reason: 'group_too_small' },
      { id: 'd2', reason: 'group_too_small' },
    ]);
    expect(result.stats).toMatchObject({ participants: 12, gatherings: 2, assigned: 7 });
    for (const g of result.gatherings) {
      expect(g.radius_km).toBeLessThan(1);
      expect(g.score).toBeGreaterThan(0.5);
    }
  });

  it('puts people with no common slot in unassigned', () => {
    const payload: GatherPayload = {
      participants: Array.from({ length: 6 }, (_, i) => person(`p${i}`, 10, 10 + i * 0.001, [`only-${i}`])),
      group_size: { min: 2, max: 3 },
    };
    const result = createGatherings(payload, quietCtx());
    expectValid(payload, result);
    expect(result.gatherings).toEqual([]);
    expect(result.unassigned.every((u) => u.reason === 'no_common_slot')).toBe(true);
    expect(result.unassigned).toHaveLength(6);
  });

  it('handles a single participant and min larger than the input', () => {
    const one: GatherPayload = { participants: [person('solo', 0, 0, ['s'])], group_size: { min: 2, max: 2 } };
    expect(createGatherings(one, quietCtx())).toMatchObject({ gatherings: [], unassigned: [{ id: 'solo' }], partial: false });
    const few = randomPayload(20, 3, 50, 60);
    const result = createGatherings(few, quietCtx());
    expectValid(few, result);
    expect(result.gatherings).toEqual([]);
  });

  it('joins everyone without a distance limit when slots allow', () => {
    // Same slot for all, scattered over the globe: only group sizes constrain the answer.
    const rnd = mulberry32(11);
    const payload: GatherPayload = {
      participants: Array.from({ length: 103 }, (_, i) => person(`p${i}`, -60 + 120 * rnd(), -180 + 360 * rnd(), ['s'])),
      group_size: { min: 4, max: 6 },
    };
    const result = createGatherings(payload, quietCtx());
    expectValid(payload, result);
    expect(result.stats.assigned).toBe(103);
  });

  it('splits a crowd at one address into full-size groups', () => {
    const payload: GatherPayload = {
      participants: Array.from({ length: 1000 }, (_, i) => person(`p${i}`, 48.8566, 2.3522, ['sat'], ['x'])),
      group_size: { min: 4, max: 8 },
      max_distance_km: 0.5,
    };
    const result = createGatherings(payload, quietCtx());
    expectValid(payload, result);
    expect(result.stats.assigned).toBe(1000);
    expect(result.gatherings.every((g) => g.radius_km === 0 || g.radius_km < 1e-6)).toBe(true);
  });

  describe.each([
    [60, 2, 2, undefined],
    [60, 3, 5, 20],
    [400, 3, 6, undefined],
    [400, 4, 8, 10],
    [2500, 4, 8, 5],
    [2500, 5, 12, undefined],
    [2500, 2, 40, 25],
  ])('random input n=%i, size %i..%i, max_distance_km=%s', (n, min, max, km) => {
    const payload = randomPayload(n, 1000 + n + min, min, max, km);
    const first = createGatherings(payload, quietCtx());

    it('satisfies every invariant', () => {
      expectValid(payload, first);
      expect(first.partial).toBe(false);
      expect(first.unassigned.some((u) => u.reason === 'time_limit')).toBe(false);
    });

    it('assigns most of those who have a shared slot', () => {
      const placeable = n - first.unassigned.filter((u) => u.reason === 'no_common_slot' || u.reason === 'too_far').length;
      expect(first.stats.assigned).toBeGreaterThanOrEqual(Math.floor(0.85 * placeable) - max);
    });

    it('is deterministic', () => {
      expect(createGatherings(payload, quietCtx())).toEqual(first);
    });
  });

  describe('soft time limit', () => {
    const payload = randomPayload(3000, 77, 4, 8, 8);
    const full = quietCtx();
    const complete = createGatherings(payload, full);

    it('checks the limit regularly but not constantly', () => {
      expect(full.calls).toBeGreaterThan(10);
      expect(full.calls).toBeLessThan(complete.stats.iterations / 100);
    });

    it.each([0, 0.05, 0.25, 0.5, 0.75, 0.999])('returns a valid partial result when the limit trips at %p of the run', (fraction) => {
      const after = Math.floor(fraction * full.calls);
      const result = createGatherings(payload, limitedCtx(after));
      expectValid(payload, result);
      expect(result.partial).toBe(true);
      expect(result.stats.iterations).toBeLessThanOrEqual(complete.stats.iterations);
      const reasons = new Set(result.unassigned.map((u) => u.reason));
      expect(reasons.has('too_far')).toBe(false); // only proven on complete runs
      if (fraction === 0) {
        expect(result.gatherings).toEqual([]);
        expect(reasons.has('time_limit')).toBe(true);
      }
    });

    it('places no fewer people the later it stops', () => {
      const assigned = [0.1, 0.3, 0.6, 0.9].map((f) => createGatherings(payload, limitedCtx(Math.floor(f * full.calls))).stats.assigned);
      assigned.push(complete.stats.assigned);
      expect([...assigned].sort((a, b) => a - b)).toEqual(assigned);
      expect(assigned[0]).toBeLessThan(complete.stats.assigned);
    });
  });

  describe('progress', () => {
    it('is monotonic within 0..100, ends at 100 and is not chatty', () => {
      const ctx = quietCtx();
      createGatherings(randomPayload(3000, 5, 3, 7, 15), ctx);
      expect(ctx.reports.length).toBeGreaterThan(10);
      expect(ctx.reports.length).toBeLessThanOrEqual(101);
      expect(ctx.reports[0]).toBeGreaterThanOrEqual(0);
      expect(ctx.reports[ctx.reports.length - 1]).toBe(100);
      for (let i = 1; i < ctx.reports.length; i++) expect(ctx.reports[i]).toBeGreaterThan(ctx.reports[i - 1]);
    });

    it('still ends at 100 when the soft limit stops the run', () => {
      const reports: number[] = [];
      let calls = 0;
      createGatherings(randomPayload(500, 6, 3, 7), { softLimitHit: () => ++calls > 3, progress: (p) => reports.push(p) });
      expect(reports[reports.length - 1]).toBe(100);
      expect([...reports].sort((a, b) => a - b)).toEqual(reports);
    });
  });

  describe('quality', () => {
    it('prefers grouping people who share interests when distances are equal', () => {
      // Two interest camps interleaved at one spot: cohesion is the only thing that separates them.
      const participants = Array.from({ length: 16 }, (_, i) =>
        person(`p${i}`, 40.7128, -74.006, ['sat'], i % 2 === 0 ? ['chess', 'go'] : ['surf', 'climbing']),
      );
      const payload: GatherPayload = { participants, group_size: { min: 4, max: 4 }, max_distance_km: 1 };
      const result = createGatherings(payload, quietCtx());
      expectValid(payload, result);
      expect(result.stats.assigned).toBe(16);
      for (const g of result.gatherings) {
        const parity = new Set(g.members.map((id) => Number(id.slice(1)) % 2));
        expect(parity.size).toBe(1);
        expect(g.score).toBe(1);
      }
    });

    it('keeps separate towns apart when no distance limit is given', () => {
      const towns = [
        { lat: 52.37, lon: 4.89 },
        { lat: 40.42, lon: -3.7 },
        { lat: 35.68, lon: 139.69 },
      ];
      const participants = Array.from({ length: 60 }, (_, i) => {
        const t = towns[i % 3];
        return person(`p${i}`, t.lat + (i % 7) * 0.001, t.lon + (i % 5) * 0.001, ['sat']);
      });
      const payload: GatherPayload = { participants, group_size: { min: 4, max: 6 } };
      const result = createGatherings(payload, quietCtx());
      expectValid(payload, result);
      expect(result.stats.assigned).toBe(60);
      expect(Math.max(...result.gatherings.map((g) => g.radius_km))).toBeLessThan(5);
    });
  });

  describe('cohesion', () => {
    it('is the group size when all interests agree and 0 when none are shared', () => {
      // Three members, each with the same two interests: 3 pairs x 2 shared, 6 interests in all.
      expect(cohesion(6, 6, 3)).toBeCloseTo(3);
      expect(cohesion(0, 6, 3)).toBe(0);
      expect(cohesion(0, 0, 3)).toBe(0);
      expect(cohesion(0, 2, 1)).toBe(0);
    });
  });
});
