/**
 * The algorithm behind `automated_gather_creation`: pure, synchronous and deterministic.
 *
 * Phases (participants are unit vectors; k-d trees keep every neighbour search local), a file each:
 *  1. index      model.ts: intern slots and interests; drop slots too rare to ever hold a gathering.
 *  2. slots      slot-preference.ts: each participant picks one preferred slot by label propagation
 *                over its k nearest neighbours, so neighbours converge on the same slot.
 *  3. form       formation.ts: per preferred slot, sweep seeds in tree order and group each seed with
 *                its nearest free neighbours (within the distance limit), nudged towards shared interests.
 *  4. rescue     formation.ts: leftovers form groups in any of their slots, join groups with spare
 *                room, or borrow members from nearby groups that are above the minimum size.
 *  5. improve    improvement.ts: passes of moves and swaps between nearby groups that raise interest
 *                cohesion and tightness, with re-centring between passes.
 *  6. finish     result.ts: pick the tightest valid centre, re-check every invariant, build the result.
 *
 * Groups are valid at every moment (sizes within bounds, every member available in the slot and
 * within the limit of the group's anchor), which is what lets the soft limit stop any phase and
 * still return a correct, if partial, answer.
 */
import type { GatherPayload, GatherResult } from '../gather.types';
import { formAmongLeftovers, formByBorrowing, formInPreferredSlots, joinExisting } from './formation';
import { improve } from './improvement';
import { GatherContext } from './budget';
import { GatherModel } from './model';
import { finish } from './result';
import { choosePreferredSlots } from './slot-preference';

export function createGatherings(payload: GatherPayload, ctx: GatherContext): GatherResult {
  const model = new GatherModel(payload, ctx);
  const b = model.budget;
  b.progress(0, 'indexing participants');
  model.index();
  const phases: Array<() => void> = [
    () => choosePreferredSlots(model),
    () => formInPreferredSlots(model),
    () => formAmongLeftovers(model, 45, 50),
    () => joinExisting(model, 50, 52),
    () => formByBorrowing(model, 52, 55),
  ];
  if (model.limitKm === undefined) {
    phases.push(
      () => (model.unbounded = true),
      () => formAmongLeftovers(model, 55, 57),
      () => joinExisting(model, 57, 58),
      () => formByBorrowing(model, 58, 60),
    );
  }
  phases.push(
    () => improve(model),
    () => joinExisting(model, 95, 96),
  );
  for (const phase of phases) {
    if (b.checkpoint()) break;
    phase();
  }
  return finish(model);
}
