/**
 * Static 3-d tree over points on the unit sphere, with removal.
 *
 * Built once (O(n log n)); points are then removed as they get assigned. Every node keeps a count of
 * the points still present below it, so searches skip exhausted subtrees: without that, queries late
 * in a greedy sweep would crawl through regions that have already been emptied.
 */

const LEAF_SIZE = 8;

export interface Neighbours {
  /** Point ids, nearest first. */
  ids: number[];
  /** Squared chord distances, aligned with `ids`. */
  d2: number[];
}

export class KdTree {
  private readonly ids: Int32Array;
  private readonly removed: Uint8Array;
  private readonly position = new Map<number, number>();
  private readonly lo: Int32Array;
  private readonly hi: Int32Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly alive: Int32Array;
  /** minX, minY, minZ, maxX, maxY, maxZ per node. */
  private readonly box: Float64Array;
  private nodes = 0;

  // Query state kept on the instance so the recursive search needs no closures.
  private qx = 0;
  private qy = 0;
  private qz = 0;
  private qk = 0;
  private qMax = 0;
  private qAccept: ((id: number) => boolean) | undefined;
  private heapD: Float64Array = new Float64Array(16);
  private heapI: Int32Array = new Int32Array(16);
  private heapSize = 0;

  constructor(
    points: ArrayLike<number>,
    private readonly X: Float64Array,
    private readonly Y: Float64Array,
    private readonly Z: Float64Array,
  ) {
    const n = points.length;
    this.ids = Int32Array.from(points);
    this.removed = new Uint8Array(n);
    // Splits happen only above LEAF_SIZE, so every leaf but a lone root holds >= 4 points.
    const capacity = 2 * Math.max(1, Math.ceil(n / 4));
    this.lo = new Int32Array(capacity);
    this.hi = new Int32Array(capacity);
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    this.alive = new Int32Array(capacity);
    this.box = new Float64Array(capacity * 6);
    if (n > 0) this.build(0, n);
    for (let i = 0; i < n; i++) this.position.set(this.ids[i], i);
  }

  get size(): number {
    return this.ids.length;
  }

  aliveCount(): number {
    return this.nodes === 0 ? 0 : this.alive[0];
  }

  has(id: number): boolean {
    const p = this.position.get(id);
    return p !== undefined && this.removed[p] === 0;
  }

  /** Ids in tree order, which is spatially coherent: a cheap space-filling sweep. */
  order(): Int32Array {
    return this.ids.slice();
  }

  remove(id: number): boolean {
    const p = this.position.get(id);
    if (p === undefined || this.removed[p] === 1) return false;
    this.removed[p] = 1;
    let node = 0;
    for (;;) {
      this.alive[node]--;
      const l = this.left[node];
      if (l < 0) break;
      node = p < this.hi[l] ? l : this.right[node];
    }
    return true;
  }

  /**
   * Up to `k` present points within squared chord `maxD2` of (x, y, z), nearest first, restricted to
   * those `accept` admits. Equal distances resolve by tree order, so results are deterministic.
   */
  nearest(x: number, y: number, z: number, k: number, maxD2: number, accept?: (id: number) => boolean): Neighbours {
    const out: Neighbours = { ids: [], d2: [] };
    if (k <= 0 || this.aliveCount() === 0) return out;
    if (this.heapD.length < k) {
      this.heapD = new Float64Array(k);
      this.heapI = new Int32Array(k);
    }
    this.qx = x;
    this.qy = y;
    this.qz = z;
    this.qk = k;
    this.qMax = maxD2;
    this.qAccept = accept;
    this.heapSize = 0;
    this.search(0);
    this.qAccept = undefined;
    const m = this.heapSize;
    out.ids.length = m;
    out.d2.length = m;
    for (let i = m - 1; i >= 0; i--) {
      out.ids[i] = this.heapI[0];
      out.d2[i] = this.heapD[0];
      this.heapPop();
    }
    return out;
  }

