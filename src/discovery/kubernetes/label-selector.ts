/**
 * Kubernetes label selectors, as `kubectl get -l` takes them: `app=web,tier!=cache`,
 * `env in (prod, staging)`, `team notin (x)`, `exposed`, `!internal`. Every term must hold.
 * Applied by Portside to the Services it already watches (the catalog), so a selector
 * costs no API request and no connection of its own.
 */

export type Labels = Readonly<Record<string, string>>;

type Term =
  | { key: string; op: 'in' | 'notin'; values: readonly string[] }
  | { key: string; op: 'exists' | 'absent' };

export interface LabelSelector {
  readonly text: string;
  matches(labels: Labels | undefined): boolean;
}

/** Keys as Kubernetes allows them: an optional DNS prefix and `/`, then a name of up to 63 characters. */
const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const SET_TERM = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/;
const EQUALITY_TERM = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/;

/** Parses `text`; the error says which term is wrong. */
export function parseLabelSelector(text: string): { selector: LabelSelector } | { error: string } {
  const terms: Term[] = [];
  for (const raw of splitTerms(text)) {
    const term = raw.trim();
    if (term === '') return { error: 'empty term (two commas, or a comma at an end)' };
    const parsed = parseTerm(term);
    if (typeof parsed === 'string') return { error: `"${term}": ${parsed}` };
    terms.push(parsed);
  }
  return { selector: { text, matches: (labels) => terms.every((t) => holds(t, labels)) } };
}

/** Commas inside `( )` separate values, not terms. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

function parseTerm(term: string): Term | string {
  const set = SET_TERM.exec(term);
  if (set) {
    const [, key, op, list] = set as unknown as [string, string, 'in' | 'notin', string];
    const values = list.split(',').map((v) => v.trim());
    if (!KEY.test(key)) return `invalid label key "${key}"`;
    const bad = values.find((v) => v === '' || !VALUE.test(v));
    if (bad !== undefined) return `invalid value "${bad}" in the list`;
    return { key, op, values };
  }
  const equality = EQUALITY_TERM.exec(term);
  if (equality) {
    const [, key, op, value] = equality as unknown as [string, string, string, string];
    if (!KEY.test(key)) return `invalid label key "${key}"`;
    if (!VALUE.test(value)) return `invalid label value "${value}"`;
    return { key, op: op === '!=' ? 'notin' : 'in', values: [value] };
  }
  const negated = term.startsWith('!');
  const key = negated ? term.slice(1).trim() : term;
  if (!KEY.test(key)) return 'expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key';
  return { key, op: negated ? 'absent' : 'exists' };
}

function holds(term: Term, labels: Labels | undefined): boolean {
  const value = labels?.[term.key];
  switch (term.op) {
    case 'exists':
      return value !== undefined;
    case 'absent':
      return value === undefined;
    case 'in':
      return value !== undefined && term.values.includes(value);
    case 'notin':
      return value === undefined || !term.values.includes(value);
  }
}
