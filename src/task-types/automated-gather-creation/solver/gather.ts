/**
 * The algorithm behind `automated_gather_creation`: pure, synchronous and deterministic.
 *
 * Phases (participants are unit vectors; k-d trees keep every neighbour search local):
 *  1. index      intern slots and interests; drop slots too rare to ever hold a gathering.
 *  2. slots      each participant picks one preferred slot by label propagation over its k nearest
 *                neighbours, so neighbours converge on the same slot instead of splitting up.
 *  3. form       per preferred slot, sweep seeds in tree order and group each seed with its nearest
 *                free neighbours (within the distance limit), nudged towards shared interests.
 *  4. rescue     leftovers form groups in any of their slots, join groups with spare room, or
 *                borrow members from nearby groups that are above the minimum size.
 *  5. improve    passes of moves and swaps between nearby groups that raise interest cohesion
 *                and tightness, with re-centring between passes.
 *  6. finish     pick the tightest valid centre, re-check every invariant, build the result.
 *
 * Groups are valid at every moment (sizes within bounds, every member available in the slot and
 * within the limit of the group's anchor), which is what lets the soft limit stop any phase and
 * still return a correct, if partial, answer.
 */
import type {
  GatherPayload,
  GatherResult,
  Gathering,
  GatherUnassigned,
  GatherUnassignedReason,
} from '../gather.types';
import { chordToKm, fromUnitVector, haversineKm, kmToChord, toUnitVector } from './geo.util';
import { KdTree } from './kd-tree';

export interface GatherContext {
  softLimitHit(): boolean;
  progress(pct: number, message?: string): void;
}

/** Inner-loop steps between two soft-limit checks: frequent enough to stop within milliseconds. */
const SOFT_LIMIT_EVERY = 256;
/**
 * Members are kept this fraction inside max_distance_km so that independent haversine checks (other
 * earth radii, other float orderings) cannot find a member a hair outside the limit.
 */
const DISTANCE_MARGIN = 1e-5;
const EPS = 1e-9;
const PREFERENCE_ROUNDS = 3;
/** Weight of "neighbours could also make this slot" against "neighbours chose this slot". */
const AVAILABILITY_WEIGHT = 0.25;
const MAX_PASSES = 8;
/** A pass that improves fewer than this fraction of participants is not worth repeating. */
const MIN_PASS_YIELD = 0.005;
const GROUP_CANDIDATES = 6;
const SWAP_WINDOW = 8;
/** How far (relative to the group's natural radius) a seed reaches for someone who shares interests. */
const INTEREST_PULL = 0.3;
/**
 * Proving too_far means scanning everyone within twice the limit; past these budgets (per participant
 * and in total) the proof is abandoned and the reason falls back to group_too_small, so explaining
 * leftovers can never cost more than the grouping did.
 */
const TOO_FAR_SCAN_LIMIT = 5_000;
const TOO_FAR_SCAN_BUDGET = 5_000_000;
/** Tightness reference when no distance limit is given: a 10 km radius scores half. */
const TIGHTNESS_REF_KM = 10;
/** Without a distance limit, early phases reach this many times a participant's neighbourhood radius. */
const LOCAL_REACH_FACTOR = 3;

export function createGatherings(payload: GatherPayload, ctx: GatherContext): GatherResult {
  return new GatherSolver(payload, ctx).run();
}

/** Interest cohesion of a group times its size: 0 when nobody shares, k when all interests agree. */
export function cohesion(shared: number, interestTotal: number, size: number): number {
  return size >= 2 && interestTotal > 0 ? (2 * shared * size) / ((size - 1) * interestTotal) : 0;
}

class Budget {
  iterations = 0;
  stopped = false;
  private lastPct = -1;

  constructor(private readonly ctx: GatherContext) {}

  /** Counts one unit of work; true once the soft limit has been hit. */
  tick(): boolean {
    this.iterations++;
    if ((this.iterations & (SOFT_LIMIT_EVERY - 1)) === 0 && !this.stopped && this.ctx.softLimitHit()) this.stopped = true;
    return this.stopped;
  }

