/**
 * The header section shared by requests and responses (RFC 9112 §5): one pass over the
 * latin1 text of a head that validates every field line and pulls out what framing and
 * forwarding need. Strict on purpose: anything that two parsers could read differently
 * (obs-fold, bare CR/LF, whitespace before the colon, conflicting lengths, CL with TE) is
 * an error, because a proxy that is lenient here is one half of a smuggling attack.
 */
import { allIn, CR, FIELD_VALUE, HTAB, LF, parseLength, SP, TOKEN } from './chars.js';
import { knownName } from './field-names.js';

const COLON = 0x3a;

/** Why a head was refused (logged at debug; the client sees a 400 or the request a 502). */
export type HeadError = string;

export abstract class MessageHead {
  /** Every field in arrival order: [lower-case name, value, ...]. */
  readonly fields: string[] = [];
  /** Number of field lines (duplicates included). */
  fieldCount = 0;
  /** -1 when absent. */
  contentLength = -1;
  chunked = false;
  connectionClose = false;
  connectionKeepAlive = false;
  connectionUpgrade = false;
  /** Other names listed by Connection: hop-by-hop for this message only. */
  connectionNames: string[] | undefined = undefined;
  /** HTTP/1.1 (false: HTTP/1.0). */
  http11 = true;
  /**
   * Where each field line starts in the parsed bytes, and one entry past the last line:
   * line `k` (fields `2k`, `2k + 1`) is `bytes[lines[k], lines[k + 1])` with its CRLF.
   * Kept only by heads that forward their lines as bytes (null: not recorded).
   */
  lines: number[] | null = null;

  /** Handles fields this kind of message cares about; returns an error to refuse the head. */
  protected abstract onField(name: string, value: string): HeadError | undefined;

  /**
   * Parses the field lines of `text` from `pos` (each line ends with CRLF; the empty line
   * that ends the head is not part of `text`). `bytes[base + i]` is the byte of `text[i]`:
   * lines are scanned on the bytes, each byte once, without string searches (V8's
   * `indexOf` on strings cost more than all the rest of this loop).
   */
  protected parseFields(text: string, pos: number, bytes: Uint8Array, base: number): HeadError | undefined {
    const end = base + text.length;
    const fields = this.fields;
    const lines = this.lines;
    let at = base + pos;
    while (at < end) {
      const nameStart = at;
      lines?.push(nameStart);
      while (at < end && TOKEN[bytes[at]!] === 1) at++;
      if (at === nameStart || at === end || bytes[at] !== COLON)
        return lineError(text, nameStart - base, bytes, base);
      const colon = at;
      at++;
      while (at < end && FIELD_VALUE[bytes[at]!] === 1) at++;
      // Values hold no CR or LF, so the scan stops at the line's end unless a byte is invalid.
      if (at + 1 >= end || bytes[at] !== CR || bytes[at + 1] !== LF)
        return lineError(text, nameStart - base, bytes, base);
      let from = colon + 1;
      let to = at;
      while (from < to && isOws(bytes[from]!)) from++;
      while (to > from && isOws(bytes[to - 1]!)) to--;
      const name =
        knownName(bytes, nameStart, colon) ?? text.slice(nameStart - base, colon - base).toLowerCase();
      const value = text.slice(from - base, to - base);
      fields.push(name, value);
      this.fieldCount++;
      const error = this.framingField(name, value) ?? this.onField(name, value);
      if (error !== undefined) return error;
      at += 2;
    }
    lines?.push(end);
    if (this.chunked && this.contentLength >= 0) return 'both content-length and transfer-encoding';
    return undefined;
  }

  private framingField(name: string, value: string): HeadError | undefined {
    switch (name) {
      case 'content-length': {
        const length = lengthOf(value);
        if (length < 0) return 'invalid content-length';
        if (this.contentLength >= 0 && this.contentLength !== length) return 'conflicting content-length';
        this.contentLength = length;
        return undefined;
      }
      case 'transfer-encoding':
        // Only plain chunked is forwarded: other codings would need the proxy to decode them.
        if (this.chunked || value.toLowerCase() !== 'chunked') return 'unsupported transfer-encoding';
        this.chunked = true;
        return undefined;
      case 'connection':
        this.connectionTokens(value);
        return undefined;
      default:
        return undefined;
    }
  }

  private connectionTokens(value: string): void {
    let start = 0;
    while (start <= value.length) {
      let comma = value.indexOf(',', start);
      if (comma < 0) comma = value.length;
      const token = value.slice(start, comma).trim().toLowerCase();
      if (token === 'close') this.connectionClose = true;
      else if (token === 'keep-alive') this.connectionKeepAlive = true;
      else if (token === 'upgrade') this.connectionUpgrade = true;
      else if (token !== '') {
        this.connectionNames ??= [];
        this.connectionNames.push(token);
      }
      start = comma + 1;
    }
  }

  /** Whether the sender wants the connection kept open after this message. */
  get keepAlive(): boolean {
    return this.http11 ? !this.connectionClose : this.connectionKeepAlive && !this.connectionClose;
  }

  /** First value of a field by lower-case name. */
  get(name: string): string | undefined {
    const fields = this.fields;
    for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
    return undefined;
  }
}

/** Why the field line at `text[pos]` is refused (the fast scan only knows that it is). */
function lineError(text: string, pos: number, bytes: Uint8Array, base: number): HeadError {
  const eol = text.indexOf('\r\n', pos);
  if (eol < 0) return 'field line without CRLF';
  const colon = text.indexOf(':', pos);
  if (colon <= pos || colon > eol) {
    return text.charCodeAt(pos) === SP || text.charCodeAt(pos) === HTAB
      ? 'obs-fold (a field line starting with whitespace)'
      : 'field line without a name and colon';
  }
  if (!allIn(TOKEN, bytes, base + pos, base + colon)) return 'invalid character in a field name';
  return 'invalid character in a field value';
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/** `5` or `5, 5` (RFC 9110 §8.6 allows a list of identical values); -1 when invalid. */
function lengthOf(value: string): number {
  if (value.indexOf(',') < 0) return parseLength(value);
  let length = -1;
  for (const part of value.split(',')) {
    const n = parseLength(part.trim());
    if (n < 0 || (length >= 0 && n !== length)) return -1;
    length = n;
  }
  return length;
}
