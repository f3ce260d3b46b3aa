/**
 * Formation and rescue. Formation: per preferred slot, sweep seeds in tree order and group each seed
 * with its nearest free neighbours (within the distance limit), nudged towards shared interests.
 * Rescue: leftovers form groups in any of their slots, join groups with spare room, or borrow members
 * from nearby groups that are above the minimum size.
 */
import { chordToKm } from './geo.util';
import { KdTree } from './kd-tree';
import { EPS, GROUP_CANDIDATES, GatherModel, Group } from './model';

/** How far (relative to the group's natural radius) a seed reaches for someone who shares interests. */
const INTEREST_PULL = 0.3;

export function formInPreferredSlots(model: GatherModel): void {
  const buckets = new Map<number, number[]>();
  for (const p of model.order) {
    const list = buckets.get(model.pref[p]);
    if (list) list.push(p);
    else buckets.set(model.pref[p], [p]);
  }
  const slots = [...buckets.keys()].sort((a, b) => a - b);
  model.trees = new Map();
  for (const s of slots) model.trees.set(s, new KdTree(buckets.get(s)!, model.X, model.Y, model.Z));
  sweep(model, slots, 20, 45, 'forming gatherings');
  model.trees = new Map();
}

/** Trees over everyone still free, in each of their slots; kept for the borrowing phase. */
export function formAmongLeftovers(model: GatherModel, from: number, to: number): void {
  const buckets = new Map<number, number[]>();
  for (const p of model.order) {
    if (model.groupOf[p] >= 0) continue;
    for (let a = model.slotOff[p]; a < model.slotOff[p + 1]; a++) {
      const list = buckets.get(model.slotIds[a]);
      if (list) list.push(p);
      else buckets.set(model.slotIds[a], [p]);
    }
  }
  // Bigger pools first: they are likelier to complete groups, and anyone they absorb stops
  // competing for the scarcer slots.
  const slots = [...buckets.keys()]
    .filter((s) => buckets.get(s)!.length >= 2)
    .sort((a, b) => buckets.get(b)!.length - buckets.get(a)!.length || a - b);
  model.trees = new Map();
  for (const s of slots) model.trees.set(s, new KdTree(buckets.get(s)!, model.X, model.Y, model.Z));
  sweep(model, slots, from, to, 'regrouping leftovers');
}

function sweep(model: GatherModel, slots: number[], from: number, to: number, message: string): void {
  let total = 0;
  for (const s of slots) total += model.trees.get(s)!.size;
  let done = 0;
  for (const s of slots) {
    const tree = model.trees.get(s)!;
    if (tree.aliveCount() < model.min) {
      done += tree.size;
      continue;
    }
    for (const seed of tree.order()) {
      if (model.budget.tick()) return;
      if (tree.has(seed)) tryForm(model, tree, seed, s);
      model.budget.span(from, to, ++done, total, message);
    }
  }
}

/**
 * Groups `seed` with its nearest free neighbours in `tree`. The seed becomes the anchor, so the
 * distance invariant holds by construction; seeds come in tree order, so groups grow from the edge
 * of a cluster inwards and leave few stragglers behind.
 */
function tryForm(model: GatherModel, tree: KdTree, seed: number, slot: number): boolean {
  const { min, max, X, Y, Z } = model;
  const alive = tree.aliveCount();
  if (alive < min) return false;
  const want = Math.min(alive - 1, max - 1 + Math.min(max, 16));
  const res = tree.nearest(X[seed], Y[seed], Z[seed], want + 1, model.reachOf(seed));
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
    const score = ids.map((q, j) => d[j] / ref - INTEREST_PULL * model.similarity(seed, q));
    const idx = ids.map((_, j) => j).sort((a, b) => score[a] - score[b] || a - b);
    chosen = idx.slice(0, size - 1).map((j) => ids[j]);
  }
  model.createGroup(slot, seed, [seed, ...chosen]);
  return true;
}

/** Free participants join the best nearby group that has room, in any of their slots. */
export function joinExisting(model: GatherModel, from: number, to: number): void {
  if (model.groups.length === 0) return;
  const { X, Y, Z, max } = model;
  const gtree = model.buildGroupTree();
  const order = model.order;
  for (let j = 0; j < order.length; j++) {
    const p = order[j];
    if (model.groupOf[p] >= 0) continue;
    if (model.budget.tick()) return;
    const cands = gtree.nearest(X[p], Y[p], Z[p], 2 * GROUP_CANDIDATES, model.reachOf(p), (g) => {
      const G = model.groups[g];
      return G.members.length < max && model.hasSlot(p, G.slot);
    });
    let best: Group | undefined;
    let bestGain = -Infinity;
    for (let c = 0; c < cands.ids.length; c++) {
      const G = model.groups[cands.ids[c]];
      const gain = model.joinGain(G, p) - chordToKm(Math.sqrt(cands.d2[c])) / model.scaleKm();
      if (gain > bestGain + EPS) {
        bestGain = gain;
        best = G;
      }
    }
    if (best) {
      model.addMember(best, p);
      model.claim(p);
    }
    model.budget.span(from, to, j, order.length, 'placing leftovers');
  }
}

/**
 * A free participant who cannot complete a group from other free people borrows the missing
 * members from nearby groups that are above `min`: both groups stay valid and more people are
 * placed, which matters most when greedy formation filled every group to `max`.
 */
export function formByBorrowing(model: GatherModel, from: number, to: number): void {
  if (model.groups.length === 0) return;
  const { X, Y, Z, min } = model;
  const gtree = model.buildGroupTree();
  const order = model.order;
  for (let j = 0; j < order.length; j++) {
    const p = order[j];
    if (model.groupOf[p] >= 0) continue;
    if (model.budget.tick()) return;
    const reach2 = model.reachOf(p);
    const slots: number[] = [model.pref[p]];
    for (let a = model.slotOff[p]; a < model.slotOff[p + 1]; a++) if (model.slotIds[a] !== model.pref[p]) slots.push(model.slotIds[a]);
    for (const s of slots) {
      const tree = model.trees.get(s);
      const free = tree ? tree.nearest(X[p], Y[p], Z[p], min, reach2).ids.filter((q) => q !== p).slice(0, min - 1) : [];
      const need = min - 1 - free.length;
      const borrowed: Array<{ q: number; g: number }> = [];
      if (need > 0) {
        const donors = gtree.nearest(X[p], Y[p], Z[p], 2 * GROUP_CANDIDATES, model.reach2, (g) => model.groups[g].members.length > min);
        const cands: Array<{ q: number; g: number; d2: number }> = [];
        for (const g of donors.ids) {
          for (const q of model.groups[g].members) {
            if (!model.hasSlot(q, s)) continue;
            const d2 = model.chord2(q, X[p], Y[p], Z[p]);
            if (d2 <= reach2) cands.push({ q, g, d2 });
          }
        }
        cands.sort((a, b) => a.d2 - b.d2 || a.q - b.q);
        const taken = new Map<number, number>();
        for (const c of cands) {
          if (borrowed.length === need) break;
          const t = taken.get(c.g) ?? 0;
          if (model.groups[c.g].members.length - t <= min) continue;
          taken.set(c.g, t + 1);
          borrowed.push(c);
        }
        if (borrowed.length < need) continue;
      }
      for (const { q, g } of borrowed) model.removeMember(model.groups[g], q);
      model.createGroup(s, p, [p, ...free, ...borrowed.map((c) => c.q)]);
      break;
    }
    model.budget.span(from, to, j, order.length, 'borrowing members');
  }
}
