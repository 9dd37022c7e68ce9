import type { ClusterConfig } from '../config/schema.js';
import type { Picker } from './picker.js';
import { RoundRobinPicker } from './round-robin.js';

/** The picker for a cluster's `balancing` config. */
export function createPicker(_balancing: ClusterConfig['balancing']): Picker {
  return new RoundRobinPicker();
}
