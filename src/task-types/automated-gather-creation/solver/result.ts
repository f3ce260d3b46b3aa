/**
 * The result: pick the tightest valid centre of each group, re-check every invariant, explain each
 * participant left out, and build what the task returns.
 */
import type { GatherResult, GatherUnassigned, GatherUnassignedReason, Gathering } from '../gather.types';
import { fromUnitVector, haversineKm } from './geo.util';
import { DISTANCE_MARGIN, GatherModel, Group, cohesion, compareStrings } from './model';

/**
 * Proving too_far means scanning everyone within twice the limit; past these budgets (per participant
 * and in total) the proof is abandoned and the reason falls back to group_too_small, so explaining
 * leftovers can never cost more than the grouping did.
 */
const TOO_FAR_SCAN_LIMIT = 5_000;
const TOO_FAR_SCAN_BUDGET = 5_000_000;
/** Tightness reference when no distance limit is given: a 10 km radius scores half. */
const TIGHTNESS_REF_KM = 10;

export function finish(model: GatherModel): GatherResult {
  const partial = model.budget.stopped;
  const ps = model.payload.participants;
  const built: Array<{ first: number; gathering: Gathering }> = [];
  for (const g of model.groups) {
    if (g.members.length === 0) continue;
    const gathering = describe(model, g);
    if (!gathering) {
      // Defensive: a group that fails a final check is dissolved rather than returned.
      for (const m of [...g.members]) model.removeMember(g, m);
      continue;
    }
    built.push({ first: Math.min(...g.members), gathering });
  }
  built.sort((a, b) => a.first - b.first);
  const unassigned: GatherUnassigned[] = [];
  for (let i = 0; i < model.n; i++) {
    if (model.groupOf[i] >= 0) continue;
    const reason = model.fixedReason[i] ?? (partial ? 'time_limit' : reasonFor(model, i));
    unassigned.push({ id: ps[i].id, reason });
  }
  const gatherings = built.map((b) => b.gathering);
  model.budget.progress(100, partial ? 'stopped at the soft time limit' : 'done');
  return {
    gatherings,
    unassigned,
    partial,
    stats: {
      participants: model.n,
      gatherings: gatherings.length,
      assigned: model.n - unassigned.length,
      iterations: model.budget.iterations,
    },
  };
}

function describe(model: GatherModel, g: Group): Gathering | undefined {
  const { min, max } = model;
  const ps = model.payload.participants;
  const k = g.members.length;
  if (k < min || k > max) return undefined;
  for (const m of g.members) if (!model.hasSlot(m, g.slot)) return undefined;
  const center = bestCenter(model, g);
  if (!center) return undefined;
  const members = [...g.members].sort((a, b) => a - b);
  const shared = [...g.counts.entries()]
    .filter(([, c]) => c >= 2)
    .sort((a, b) => b[1] - a[1] || compareStrings(model.interestNames[a[0]], model.interestNames[b[0]]))
    .map(([i]) => model.interestNames[i]);
  const interest = Math.min(1, cohesion(g.shared, g.interestTotal, k) / k);
  const D = model.limitKm;
  const tight = D === undefined ? 1 / (1 + center.radius / TIGHTNESS_REF_KM) : Math.max(0, 1 - center.radius / D);
  return {
    members: members.map((m) => ps[m].id),
    slot: model.slotNames[g.slot],
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
function bestCenter(model: GatherModel, g: Group): { lat: number; lon: number; radius: number } | undefined {
  const { X, Y, Z } = model;
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
      const d2 = model.chord2(m, bx, by, bz);
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
  const ps = model.payload.participants;
  const limit = model.limitKm === undefined ? Infinity : model.limitKm * (1 - DISTANCE_MARGIN / 2);
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
function reasonFor(model: GatherModel, p: number): GatherUnassignedReason {
  if (model.limitKm === undefined || !model.everyone || model.tooFarScans > TOO_FAR_SCAN_BUDGET) return 'group_too_small';
  const { slotOff, slotIds } = model;
  const off = slotOff[p];
  const counts = new Int32Array(slotOff[p + 1] - off);
  let reachable = false;
  let scanned = 0;
  model.everyone.forEachWithin(model.X[p], model.Y[p], model.Z[p], model.reach2, (q) => {
    if (q === p) return true;
    model.tooFarScans++;
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
        if (++counts[a - off] >= model.min - 1) reachable = true;
        a++;
        b++;
      }
    }
    return !reachable;
  });
  return reachable ? 'group_too_small' : 'too_far';
}
