/**
 * The model of a gathering problem: participants as unit vectors (k-d trees keep every neighbour
 * search local), their interned slots and interests, the groups so far and the budget of work. The
 * phases (slot-preference, formation, improvement, result) read and change it through the helpers
 * here, which keep every group valid at every moment: sizes within bounds, every member available in
 * the slot and within the limit of the group's anchor.
 */
import type { GatherPayload, GatherUnassignedReason } from '../gather.types';
import { chordToKm, kmToChord, toUnitVector } from './geo.util';
import { Budget, GatherContext } from './budget';
import { KdTree } from './kd-tree';

/**
 * Members are kept this fraction inside max_distance_km so that independent haversine checks (other
 * earth radii, other float orderings) cannot find a member a hair outside the limit.
 */
export const DISTANCE_MARGIN = 1e-5;
export const EPS = 1e-9;
/** Nearby groups a participant considers joining or moving to. */
export const GROUP_CANDIDATES = 6;

/** Interest cohesion of a group times its size: 0 when nobody shares, k when all interests agree. */
export function cohesion(shared: number, interestTotal: number, size: number): number {
  return size >= 2 && interestTotal > 0 ? (2 * shared * size) / ((size - 1) * interestTotal) : 0;
}

export interface Group {
  id: number;
  slot: number;
  members: number[];
  /** Anchor: a unit vector every member is within the distance limit of. */
  x: number;
  y: number;
  z: number;
  /** How many members hold each interest. */
  counts: Map<number, number>;
  /** Sum over member pairs of the interests they have in common. */
  shared: number;
  /** Sum over members of their interest counts. */
  interestTotal: number;
}

export class GatherModel {
  readonly n: number;
  readonly min: number;
  readonly max: number;
  readonly limitKm: number | undefined;
  /** Squared chord every member must be within of its group's anchor. */
  readonly limit2: number;
  /** Squared chord two members of one gathering can at most be apart. */
  readonly reach2: number;
  readonly X: Float64Array;
  readonly Y: Float64Array;
  readonly Z: Float64Array;
  readonly slotNames: string[] = [];
  readonly slotCount: number[] = [];
  readonly interestNames: string[] = [];
  /** Viable slots per participant, ascending: slotIds[slotOff[p] .. slotOff[p + 1]). */
  slotOff: Int32Array;
  slotIds: Int32Array;
  /** Distinct interests per participant, ascending. */
  intOff: Int32Array;
  intIds: Int32Array;
  /** Reasons known before any grouping, which a time limit does not change. */
  readonly fixedReason: (GatherUnassignedReason | undefined)[];
  readonly pref: Int32Array;
  readonly groupOf: Int32Array;
  readonly posInGroup: Int32Array;
  /** Km from each assigned participant to its group's anchor. */
  readonly dAnchor: Float64Array;
  readonly groups: Group[] = [];
  /** Per-slot trees of participants still free, for the phase at hand. */
  trees = new Map<number, KdTree>();
  everyone: KdTree | undefined;
  /** Viable participants in spatial order. */
  order: Int32Array = new Int32Array(0);
  scale = 1;
  scaleKnown = false;
  tooFarScans = 0;
  /**
   * Without max_distance_km nothing forbids a group spanning two cities, but a sweep reaching the
   * end of one cluster would happily do it. Until the final catch-all phase, forming and joining
   * stay within a few times each participant's own neighbourhood radius (squared chord).
   */
  readonly localReach2: Float64Array;
  unbounded = false;
  readonly budget: Budget;

  constructor(
    readonly payload: GatherPayload,
    ctx: GatherContext,
  ) {
    this.n = payload.participants.length;
    this.min = payload.group_size.min;
    this.max = Math.max(payload.group_size.min, payload.group_size.max);
    this.limitKm = payload.max_distance_km;
    const D = this.limitKm;
    this.limit2 = D === undefined ? Infinity : kmToChord(D * (1 - DISTANCE_MARGIN)) ** 2;
    this.reach2 = D === undefined ? Infinity : kmToChord(2 * D) ** 2;
    this.X = new Float64Array(this.n);
    this.Y = new Float64Array(this.n);
    this.Z = new Float64Array(this.n);
    this.slotOff = new Int32Array(this.n + 1);
    this.slotIds = new Int32Array(0);
    this.intOff = new Int32Array(this.n + 1);
    this.intIds = new Int32Array(0);
    this.fixedReason = new Array<GatherUnassignedReason | undefined>(this.n);
    this.pref = new Int32Array(this.n).fill(-1);
    this.groupOf = new Int32Array(this.n).fill(-1);
    this.posInGroup = new Int32Array(this.n);
    this.dAnchor = new Float64Array(this.n);
    this.localReach2 = new Float64Array(this.n).fill(Infinity);
    this.budget = new Budget(ctx);
  }

