/**
 * "Did you mean" for names, keys and commands. Free of the schema and the YAML parser so
 * that the CLI can suggest a command without loading them.
 */

/** The known name nearest to `input`, when it is at most two edits away (case ignored). */
export function nearest(input: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  const lower = input.toLowerCase();
  for (const candidate of known) {
    // A difference of case alone counts as half an edit: `healthcheck` → `healthCheck`.
    const d = candidate.toLowerCase() === lower ? 0.5 : editDistance(input, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** ` (did you mean "x"?)` when a known name is one or two edits away, else ''. */
export function suggest(input: string, known: Iterable<string>): string {
  const best = nearest(input, known);
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
