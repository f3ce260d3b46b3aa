import { EPS, GatherModel } from './model';
import { KdTree } from './kd-tree';

const PREFERENCE_ROUNDS = 3;
/** Weight of "neighbours could also make this slot" against "neighbours chose this slot". */
const AVAILABILITY_WEIGHT = 0.25;
/** Without a distance limit, early phases reach this many times a participant's neighbourhood radius. */
const LOCAL_REACH_FACTOR = 3;

/**
 * A participant with several slots can join only one gathering, and neighbours are only useful
 * when they pick the same slot. Label propagation over the k-nearest-neighbour graph settles that
 * locally in O(n·k) per round, where processing slots one after another would let the first slot
 * scatter everyone.
 */
export function choosePreferredSlots(model: GatherModel): void {
  const { X, Y, Z, slotOff, slotIds, budget } = model;
  const viable: number[] = [];
  for (let i = 0; i < model.n; i++) if (slotOff[i + 1] > slotOff[i]) viable.push(i);
  model.everyone = new KdTree(viable, X, Y, Z);
  model.order = model.everyone.order();
  const order = model.order;
  const m = order.length;
  const K = Math.max(8, Math.min(32, 2 * (model.max - 1)));
  const nbStart = new Int32Array(model.n);
  const nbCount = new Int32Array(model.n);
  const nb = new Int32Array(m * K);
  const avail = new Float64Array(slotIds.length);
  for (let j = 0; j < m; j++) {
    if (budget.tick()) return;
    const p = order[j];
    const res = model.everyone.nearest(X[p], Y[p], Z[p], K + 1, model.reach2);
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
    if (model.limitKm === undefined && res.ids.length > 1) {
      model.localReach2[p] = LOCAL_REACH_FACTOR ** 2 * res.d2[res.ids.length - 1];
    }
    budget.span(5, 12, j, m, 'choosing slots');
  }
  for (const p of order) {
    let best = slotOff[p];
    for (let a = best + 1; a < slotOff[p + 1]; a++) {
      const diff = avail[a] - avail[best];
      if (diff > EPS || (diff > -EPS && model.slotCount[slotIds[a]] > model.slotCount[slotIds[best]])) best = a;
    }
    model.pref[p] = slotIds[best];
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
        const a = model.slotPosition(p, model.pref[nb[nbStart[p] + c]]);
        if (a >= 0) scratch[a - off]++;
      }
      const current = model.slotPosition(p, model.pref[p]) - off;
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
        model.pref[p] = slotIds[off + best];
        changed++;
      }
      budget.span(12, 20, round * m + j, PREFERENCE_ROUNDS * m, 'choosing slots');
    }
    if (changed === 0) break;
  }
  budget.progress(20, 'choosing slots');
}
