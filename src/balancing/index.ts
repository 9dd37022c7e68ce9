/** What the rest of Portside uses from balancing: build a cluster's picker and its observers. */
export { AffinityRegistry } from './affinity.js';
export { resolveSelfLocality } from './locality.js';
export type { PickContext, Picker } from './picker.js';
export { balancingObservers, createPicker, type PickerDependencies } from './registry.js';