  /** Visits present points within squared chord `maxD2`; stops when `visit` returns false. */
  forEachWithin(x: number, y: number, z: number, maxD2: number, visit: (id: number, d2: number) => boolean | void): void {
    if (this.aliveCount() === 0) return;
    const stack = [0];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (this.alive[node] === 0 || this.boxDistance2(node, x, y, z) > maxD2) continue;
      const l = this.left[node];
      if (l >= 0) {
        stack.push(this.right[node], l);
        continue;
      }
      for (let p = this.lo[node]; p < this.hi[node]; p++) {
        if (this.removed[p] === 1) continue;
        const id = this.ids[p];
        const dx = this.X[id] - x;
        const dy = this.Y[id] - y;
        const dz = this.Z[id] - z;
        const d2 = dx * dx + dy * dy + dz * dz;
        if (d2 <= maxD2 && visit(id, d2) === false) return;
      }
    }
  }

  private build(lo: number, hi: number): number {
    const node = this.nodes++;
    const { ids, X, Y, Z } = this;
    let x0 = Infinity, y0 = Infinity, z0 = Infinity, x1 = -Infinity, y1 = -Infinity, z1 = -Infinity;
    for (let i = lo; i < hi; i++) {
      const id = ids[i];
      const x = X[id], y = Y[id], z = Z[id];
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (z < z0) z0 = z;
      if (z > z1) z1 = z;
    }
    const b = node * 6;
    this.box[b] = x0;
    this.box[b + 1] = y0;
    this.box[b + 2] = z0;
    this.box[b + 3] = x1;
    this.box[b + 4] = y1;
    this.box[b + 5] = z1;
    this.lo[node] = lo;
    this.hi[node] = hi;
    this.alive[node] = hi - lo;
    const ex = x1 - x0, ey = y1 - y0, ez = z1 - z0;
    // Coincident points still get split (by position): one leaf holding a whole crowd at a single
    // address would turn every search there into a linear scan.
    if (hi - lo <= LEAF_SIZE) {
      this.left[node] = -1;
      this.right[node] = -1;
      return node;
    }
    const coord = ex >= ey && ex >= ez ? X : ey >= ez ? Y : Z;
    const mid = (lo + hi) >> 1;
    select(ids, lo, hi - 1, mid, coord);
    const l = this.build(lo, mid);
    const r = this.build(mid, hi);
    this.left[node] = l;
    this.right[node] = r;
    return node;
  }

  private boxDistance2(node: number, x: number, y: number, z: number): number {
    const b = node * 6;
    const box = this.box;
    const dx = x < box[b] ? box[b] - x : x > box[b + 3] ? x - box[b + 3] : 0;
    const dy = y < box[b + 1] ? box[b + 1] - y : y > box[b + 4] ? y - box[b + 4] : 0;
    const dz = z < box[b + 2] ? box[b + 2] - z : z > box[b + 5] ? z - box[b + 5] : 0;
    return dx * dx + dy * dy + dz * dz;
  }

  /**
   * Once k candidates are held, only strictly closer boxes can improve them; `<` rather than `<=`
   * matters when many points coincide and every box is at distance 0.
   */
  private worthVisiting(boxD2: number): boolean {
    return this.heapSize === this.qk ? boxD2 < this.heapD[0] : boxD2 <= this.qMax;
  }

  private search(node: number): void {
    if (this.alive[node] === 0) return;
    const l = this.left[node];
    if (l < 0) {
      const { ids, X, Y, Z, qx, qy, qz } = this;
      for (let p = this.lo[node]; p < this.hi[node]; p++) {
        if (this.removed[p] === 1) continue;
        const id = ids[p];
        const dx = X[id] - qx;
        const dy = Y[id] - qy;
        const dz = Z[id] - qz;
        const d2 = dx * dx + dy * dy + dz * dz;
        if (d2 > this.qMax) continue;
        const full = this.heapSize === this.qk;
        if (full && d2 >= this.heapD[0]) continue;
        if (this.qAccept !== undefined && !this.qAccept(id)) continue;
        if (full) this.heapPop();
        this.heapPush(d2, id);
      }
      return;
    }
    const r = this.right[node];
    const dl = this.boxDistance2(l, this.qx, this.qy, this.qz);
    const dr = this.boxDistance2(r, this.qx, this.qy, this.qz);
    if (dl <= dr) {
      if (this.worthVisiting(dl)) this.search(l);
      if (this.worthVisiting(dr)) this.search(r);
    } else {
      if (this.worthVisiting(dr)) this.search(r);
      if (this.worthVisiting(dl)) this.search(l);
    }
  }

  private heapPush(d: number, id: number): void {
    const D = this.heapD, I = this.heapI;
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (D[parent] >= d) break;
      D[i] = D[parent];
      I[i] = I[parent];
      i = parent;
    }
    D[i] = d;
    I[i] = id;
  }

  private heapPop(): void {
    const D = this.heapD, I = this.heapI;
    const n = --this.heapSize;
    if (n === 0) return;
    const d = D[n], id = I[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && D[c + 1] > D[c]) c++;
      if (D[c] <= d) break;
      D[i] = D[c];
      I[i] = I[c];
      i = c;
    }
    D[i] = d;
    I[i] = id;
  }
}

/**
 * Reorders ids[lo..hi] so that ids[k] holds the k-th smallest coordinate, with nothing larger before
 * it and nothing smaller after. Hoare partitioning copes with long runs of equal coordinates
 * (many participants at one address), where a Lomuto partition would go quadratic.
 */
function select(ids: Int32Array, lo: number, hi: number, k: number, coord: Float64Array): void {
  while (hi > lo) {
    const a = coord[ids[lo]], b = coord[ids[(lo + hi) >> 1]], c = coord[ids[hi]];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo, j = hi;
    while (i <= j) {
      while (coord[ids[i]] < pivot) i++;
      while (coord[ids[j]] > pivot) j--;
      if (i <= j) {
        const t = ids[i];
        ids[i] = ids[j];
        ids[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}
