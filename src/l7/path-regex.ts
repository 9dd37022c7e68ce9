/**
 * `match.pathRegex`, compiled with RE2 semantics (re2js, a pure-JS port of RE2), as Envoy's
 * `safe_regex` is: matching takes time linear in the path, whatever the pattern. A
 * backtracking engine (JS `RegExp`) lets one request hold the event loop for seconds with a
 * pattern such as `/files/(a+)+b`, so no config regex is ever run by one. RE2 has no
 * backreferences or lookaround (they are what needs backtracking); `validate` says so.
 */
import { RE2JS } from 're2js';

/** A compiled route regex; the whole path must match (anchored, like Envoy's). */
export interface PathRegex {
  matches(path: string): boolean;
}

const SUFFIX = 'route regexes use RE2 syntax, matched in linear time';

/** What RE2 refuses that a JS regex author is likely to write, named in plain words. */
const UNSUPPORTED: readonly [RegExp, string][] = [
  [/\(\?[=!]/, 'lookahead is not supported'],
  [/\(\?<[=!]/, 'lookbehind is not supported'],
  [/\\[1-9]|\\k</, 'backreferences are not supported'],
];

/** Why `source` cannot be a route regex (for `validate`), or undefined when it can. */
export function pathRegexProblem(source: string): string | undefined {
  try {
    RE2JS.compile(source);
    return undefined;
  } catch (error) {
    for (const [pattern, reason] of UNSUPPORTED) {
      if (pattern.test(source)) return `${reason}: ${SUFFIX}`;
    }
    const detail = (error as Error).message.replace(/^error parsing regexp: /, '');
    return `${detail} (${SUFFIX})`;
  }
}

/** A regex with no special character is one fixed path: compared as a string. */
const LITERAL = /^[A-Za-z0-9/_~%,;:@&=!'"<>-]*$/;

export function compilePathRegex(source: string): PathRegex {
  if (LITERAL.test(source)) return new ExactPath(source);
  return new Re2Path(RE2JS.compile(source));
}

class ExactPath implements PathRegex {
  constructor(private readonly path: string) {}
  matches(path: string): boolean {
    return path === this.path;
  }
}

class Re2Path implements PathRegex {
  constructor(private readonly re: RE2JS) {}
  matches(path: string): boolean {
    return this.re.testExact(path);
  }
}