  // ---------------------------------------------------------------- phase 1: the model itself

  /** Interns slots and interests, and drops slots too rare to ever hold a gathering. */
  index(): void {
    const { n, X, Y, Z } = this;
    const ps = this.payload.participants;
    const slotIndex = new Map<string, number>();
    const interestIndex = new Map<string, number>();
    const slotsOf: Int32Array[] = new Array<Int32Array>(n);
    const interestsOf: Int32Array[] = new Array<Int32Array>(n);
    let interestTotal = 0;
    for (let i = 0; i < n; i++) {
      const p = ps[i];
      const v = toUnitVector(p.location.lat, p.location.lon);
      X[i] = v.x;
      Y[i] = v.y;
      Z[i] = v.z;
      const slots = internSorted(p.availability, slotIndex, this.slotNames);
      for (const s of slots) this.slotCount[s] = (this.slotCount[s] ?? 0) + 1;
      slotsOf[i] = slots;
      interestsOf[i] = internSorted(p.interests, interestIndex, this.interestNames);
      interestTotal += interestsOf[i].length;
    }
    this.intIds = new Int32Array(interestTotal);
    for (let i = 0, at = 0; i < n; i++) {
      this.intIds.set(interestsOf[i], at);
      at += interestsOf[i].length;
      this.intOff[i + 1] = at;
    }
    // Only slots that enough people share can ever host a gathering; the rest are noise from here on.
    const viable: number[] = [];
    for (let i = 0; i < n; i++) {
      let shared = false;
      for (const s of slotsOf[i]) {
        if (this.slotCount[s] >= 2) shared = true;
        if (this.slotCount[s] >= this.min) viable.push(s);
      }
      this.slotOff[i + 1] = viable.length;
      if (this.slotOff[i + 1] === this.slotOff[i]) this.fixedReason[i] = shared ? 'group_too_small' : 'no_common_slot';
    }
    this.slotIds = Int32Array.from(viable);
    this.budget.progress(5, 'indexing participants');
  }

  // ---------------------------------------------------------------- helpers

  createGroup(slot: number, anchor: number, members: number[]): Group {
    const g: Group = {
      id: this.groups.length,
      slot,
      members: [],
      x: this.X[anchor],
      y: this.Y[anchor],
      z: this.Z[anchor],
      counts: new Map(),
      shared: 0,
      interestTotal: 0,
    };
    this.groups.push(g);
    for (const m of members) {
      this.addMember(g, m);
      this.claim(m);
    }
    return g;
  }

  addMember(g: Group, p: number): void {
    g.members.push(p);
    this.posInGroup[p] = g.members.length - 1;
    this.groupOf[p] = g.id;
    let sh = 0;
    for (let a = this.intOff[p]; a < this.intOff[p + 1]; a++) {
      const i = this.intIds[a];
      const c = g.counts.get(i) ?? 0;
      sh += c;
      g.counts.set(i, c + 1);
    }
    g.shared += sh;
    g.interestTotal += this.intOff[p + 1] - this.intOff[p];
    this.dAnchor[p] = this.kmTo(p, g.x, g.y, g.z);
  }

  removeMember(g: Group, p: number): void {
    const at = this.posInGroup[p];
    const last = g.members.pop()!;
    if (last !== p) {
      g.members[at] = last;
      this.posInGroup[last] = at;
    }
    this.groupOf[p] = -1;
    let sh = 0;
    for (let a = this.intOff[p]; a < this.intOff[p + 1]; a++) {
      const i = this.intIds[a];
      const c = g.counts.get(i)! - 1;
      sh += c;
      if (c === 0) g.counts.delete(i);
      else g.counts.set(i, c);
    }
    g.shared -= sh;
    g.interestTotal -= this.intOff[p + 1] - this.intOff[p];
  }