  /** Phase boundaries check unconditionally, so even tiny inputs honour the limit. */
  checkpoint(): boolean {
    if (!this.stopped && this.ctx.softLimitHit()) this.stopped = true;
    return this.stopped;
  }

  /** Forwards whole percentages only, so callers may report from inner loops. */
  progress(pct: number, message: string): void {
    const p = Math.max(0, Math.min(100, Math.floor(pct)));
    if (p <= this.lastPct) return;
    this.lastPct = p;
    this.ctx.progress(p, message);
  }

  span(from: number, to: number, done: number, total: number, message: string): void {
    this.progress(from + ((to - from) * done) / Math.max(1, total), message);
  }
}

interface Group {
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

class GatherSolver {
  private readonly n: number;
  private readonly min: number;
  private readonly max: number;
  private readonly limitKm: number | undefined;
  /** Squared chord every member must be within of its group's anchor. */
  private readonly limit2: number;
  /** Squared chord two members of one gathering can at most be apart. */
  private readonly reach2: number;
  private readonly X: Float64Array;
  private readonly Y: Float64Array;
  private readonly Z: Float64Array;
  private readonly slotNames: string[] = [];
  private readonly slotCount: number[] = [];
  private readonly interestNames: string[] = [];
  /** Viable slots per participant, ascending: slotIds[slotOff[p] .. slotOff[p + 1]). */
  private slotOff: Int32Array;
  private slotIds: Int32Array;
  /** Distinct interests per participant, ascending. */
  private intOff: Int32Array;
  private intIds: Int32Array;
  /** Reasons known before any grouping, which a time limit does not change. */
  private readonly fixedReason: (GatherUnassignedReason | undefined)[];
  private readonly pref: Int32Array;
  private readonly groupOf: Int32Array;
  private readonly posInGroup: Int32Array;
  /** Km from each assigned participant to its group's anchor. */
  private readonly dAnchor: Float64Array;
  private readonly groups: Group[] = [];
  /** Per-slot trees of participants still free, for the phase at hand. */
  private trees = new Map<number, KdTree>();
  private everyone: KdTree | undefined;
  /** Viable participants in spatial order. */
  private order: Int32Array = new Int32Array(0);
  private scale = 1;
  private scaleKnown = false;
  private tooFarScans = 0;
  /**
   * Without max_distance_km nothing forbids a group spanning two cities, but a sweep reaching the
   * end of one cluster would happily do it. Until the final catch-all phase, forming and joining
   * stay within a few times each participant's own neighbourhood radius (squared chord).
   */
  private readonly localReach2: Float64Array;
  private unbounded = false;
  private readonly budget: Budget;

