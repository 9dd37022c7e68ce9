import type { Picker } from '../../src/balancing/picker.js';
import type { Endpoint } from '../../src/core/endpoint.js';

/** How many client addresses the consistent-hashing tests place. */
export const KEYS = 100_000;

export const clientOf = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/** The endpoint the picker gives each of KEYS client addresses. */
export function assignClients(picker: Picker, endpoints: readonly Endpoint[]): (Endpoint | undefined)[] {
  const context = { clientAddress: '' };
  return Array.from({ length: KEYS }, (_, i) => {
    context.clientAddress = clientOf(i);
    return picker.pick(endpoints, context);
  });
}

/**
 * Keys whose endpoint changed between two assignments, and how many of them moved without
 * `changed` (the endpoint removed or added) being either side: those need not have moved.
 */
export function keyMoves(
  before: readonly (Endpoint | undefined)[],
  after: readonly (Endpoint | undefined)[],
  changed: Endpoint,
): { moved: number; needlessly: number } {
  let moved = 0;
  let needlessly = 0;
  for (let i = 0; i < before.length; i++) {
    if (before[i] === after[i]) continue;
    moved++;
    if (before[i] !== changed && after[i] !== changed) needlessly++;
  }
  return { moved, needlessly };
}
