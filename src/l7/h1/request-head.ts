/**
 * A client's request head (RFC 9112 §3): request line and fields, validated in one pass.
 * Also records what routing and forwarding ask for again and again (host, framing,
 * x-request-id, x-forwarded-for), so they need no second lookup.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { allIn, isHostValue, latin1Bytes, TARGET, TOKEN } from './chars.js';
import { type HeadError, MessageHead } from './fields.js';

export class RequestHead extends MessageHead {
  method = '';
  /** The request target as sent (origin-form or absolute-form). */
  target = '';
  host: string | undefined = undefined;
  upgrade: string | undefined = undefined;
  expectContinue = false;
  requestId: string | undefined = undefined;
  forwardedFor: string | undefined = undefined;
  private record: IncomingHttpHeaders | undefined = undefined;

  get hasBody(): boolean {
    return this.chunked || this.contentLength > 0;
  }

  /**
   * Asks for a protocol switch (WebSocket and the like): forwarded with its upgrade fields,
   * and tunnelled only if the upstream answers 101. HTTP/1.0 has no upgrades (RFC 9110 §7.8).
   * `Upgrade: h2c` is not one (as in Envoy): the request goes on as HTTP/1.1 without it, since
   * HTTP/2 reaches Portside with prior knowledge instead.
   */
  get isUpgrade(): boolean {
    return this.http11 && this.connectionUpgrade && this.upgrade !== undefined && !isH2cUpgrade(this.upgrade);
  }

  /**
   * Fields as Node's `req.headers` has them (duplicates joined with ", ", set-cookie as a
   * list), for route header matches and hash keys; built on first use only.
   */
  get headers(): IncomingHttpHeaders {
    if (this.record !== undefined) return this.record;
    const record = Object.create(null) as Record<string, string | string[]>;
    const fields = this.fields;
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      const seen = record[name];
      if (name === 'set-cookie') {
        if (seen === undefined) record[name] = [value];
        else (seen as string[]).push(value);
      } else record[name] = seen === undefined ? value : `${seen}, ${value}`;
    }
    this.record = record as IncomingHttpHeaders;
    return this.record;
  }

  protected onField(name: string, value: string): HeadError | undefined {
    switch (name) {
      case 'host':
        if (this.host !== undefined) return 'more than one host';
        this.host = value;
        // Empty is checked once the version is known (allowed, as no host, in HTTP/1.0).
        if (value !== '' && !isHostValue(value)) return 'invalid host';
        return undefined;
      case 'upgrade':
        this.upgrade = value;
        return undefined;
      case 'expect':
        if (value.toLowerCase() === '100-continue') this.expectContinue = true;
        return undefined;
      case 'x-request-id':
        this.requestId ??= value === '' ? undefined : value;
        return undefined;
      case 'x-forwarded-for':
        this.forwardedFor = this.forwardedFor === undefined ? value : `${this.forwardedFor}, ${value}`;
        return undefined;
      default:
        return undefined;
    }
  }

  /**
   * Parses `text`: the request line and field lines, each ending with CRLF. `bytes` from
   * `base` holds the same head as bytes (the reader has them; validation reads them).
   */
  parse(text: string, bytes: Uint8Array = latin1Bytes(text), base = 0): HeadError | undefined {
    const eol = text.indexOf('\r\n');
    const sp1 = text.indexOf(' ');
    if (sp1 <= 0 || sp1 > eol) return 'invalid request line';
    const sp2 = text.indexOf(' ', sp1 + 1);
    if (sp2 === sp1 + 1) return 'more than one space in the request line';
    if (sp2 < 0 || sp2 > eol) return 'invalid request line';
    if (!allIn(TOKEN, bytes, base, base + sp1)) return 'invalid method';
    if (!allIn(TARGET, bytes, base + sp1 + 1, base + sp2)) return 'invalid request target';
    const version = text.slice(sp2 + 1, eol);
    if (version === 'HTTP/1.1') this.http11 = true;
    else if (version === 'HTTP/1.0') this.http11 = false;
    else return 'unsupported HTTP version';
    this.method = text.slice(0, sp1);
    this.target = text.slice(sp1 + 1, sp2);
    const error = this.parseFields(text, eol + 2, bytes, base);
    if (error !== undefined) return error;
    // RFC 9112 §3.2: an HTTP/1.1 request needs exactly one valid Host; nginx refuses an empty one too.
    if (this.http11 && (this.host === undefined || this.host === '')) return 'HTTP/1.1 request without host';
    if (this.host === '') this.host = undefined;
    if (!this.http11 && this.chunked) return 'transfer-encoding in an HTTP/1.0 request';
    return undefined;
  }
}

/** `h2c`, alone or first in the list: the HTTP/1.1 → HTTP/2 upgrade RFC 9113 removed. */
function isH2cUpgrade(value: string): boolean {
  const token = value.split(',')[0]!.trim().toLowerCase();
  return token === 'h2c';
}
