/**
 * Local improvement: passes of moves and swaps between nearby groups that raise interest cohesion
 * and tightness, with re-centring between passes.
 */
import { chordToKm, kmToChord } from './geo.util';
import { KdTree } from './kd-tree';
import { EPS, GROUP_CANDIDATES, GatherModel, Group, cohesion } from './model';

const MAX_PASSES = 8;
/** A pass that improves fewer than this fraction of participants is not worth repeating. */
const MIN_PASS_YIELD = 0.005;
const SWAP_WINDOW = 8;

export function improve(model: GatherModel): void {
  if (model.groups.length === 0) return;
  model.trees = new Map();
  model.scale = model.scaleKm();
  const order = model.order;
  const threshold = Math.max(1, Math.floor(order.length * MIN_PASS_YIELD));
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const gtree = model.buildGroupTree();
    let improved = 0;
    for (let j = 0; j < order.length; j++) {
      const p = order[j];
      if (model.groupOf[p] < 0) continue;
      if (model.budget.tick()) return;
      improved += improveOne(model, p, gtree, pass);
      model.budget.span(60, 95, pass * order.length + j, MAX_PASSES * order.length, 'improving gatherings');
    }
    improved += recenter(model);
    if (improved < threshold) break;
  }
  model.budget.progress(95, 'improving gatherings');
}

/** Applies the best improving move or swap for `p`, if any; returns 1 when it changed something. */
function improveOne(model: GatherModel, p: number, gtree: KdTree, pass: number): number {
  const { X, Y, Z, min, max, groups, intOff } = model;
  const scale = model.scale;
  const A = groups[model.groupOf[p]];
  const kA = A.members.length;
  const np = intOff[p + 1] - intOff[p];
  const shPA = model.sumCounts(p, A) - np;
  const baseA = cohesion(A.shared, A.interestTotal, kA);
  const dPA = model.dAnchor[p];
  const leaveA = cohesion(A.shared - shPA, A.interestTotal - np, kA - 1) - baseA + dPA / scale;
  // Without a limit, a group much farther away than p's own anchor cannot pay for the distance;
  // bounding the search keeps it from wandering when few nearby groups share p's slots.
  const bound2 = Math.min(model.limit2, kmToChord(dPA + scale) ** 2);
  const cands = gtree.nearest(X[p], Y[p], Z[p], GROUP_CANDIDATES, bound2, (g) => g !== A.id && model.hasSlot(p, groups[g].slot));
  let bestGain = EPS;
  let bestB: Group | undefined;
  let bestQ = -1;
  for (const g of cands.ids) {
    const B = groups[g];
    const kB = B.members.length;
    const c2 = model.chord2(p, B.x, B.y, B.z);
    if (c2 > model.limit2) continue;
    const dPB = chordToKm(Math.sqrt(c2));
    const shPB = model.sumCounts(p, B);
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
      if (!model.hasSlot(q, A.slot)) continue;
      const cq2 = model.chord2(q, A.x, A.y, A.z);
      if (cq2 > model.limit2) continue;
      const dQA = chordToKm(Math.sqrt(cq2));
      const distGain = (dPA + model.dAnchor[q] - dPB - dQA) / scale;
      const nq = intOff[q + 1] - intOff[q];
      let cohesionGain = 0;
      if (np + nq > 0) {
        const ov = model.overlap(p, q);
        const shQB = model.sumCounts(q, B) - nq;
        const shQA = model.sumCounts(q, A) - ov;
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
  model.removeMember(A, p);
  if (bestQ >= 0) {
    model.removeMember(bestB, bestQ);
    model.addMember(A, bestQ);
  }
  model.addMember(bestB, p);
  return 1;
}

/**
 * Moves anchors to the members' centroid when that keeps everyone in reach and brings them closer
 * on the whole; it also widens where the next pass can move people.
 */
function recenter(model: GatherModel): number {
  let changed = 0;
  for (const g of model.groups) {
    if (g.members.length === 0) continue;
    let x = 0, y = 0, z = 0;
    for (const m of g.members) {
      x += model.X[m];
      y += model.Y[m];
      z += model.Z[m];
    }
    const norm = Math.hypot(x, y, z);
    if (norm < 1e-12) continue;
    x /= norm;
    y /= norm;
    z /= norm;
    let before = 0, after = 0, ok = true;
    for (const m of g.members) {
      const c2 = model.chord2(m, x, y, z);
      if (c2 > model.limit2) {
        ok = false;
        break;
      }
      after += chordToKm(Math.sqrt(c2));
      before += model.dAnchor[m];
    }
    if (!ok || after >= before - EPS) continue;
    g.x = x;
    g.y = y;
    g.z = z;
    for (const m of g.members) model.dAnchor[m] = model.kmTo(m, x, y, z);
    changed++;
  }
  return changed;
}