  constructor(
    private readonly payload: GatherPayload,
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

  run(): GatherResult {
    const b = this.budget;
    b.progress(0, 'indexing participants');
    this.index();
    const phases: Array<() => void> = [
      () => this.choosePreferredSlots(),
      () => this.formInPreferredSlots(),
      () => this.formAmongLeftovers(45, 50),
      () => this.joinExisting(50, 52),
      () => this.formByBorrowing(52, 55),
    ];
    if (this.limitKm === undefined) {
      phases.push(
        () => (this.unbounded = true),
        () => this.formAmongLeftovers(55, 57),
        () => this.joinExisting(57, 58),
        () => this.formByBorrowing(58, 60),
      );
    }
    phases.push(
      () => this.improve(),
      () => this.joinExisting(95, 96),
    );
    for (const phase of phases) {
      if (b.checkpoint()) break;
      phase();
    }
    return this.finish();
  }

  // ---------------------------------------------------------------- phase 1: index

  private index(): void {
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

  // ---------------------------------------------------------------- phase 2: slot preference

  /**
   * A participant with several slots can join only one gathering, and neighbours are only useful
   * when they pick the same slot. Label propagation over the k-nearest-neighbour graph settles that
   * locally in O(n·k) per round, where processing slots one after another would let the first slot
   * scatter everyone.
   */
  private choosePreferredSlots(): void {
    const { X, Y, Z, slotOff, slotIds, budget } = this;
    const viable: number[] = [];
    for (let i = 0; i < this.n; i++) if (slotOff[i + 1] > slotOff[i]) viable.push(i);
    this.everyone = new KdTree(viable, X, Y, Z);
    this.order = this.everyone.order();
    const order = this.order;
    const m = order.length;
    const K = Math.max(8, Math.min(32, 2 * (this.max - 1)));
    const nbStart = new Int32Array(this.n);
    const nbCount = new Int32Array(this.n);
    const nb = new Int32Array(m * K);
    const avail = new Float64Array(slotIds.length);
    for (let j = 0; j < m; j++) {
      if (budget.tick()) return;
      const p = order[j];
      const res = this.everyone.nearest(X[p], Y[p], Z[p], K + 1, this.reach2);
      let c = 0;
      nbStart[p] = j * K;
      for (const q of res.ids) {
        if (q === p || c === K) continue;
        nb[j * K + c++] = q;
        // Count, per slot of p, how many neighbours could meet in it too.
        let a = slotOff[p], b = slotOff[q];
        const aEnd = slotOff[p + 1], bEnd = slotOff[q + 1];
        while (a < aEnd && b < bEnd) {
          if (slotIds[a] < slotIds[b]) a++;
          else if (slotIds[a] > slotIds[b]) b++;
          else {
            avail[a]++;
            a++;
            b++;
          }
        }
      }
      nbCount[p] = c;
      if (this.limitKm === undefined && res.ids.length > 1) {
        this.localReach2[p] = LOCAL_REACH_FACTOR ** 2 * res.d2[res.ids.length - 1];
      }
      budget.span(5, 12, j, m, 'choosing slots');
    }
    for (const p of order) {
      let best = slotOff[p];
      for (let a = best + 1; a < slotOff[p + 1]; a++) {
        const diff = avail[a] - avail[best];
        if (diff > EPS || (diff > -EPS && this.slotCount[slotIds[a]] > this.slotCount[slotIds[best]])) best = a;
      }
      this.pref[p] = slotIds[best];
    }
    let scratch = new Float64Array(64);
    for (let round = 0; round < PREFERENCE_ROUNDS; round++) {
      let changed = 0;
      for (let j = 0; j < m; j++) {
        if (budget.tick()) return;
        const p = order[j];
        const off = slotOff[p];
        const len = slotOff[p + 1] - off;
        if (len <= 1) continue;
        if (scratch.length < len) scratch = new Float64Array(len);
        scratch.fill(0, 0, len);
        for (let c = 0; c < nbCount[p]; c++) {
          const a = this.slotPosition(p, this.pref[nb[nbStart[p] + c]]);
          if (a >= 0) scratch[a - off]++;
        }
        const current = this.slotPosition(p, this.pref[p]) - off;
        let best = current;
        let bestScore = scratch[current] + AVAILABILITY_WEIGHT * avail[off + current];
        for (let a = 0; a < len; a++) {
          const score = scratch[a] + AVAILABILITY_WEIGHT * avail[off + a];
          if (score > bestScore + EPS) {
            best = a;
            bestScore = score;
          }
        }
        if (best !== current) {
          this.pref[p] = slotIds[off + best];
          changed++;
        }
        budget.span(12, 20, round * m + j, PREFERENCE_ROUNDS * m, 'choosing slots');
      }
      if (changed === 0) break;
    }
    budget.progress(20, 'choosing slots');
  }

  // ---------------------------------------------------------------- phase 3: greedy formation

  private formInPreferredSlots(): void {
    const buckets = new Map<number, number[]>();
    for (const p of this.order) {
      const list = buckets.get(this.pref[p]);
      if (list) list.push(p);
      else buckets.set(this.pref[p], [p]);
    }
    const slots = [...buckets.keys()].sort((a, b) => a - b);
    this.trees = new Map();
    for (const s of slots) this.trees.set(s, new KdTree(buckets.get(s)!, this.X, this.Y, this.Z));
    this.sweep(slots, 20, 45, 'forming gatherings');
    this.trees = new Map();
  }

  /** Trees over everyone still free, in each of their slots; kept for the borrowing phase. */
  private formAmongLeftovers(from: number, to: number): void {
    const buckets = new Map<number, number[]>();
    for (const p of this.order) {
      if (this.groupOf[p] >= 0) continue;
      for (let a = this.slotOff[p]; a < this.slotOff[p + 1]; a++) {
        const list = buckets.get(this.slotIds[a]);
        if (list) list.push(p);
        else buckets.set(this.slotIds[a], [p]);
      }
    }
    // Bigger pools first: they are likelier to complete groups, and anyone they absorb stops
    // competing for the scarcer slots.
    const slots = [...buckets.keys()]
      .filter((s) => buckets.get(s)!.length >= 2)
      .sort((a, b) => buckets.get(b)!.length - buckets.get(a)!.length || a - b);
    this.trees = new Map();
    for (const s of slots) this.trees.set(s, new KdTree(buckets.get(s)!, this.X, this.Y, this.Z));
    this.sweep(slots, from, to, 'regrouping leftovers');
  }

  private sweep(slots: number[], from: number, to: number, message: string): void {
    let total = 0;
    for (const s of slots) total += this.trees.get(s)!.size;
    let done = 0;
    for (const s of slots) {
      const tree = this.trees.get(s)!;
      if (tree.aliveCount() < this.min) {
        done += tree.size;
        continue;
      }
      for (const seed of tree.order()) {
        if (this.budget.tick()) return;
        if (tree.has(seed)) this.tryForm(tree, seed, s);
        this.budget.span(from, to, ++done, total, message);
      }
    }
  }

  /**
   * Groups `seed` with its nearest free neighbours in `tree`. The seed becomes the anchor, so the
   * distance invariant holds by construction; seeds come in tree order, so groups grow from the edge
   * of a cluster inwards and leave few stragglers behind.
   */
  private tryForm(tree: KdTree, seed: number, slot: number): boolean {
    const { min, max, X, Y, Z } = this;
    const alive = tree.aliveCount();
    if (alive < min) return false;
    const want = Math.min(alive - 1, max - 1 + Math.min(max, 16));
    const res = tree.nearest(X[seed], Y[seed], Z[seed], want + 1, this.reachOf(seed));
    const ids: number[] = [];
    const d: number[] = [];
    for (let j = 0; j < res.ids.length && ids.length < want; j++) {
      if (res.ids[j] === seed) continue;
      ids.push(res.ids[j]);
      d.push(Math.sqrt(res.d2[j]));
    }
    if (ids.length + 1 < min) return false;
    let size = Math.min(max, ids.length + 1);
    // When this group would strand fewer than `min` people who are all in reach, leave exactly
    // `min` of them behind instead, so they can still form a group of their own.
    const rest = alive - size;
    if (ids.length + 1 === alive && rest > 0 && rest < min && alive - min >= min) size = alive - min;
    let chosen = ids;
    if (ids.length > size - 1) {
      const ref = d[size - 2] > 0 ? d[size - 2] : 1;
      const score = ids.map((q, j) => d[j] / ref - INTEREST_PULL * this.similarity(seed, q));
      const idx = ids.map((_, j) => j).sort((a, b) => score[a] - score[b] || a - b);
      chosen = idx.slice(0, size - 1).map((j) => ids[j]);
    }
    this.createGroup(slot, seed, [seed, ...chosen]);
    return true;
  }

  // ---------------------------------------------------------------- phase 4: rescue

  /** Free participants join the best nearby group that has room, in any of their slots. */
  private joinExisting(from: number, to: number): void {
    if (this.groups.length === 0) return;
    const { X, Y, Z, max } = this;
    const gtree = this.buildGroupTree();
    const order = this.order;
    for (let j = 0; j < order.length; j++) {
      const p = order[j];
      if (this.groupOf[p] >= 0) continue;
      if (this.budget.tick()) return;
      const cands = gtree.nearest(X[p], Y[p], Z[p], 2 * GROUP_CANDIDATES, this.reachOf(p), (g) => {
        const G = this.groups[g];
        return G.members.length < max && this.hasSlot(p, G.slot);
      });
      let best: Group | undefined;
      let bestGain = -Infinity;
      for (let c = 0; c < cands.ids.length; c++) {
        const G = this.groups[cands.ids[c]];
        const gain = this.joinGain(G, p) - chordToKm(Math.sqrt(cands.d2[c])) / this.scaleKm();
        if (gain > bestGain + EPS) {
          bestGain = gain;
          best = G;
        }
      }
      if (best) {
        this.addMember(best, p);
        this.claim(p);
      }
      this.budget.span(from, to, j, order.length, 'placing leftovers');
    }
  }

  /**
   * A free participant who cannot complete a group from other free people borrows the missing
   * members from nearby groups that are above `min`: both groups stay valid and more people are
   * placed, which matters most when greedy formation filled every group to `max`.
   */
  private formByBorrowing(from: number, to: number): void {
    if (this.groups.length === 0) return;
    const { X, Y, Z, min } = this;
    const gtree = this.buildGroupTree();
    const order = this.order;
    for (let j = 0; j < order.length; j++) {
      const p = order[j];
      if (this.groupOf[p] >= 0) continue;
      if (this.budget.tick()) return;
      const reach2 = this.reachOf(p);
      const slots: number[] = [this.pref[p]];
      for (let a = this.slotOff[p]; a < this.slotOff[p + 1]; a++) if (this.slotIds[a] !== this.pref[p]) slots.push(this.slotIds[a]);
      for (const s of slots) {
        const tree = this.trees.get(s);
        const free = tree ? tree.nearest(X[p], Y[p], Z[p], min, reach2).ids.filter((q) => q !== p).slice(0, min - 1) : [];
        const need = min - 1 - free.length;
        const borrowed: Array<{ q: number; g: number }> = [];
        if (need > 0) {
          const donors = gtree.nearest(X[p], Y[p], Z[p], 2 * GROUP_CANDIDATES, this.reach2, (g) => this.groups[g].members.length > min);
          const cands: Array<{ q: number; g: number; d2: number }> = [];
          for (const g of donors.ids) {
            for (const q of this.groups[g].members) {
              if (!this.hasSlot(q, s)) continue;
              const d2 = this.chord2(q, X[p], Y[p], Z[p]);
              if (d2 <= reach2) cands.push({ q, g, d2 });
            }
          }
          cands.sort((a, b) => a.d2 - b.d2 || a.q - b.q);
          const taken = new Map<number, number>();
          for (const c of cands) {
            if (borrowed.length === need) break;
            const t = taken.get(c.g) ?? 0;
            if (this.groups[c.g].members.length - t <= min) continue;
            taken.set(c.g, t + 1);
            borrowed.push(c);
          }
          if (borrowed.length < need) continue;
        }
        for (const { q, g } of borrowed) this.removeMember(this.groups[g], q);
        this.createGroup(s, p, [p, ...free, ...borrowed.map((c) => c.q)]);
        break;
      }
      this.budget.span(from, to, j, order.length, 'borrowing members');
    }
  }

  // ---------------------------------------------------------------- phase 5: local improvement

  private improve(): void {
    if (this.groups.length === 0) return;
    this.trees = new Map();
    this.scale = this.scaleKm();
    const order = this.order;
    const threshold = Math.max(1, Math.floor(order.length * MIN_PASS_YIELD));
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const gtree = this.buildGroupTree();
      let improved = 0;
      for (let j = 0; j < order.length; j++) {
        const p = order[j];
        if (this.groupOf[p] < 0) continue;
        if (this.budget.tick()) return;
        improved += this.improveOne(p, gtree, pass);
        this.budget.span(60, 95, pass * order.length + j, MAX_PASSES * order.length, 'improving gatherings');
      }
      improved += this.recenter();
      if (improved < threshold) break;
    }
    this.budget.progress(95, 'improving gatherings');
  }

  /** Applies the best improving move or swap for `p`, if any; returns 1 when it changed something. */
  private improveOne(p: number, gtree: KdTree, pass: number): number {
    const { X, Y, Z, min, max, groups, intOff } = this;
    const scale = this.scale;
    const A = groups[this.groupOf[p]];
    const kA = A.members.length;
    const np = intOff[p + 1] - intOff[p];
    const shPA = this.sumCounts(p, A) - np;
    const baseA = cohesion(A.shared, A.interestTotal, kA);
    const dPA = this.dAnchor[p];
    const leaveA = cohesion(A.shared - shPA, A.interestTotal - np, kA - 1) - baseA + dPA / scale;
    // Without a limit, a group much farther away than p's own anchor cannot pay for the distance;
    // bounding the search keeps it from wandering when few nearby groups share p's slots.
    const bound2 = Math.min(this.limit2, kmToChord(dPA + scale) ** 2);
    const cands = gtree.nearest(X[p], Y[p], Z[p], GROUP_CANDIDATES, bound2, (g) => g !== A.id && this.hasSlot(p, groups[g].slot));
    let bestGain = EPS;
    let bestB: Group | undefined;
    let bestQ = -1;
    for (const g of cands.ids) {
      const B = groups[g];
      const kB = B.members.length;
      const c2 = this.chord2(p, B.x, B.y, B.z);
      if (c2 > this.limit2) continue;
      const dPB = chordToKm(Math.sqrt(c2));
      const shPB = this.sumCounts(p, B);
      const baseB = cohesion(B.shared, B.interestTotal, kB);
      if (kA > min && kB < max) {
        const gain = leaveA + cohesion(B.shared + shPB, B.interestTotal + np, kB + 1) - baseB - dPB / scale;
        if (gain > bestGain) {
          bestGain = gain;
          bestB = B;
          bestQ = -1;
        }
      }
      // Swaps keep both sizes, so they still work when groups sit at min or max; a rotating
      // window bounds their cost for large groups.
      const w = Math.min(kB, SWAP_WINDOW);
      const start = (pass * SWAP_WINDOW + p) % kB;
      for (let j = 0; j < w; j++) {
        const q = B.members[(start + j) % kB];
        if (!this.hasSlot(q, A.slot)) continue;
        const cq2 = this.chord2(q, A.x, A.y, A.z);
        if (cq2 > this.limit2) continue;
        const dQA = chordToKm(Math.sqrt(cq2));
        const distGain = (dPA + this.dAnchor[q] - dPB - dQA) / scale;
        const nq = intOff[q + 1] - intOff[q];
        let cohesionGain = 0;
        if (np + nq > 0) {
          const ov = this.overlap(p, q);
          const shQB = this.sumCounts(q, B) - nq;
          const shQA = this.sumCounts(q, A) - ov;
          cohesionGain =
            cohesion(A.shared - shPA + shQA, A.interestTotal - np + nq, kA) +
            cohesion(B.shared - shQB + shPB - ov, B.interestTotal - nq + np, kB) -
            baseA -
            baseB;
        }
        const gain = distGain + cohesionGain;
        if (gain > bestGain) {
          bestGain = gain;
          bestB = B;
          bestQ = q;
        }
      }
    }
    if (!bestB) return 0;
    this.removeMember(A, p);
    if (bestQ >= 0) {
      this.removeMember(bestB, bestQ);
      this.addMember(A, bestQ);
    }
    this.addMember(bestB, p);
    return 1;
  }

  /**
   * Moves anchors to the members' centroid when that keeps everyone in reach and brings them closer
   * on the whole; it also widens where the next pass can move people.
   */
  private recenter(): number {
    let changed = 0;
    for (const g of this.groups) {
      if (g.members.length === 0) continue;
      let x = 0, y = 0, z = 0;
      for (const m of g.members) {
        x += this.X[m];
        y += this.Y[m];
        z += this.Z[m];
      }
      const norm = Math.hypot(x, y, z);
      if (norm < 1e-12) continue;
      x /= norm;
      y /= norm;
      z /= norm;
      let before = 0, after = 0, ok = true;
      for (const m of g.members) {
        const c2 = this.chord2(m, x, y, z);
        if (c2 > this.limit2) {
          ok = false;
          break;
        }
        after += chordToKm(Math.sqrt(c2));
        before += this.dAnchor[m];
      }
      if (!ok || after >= before - EPS) continue;
      g.x = x;
      g.y = y;
      g.z = z;
      for (const m of g.members) this.dAnchor[m] = this.kmTo(m, x, y, z);
      changed++;
    }
    return changed;
  }

  // ---------------------------------------------------------------- phase 6: result

  private finish(): GatherResult {
    const partial = this.budget.stopped;
    const ps = this.payload.participants;
    const built: Array<{ first: number; gathering: Gathering }> = [];
    for (const g of this.groups) {
      if (g.members.length === 0) continue;
      const gathering = this.describe(g);
      if (!gathering) {
        // Defensive: a group that fails a final check is dissolved rather than returned.
        for (const m of [...g.members]) this.removeMember(g, m);
        continue;
      }
      built.push({ first: Math.min(...g.members), gathering });
    }
    built.sort((a, b) => a.first - b.first);
    const unassigned: GatherUnassigned[] = [];
    for (let i = 0; i < this.n; i++) {
      if (this.groupOf[i] >= 0) continue;
      const reason = this.fixedReason[i] ?? (partial ? 'time_limit' : this.reasonFor(i));
      unassigned.push({ id: ps[i].id, reason });
    }
    const gatherings = built.map((b) => b.gathering);
    this.budget.progress(100, partial ? 'stopped at the soft time limit' : 'done');
    return {
      gatherings,
      unassigned,
      partial,
      stats: {
        participants: this.n,
        gatherings: gatherings.length,
        assigned: this.n - unassigned.length,
        iterations: this.budget.iterations,
      },
    };
  }

  private describe(g: Group): Gathering | undefined {
    const { min, max } = this;
    const ps = this.payload.participants;
    const k = g.members.length;
    if (k < min || k > max) return undefined;
    for (const m of g.members) if (!this.hasSlot(m, g.slot)) return undefined;
    const center = this.bestCenter(g);
    if (!center) return undefined;
    const members = [...g.members].sort((a, b) => a - b);
    const shared = [...g.counts.entries()]
      .filter(([, c]) => c >= 2)
      .sort((a, b) => b[1] - a[1] || compareStrings(this.interestNames[a[0]], this.interestNames[b[0]]))
      .map(([i]) => this.interestNames[i]);
    const interest = Math.min(1, cohesion(g.shared, g.interestTotal, k) / k);
    const D = this.limitKm;
    const tight = D === undefined ? 1 / (1 + center.radius / TIGHTNESS_REF_KM) : Math.max(0, 1 - center.radius / D);
    return {
      members: members.map((m) => ps[m].id),
      slot: this.slotNames[g.slot],
      center: { lat: center.lat, lon: center.lon },
      radius_km: center.radius,
      shared_interests: shared,
      score: Math.round((0.5 * interest + 0.5 * tight) * 10_000) / 10_000,
    };
  }

  /**
   * The smallest-radius centre among the anchor (valid by construction), the centroid and an
   * approximate minimum enclosing circle (Bădoiu–Clarkson), judged by haversine on the payload's
   * own coordinates: exactly how the invariants are stated.
   */
  private bestCenter(g: Group): { lat: number; lon: number; radius: number } | undefined {
    const { X, Y, Z } = this;
    const candidates: Array<[number, number, number]> = [[g.x, g.y, g.z]];
    let cx = 0, cy = 0, cz = 0;
    for (const m of g.members) {
      cx += X[m];
      cy += Y[m];
      cz += Z[m];
    }
    const norm = Math.hypot(cx, cy, cz);
    if (norm > 1e-12) candidates.push([cx / norm, cy / norm, cz / norm]);
    let bx = g.x, by = g.y, bz = g.z;
    for (let it = 1; it <= 32; it++) {
      let far = g.members[0], farD = -1;
      for (const m of g.members) {
        const d2 = this.chord2(m, bx, by, bz);
        if (d2 > farD) {
          farD = d2;
          far = m;
        }
      }
      bx += (X[far] - bx) / (it + 1);
      by += (Y[far] - by) / (it + 1);
      bz += (Z[far] - bz) / (it + 1);
      const bn = Math.hypot(bx, by, bz);
      if (bn < 1e-12) break;
      bx /= bn;
      by /= bn;
      bz /= bn;
    }
    candidates.push([bx, by, bz]);
    const ps = this.payload.participants;
    const limit = this.limitKm === undefined ? Infinity : this.limitKm * (1 - DISTANCE_MARGIN / 2);
    let best: { lat: number; lon: number; radius: number } | undefined;
    for (const [x, y, z] of candidates) {
      const { lat, lon } = fromUnitVector(x, y, z);
      let radius = 0;
      for (const m of g.members) {
        const loc = ps[m].location;
        radius = Math.max(radius, haversineKm(lat, lon, loc.lat, loc.lon));
      }
      if (radius <= limit && (!best || radius < best.radius)) best = { lat, lon, radius };
    }
    return best;
  }

  /** too_far when no viable slot has `min` people (with p) close enough to ever share a centre. */
  private reasonFor(p: number): GatherUnassignedReason {
    if (this.limitKm === undefined || !this.everyone || this.tooFarScans > TOO_FAR_SCAN_BUDGET) return 'group_too_small';
    const { slotOff, slotIds } = this;
    const off = slotOff[p];
    const counts = new Int32Array(slotOff[p + 1] - off);
    let reachable = false;
    let scanned = 0;
    this.everyone.forEachWithin(this.X[p], this.Y[p], this.Z[p], this.reach2, (q) => {
      if (q === p) return true;
      this.tooFarScans++;
      if (++scanned > TOO_FAR_SCAN_LIMIT) {
        reachable = true;
        return false;
      }
      let a = off, b = slotOff[q];
      const aEnd = slotOff[p + 1], bEnd = slotOff[q + 1];
      while (a < aEnd && b < bEnd) {
        if (slotIds[a] < slotIds[b]) a++;
        else if (slotIds[a] > slotIds[b]) b++;
        else {
          if (++counts[a - off] >= this.min - 1) reachable = true;
          a++;
          b++;
        }
      }
      return !reachable;
    });
    return reachable ? 'group_too_small' : 'too_far';
  }

  // ---------------------------------------------------------------- helpers

  private createGroup(slot: number, anchor: number, members: number[]): Group {
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

  private addMember(g: Group, p: number): void {
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

  private removeMember(g: Group, p: number): void {
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
  private reachOf(p: number): number {
    return this.limitKm !== undefined || this.unbounded ? this.limit2 : this.localReach2[p];
  }

  /** Removes a newly placed participant from every free-participant tree it is in. */
  private claim(p: number): void {
    if (this.trees.size === 0) return;
    for (let a = this.slotOff[p]; a < this.slotOff[p + 1]; a++) this.trees.get(this.slotIds[a])?.remove(p);
  }

  /** Cohesion gained by adding p to g (p not in g). */
  private joinGain(g: Group, p: number): number {
    const np = this.intOff[p + 1] - this.intOff[p];
    const k = g.members.length;
    return cohesion(g.shared + this.sumCounts(p, g), g.interestTotal + np, k + 1) - cohesion(g.shared, g.interestTotal, k);
  }

  private buildGroupTree(): KdTree {
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
  private scaleKm(): number {
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

  private sumCounts(p: number, g: Group): number {
    let s = 0;
    for (let a = this.intOff[p]; a < this.intOff[p + 1]; a++) s += g.counts.get(this.intIds[a]) ?? 0;
    return s;
  }

  private overlap(p: number, q: number): number {
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

  private similarity(p: number, q: number): number {
    const np = this.intOff[p + 1] - this.intOff[p];
    const nq = this.intOff[q + 1] - this.intOff[q];
    return np === 0 || nq === 0 ? 0 : this.overlap(p, q) / Math.sqrt(np * nq);
  }

  /** Position of slot s in p's slot list, or -1. */
  private slotPosition(p: number, s: number): number {
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

  private hasSlot(p: number, s: number): boolean {
    return this.slotPosition(p, s) >= 0;
  }

  private chord2(p: number, x: number, y: number, z: number): number {
    const dx = this.X[p] - x, dy = this.Y[p] - y, dz = this.Z[p] - z;
    return dx * dx + dy * dy + dz * dz;
  }

  private kmTo(p: number, x: number, y: number, z: number): number {
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

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
