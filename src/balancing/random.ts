import type { Endpoint } from '../core/endpoint.js';
import type { PickContext, Picker } from './picker.js';
import { type Random, randomUsable } from './random-usable.js';

/** Uniformly random among usable endpoints; weights are ignored (see `weighted_random`). */
export class RandomPicker implements Picker {
  constructor(private readonly random: Random = Math.random) {}

  pick(endpoints: readonly Endpoint[], context: PickContext): Endpoint | undefined {
    return randomUsable(endpoints, context, this.random);
  }
}
