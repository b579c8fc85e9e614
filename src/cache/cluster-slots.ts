/**
 * Redis Cluster refuses a script or a multi-key command whose keys span slots (CROSSSLOT). Keys
 * that belong together share a hash tag (keys.ts); a call that touches several owners (the intake's
 * customer keys and its per-address counter, a settled batch's many orders) is split here into one
 * call per slot, each atomic on its own. Slots are computed on the key as Redis sees it: the
 * `fenqi:` prefix in front of the tag does not change the slot.
 */
import calculateSlot from 'cluster-key-slot';
import { invariant } from '../domain/errors.ts';
import { CACHE_PREFIX } from './cache.ts';

/** The slot Redis stores `key` in, after the client prefixes it. */
export function slotOf(key: string): number {
  return calculateSlot(`${CACHE_PREFIX}${key}`);
}

/** The one slot of all the keys, or undefined when they span more than one. */
export function sharedSlot(keys: readonly string[]): number | undefined {
  invariant(keys.length > 0, 'a slot needs at least one key');
  const slot = calculateSlot.generateMulti(keys.map((k) => `${CACHE_PREFIX}${k}`));
  return slot < 0 ? undefined : slot;
}

/**
 * The indexes of `keys` grouped by slot, groups in order of first appearance and indexes in order
 * within a group, so a caller can put each group's answers back where they were asked.
 */
export function groupBySlot(keys: readonly string[]): number[][] {
  const groups = new Map<number, number[]>();
  keys.forEach((key, index) => {
    const slot = slotOf(key);
    const group = groups.get(slot);
    if (group) group.push(index);
    else groups.set(slot, [index]);
  });
  return [...groups.values()];
}