  /** How far from p a group p anchors or joins may reach (squared chord). */
  reachOf(p: number): number {
    return this.limitKm !== undefined || this.unbounded ? this.limit2 : this.localReach2[p];
  }

  /** Removes a newly placed participant from every free-participant tree it is in. */
  claim(p: number): void {
    if (this.trees.size === 0) return;
    for (let a = this.slotOff[p]; a < this.slotOff[p + 1]; a++) this.trees.get(this.slotIds[a])?.remove(p);
  }

  /** Cohesion gained by adding p to g (p not in g). */
  joinGain(g: Group, p: number): number {
    const np = this.intOff[p + 1] - this.intOff[p];
    const k = g.members.length;
    return cohesion(g.shared + this.sumCounts(p, g), g.interestTotal + np, k + 1) - cohesion(g.shared, g.interestTotal, k);
  }

  buildGroupTree(): KdTree {
    const G = this.groups.length;
    const gx = new Float64Array(G), gy = new Float64Array(G), gz = new Float64Array(G);
    const ids: number[] = [];
    for (let g = 0; g < G; g++) {
      const group = this.groups[g];
      gx[g] = group.x;
      gy[g] = group.y;
      gz[g] = group.z;
      if (group.members.length > 0) ids.push(g);
    }
    return new KdTree(ids, gx, gy, gz);
  }

  /** Mean member-to-anchor distance: the distance unit when no limit is given. */
  scaleKm(): number {
    if (this.limitKm !== undefined) return this.limitKm;
    if (this.scaleKnown || this.groups.length === 0) return this.scale;
    this.scaleKnown = true;
    let sum = 0, count = 0;
    for (const g of this.groups) {
      for (const m of g.members) {
        sum += this.dAnchor[m];
        count++;
      }
    }
    this.scale = Math.max(1e-3, count > 0 ? (2 * sum) / count : 1);
    return this.scale;
  }

  sumCounts(p: number, g: Group): number {
    let s = 0;
    for (let a = this.intOff[p]; a < this.intOff[p + 1]; a++) s += g.counts.get(this.intIds[a]) ?? 0;
    return s;
  }

  overlap(p: number, q: number): number {
    const ids = this.intIds;
    let a = this.intOff[p], b = this.intOff[q], n = 0;
    const aEnd = this.intOff[p + 1], bEnd = this.intOff[q + 1];
    while (a < aEnd && b < bEnd) {
      if (ids[a] < ids[b]) a++;
      else if (ids[a] > ids[b]) b++;
      else {
        n++;
        a++;
        b++;
      }
    }
    return n;
  }

  similarity(p: number, q: number): number {
    const np = this.intOff[p + 1] - this.intOff[p];
    const nq = this.intOff[q + 1] - this.intOff[q];
    return np === 0 || nq === 0 ? 0 : this.overlap(p, q) / Math.sqrt(np * nq);
  }

  /** Position of slot s in p's slot list, or -1. */
  slotPosition(p: number, s: number): number {
    let lo = this.slotOff[p], hi = this.slotOff[p + 1] - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = this.slotIds[mid];
      if (v === s) return mid;
      if (v < s) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  hasSlot(p: number, s: number): boolean {
    return this.slotPosition(p, s) >= 0;
  }

  chord2(p: number, x: number, y: number, z: number): number {
    const dx = this.X[p] - x, dy = this.Y[p] - y, dz = this.Z[p] - z;
    return dx * dx + dy * dy + dz * dz;
  }

  kmTo(p: number, x: number, y: number, z: number): number {
    return chordToKm(Math.sqrt(this.chord2(p, x, y, z)));
  }
}

/** Interns names to ids and returns the distinct ids ascending (duplicates in input are harmless). */
function internSorted(names: readonly string[], index: Map<string, number>, list: string[]): Int32Array {
  const out = new Int32Array(names.length);
  for (let i = 0; i < names.length; i++) {
    let id = index.get(names[i]);
    if (id === undefined) {
      id = list.length;
      index.set(names[i], id);
      list.push(names[i]);
    }
    out[i] = id;
  }
  out.sort();
  let m = 0;
  for (let i = 0; i < out.length; i++) if (i === 0 || out[i] !== out[i - 1]) out[m++] = out[i];
  return out.subarray(0, m);
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
