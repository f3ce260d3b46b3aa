import { KdTree } from './kd-tree';

function points(n: number, seed: number, clustered: boolean): { X: Float64Array; Y: Float64Array; Z: Float64Array } {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const X = new Float64Array(n), Y = new Float64Array(n), Z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    // Clustered data has many exact duplicates, the case that breaks naive partitioning.
    const v = clustered ? Math.floor(rnd() * 5) / 5 : rnd();
    X[i] = v;
    Y[i] = clustered ? Math.floor(rnd() * 3) / 3 : rnd();
    Z[i] = rnd() < 0.5 && clustered ? 0 : rnd();
  }
  return { X, Y, Z };
}

function bruteNearest(P: { X: Float64Array; Y: Float64Array; Z: Float64Array }, alive: Set<number>, q: number[], k: number, max2: number): number[] {
  return [...alive]
    .map((id) => ({ id, d2: (P.X[id] - q[0]) ** 2 + (P.Y[id] - q[1]) ** 2 + (P.Z[id] - q[2]) ** 2 }))
    .filter((e) => e.d2 <= max2)
    .sort((a, b) => a.d2 - b.d2)
    .slice(0, k)
    .map((e) => e.d2);
}

describe('KdTree', () => {
  it.each([false, true])('matches brute force through removals (clustered=%p)', (clustered) => {
    const P = points(700, clustered ? 3 : 4, clustered);
    const ids = Array.from({ length: 700 }, (_, i) => i).filter((i) => i % 7 !== 3);
    const tree = new KdTree(ids, P.X, P.Y, P.Z);
    const alive = new Set(ids);
    expect(tree.size).toBe(ids.length);
    for (let round = 0; round < 40; round++) {
      const q = [((round * 37) % 100) / 100, ((round * 53) % 100) / 100, ((round * 71) % 100) / 100];
      for (const [k, max2] of [[1, Infinity], [9, Infinity], [30, 0.05], [500, 0.2]] as const) {
        const got = tree.nearest(q[0], q[1], q[2], k, max2);
        expect(got.d2).toEqual(bruteNearest(P, alive, q, k, max2));
        expect(got.ids.every((id) => alive.has(id))).toBe(true);
      }
      let within = 0;
      tree.forEachWithin(q[0], q[1], q[2], 0.1, () => void within++);
      expect(within).toBe(bruteNearest(P, alive, q, Infinity, 0.1).length);
      for (const id of [...alive].slice(0, 15)) {
        expect(tree.remove(id)).toBe(true);
        alive.delete(id);
        expect(tree.has(id)).toBe(false);
      }
      expect(tree.aliveCount()).toBe(alive.size);
    }
  });

  it('honours the accept filter and rejects unknown or removed ids', () => {
    const P = points(50, 9, false);
    const tree = new KdTree([...Array(50).keys()], P.X, P.Y, P.Z);
    const even = tree.nearest(0.5, 0.5, 0.5, 10, Infinity, (id) => id % 2 === 0);
    expect(even.ids).toHaveLength(10);
    expect(even.ids.every((id) => id % 2 === 0)).toBe(true);
    expect(tree.remove(999)).toBe(false);
    expect(tree.remove(4)).toBe(true);
    expect(tree.remove(4)).toBe(false);
    expect(new KdTree([], P.X, P.Y, P.Z).nearest(0, 0, 0, 3, Infinity).ids).toEqual([]);
  });

  it('stops visiting when asked to', () => {
    const P = points(200, 5, false);
    const tree = new KdTree([...Array(200).keys()], P.X, P.Y, P.Z);
    let visits = 0;
    tree.forEachWithin(0.5, 0.5, 0.5, Infinity, () => ++visits < 5);
    expect(visits).toBe(5);
  });

  it('keeps searches fast in a crowd of identical points', () => {
    const n = 50_000;
    const zeros = new Float64Array(n);
    const tree = new KdTree([...Array(n).keys()], zeros, zeros, zeros);
    const started = Date.now();
    for (let i = 0; i < 2000; i++) {
      const got = tree.nearest(0, 0, 0, 8, Infinity);
      for (const id of got.ids) tree.remove(id);
    }
    expect(tree.aliveCount()).toBe(n - 16_000);
    // A linear scan per query would take several seconds here.
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
