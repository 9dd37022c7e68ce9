/**
 * Portside's words for the schema checks that carry no message of their own (a bare
 * `.min(1)`, a type mismatch…). Passed to every parse, so the validation library's own
 * English ("Invalid input: expected number, received string") never reaches a user; a
 * message written in the schema still wins (zod asks this map only when there is none).
 */
import type { z } from 'zod';

type RawIssue = z.core.$ZodRawIssue;

export function issueMessage(issue: RawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'this field is required';
      return `expected ${typeNoun(issue.expected)}, got ${describeValue(issue.input)}`;
    case 'too_small':
      return bound(issue.origin, 'small', Number(issue.minimum), issue.inclusive !== false);
    case 'too_big':
      return bound(issue.origin, 'big', Number(issue.maximum), issue.inclusive !== false);
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${JSON.stringify(issue.values[0])}, got ${describeValue(issue.input)}`
        : `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}; got ${describeValue(issue.input)}`;
    case 'invalid_format':
      return issue.pattern
        ? `${describeValue(issue.input)} does not have the expected form (${issue.pattern})`
        : `${describeValue(issue.input)} is not a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_union':
      return `${describeValue(issue.input)} is not one of the accepted forms of this field`;
    case 'invalid_key':
      return `invalid key ${describeValue(issue.input)}`;
    case 'invalid_element':
      return `invalid entry ${describeValue(issue.input)}`;
    default:
      return 'invalid value';
  }
}

function typeNoun(expected: string): string {
  switch (expected) {
    case 'int':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'string':
      return 'text';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'a mapping of keys to values';
    case 'array':
      return 'a list';
    default:
      return expected;
  }
}

function bound(origin: string, side: 'small' | 'big', limit: number, inclusive: boolean): string {
  const words = side === 'small' ? ['at least', 'above'] : ['at most', 'below'];
  const relation = inclusive ? words[0] : words[1];
  switch (origin) {
    case 'array':
      return side === 'small' && limit === 1
        ? 'list at least one entry'
        : `list ${relation} ${limit} entr${limit === 1 ? 'y' : 'ies'}`;
    case 'string':
      return side === 'small' && limit === 1
        ? 'must not be empty'
        : `must be ${relation} ${limit} character${limit === 1 ? '' : 's'} long`;
    default:
      return `must be ${relation} ${limit}`;
  }
}

/** A value as a user would recognise it in their file: `"abc"`, 12, true, a list, a mapping. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value (null)';
  if (typeof value === 'string') return `"${value.length > 60 ? `${value.slice(0, 57)}...` : value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}
