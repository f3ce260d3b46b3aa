/**
 * Realistic payloads for `automated_gather_creation`: people clustered in cities of up to ~40 km
 * across, 14 weekly slots (1-4 each) and 30 interests (0-5 each), both with skewed popularity.
 * Deterministic (seeded), so every run sends the same data: the generator of the former
 * gather.bench.spec.ts timing run, so its figures compare with earlier ones.
 */
export interface GatherParticipant {
  id: string;
  location: { lat: number; lon: number };
  availability: string[];
  interests: string[];
}

export interface GatherPayload {
  participants: GatherParticipant[];
  group_size: { min: number; max: number };
  max_distance_km?: number;
}

export function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function cityPayload(n: number, maxKm: number | undefined, seed = 42): GatherPayload {
  const rnd = mulberry32(seed);
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
