/** The one progress line on stderr: rewritten in place on a terminal, one line per step otherwise. */
import type { Sample } from './measure.js';

export function headline(sample: Sample): string {
  if (sample.error) return `error: ${sample.error.split('\n')[0]}`;
  if (sample.bulk) return `${sample.bulk.mbPerSec.toFixed(0)} MB/s`;
  const http = sample.http!;
  const memory = sample.memory ? ` · ${(sample.memory.perConnectionBytes / 1024).toFixed(1)} KiB/conn` : '';
  const p99 = Number.isFinite(http.p99Ms) ? `${http.p99Ms.toFixed(2)} ms` : 'n/a';
  return `${Math.round(http.reqPerSec).toLocaleString('en-US')} req/s · p99 ${p99}${memory}`;
}

export class Progress {
  private step = 0;
  private readonly started = Date.now();
  private readonly tty = process.stderr.isTTY === true;

  constructor(private readonly total: number) {}

  private write(text: string, final: boolean): void {
    const line = `[${this.step}/${this.total} ${Math.round((Date.now() - this.started) / 1000)}s] ${text}`;
    if (this.tty) process.stderr.write(`\r\x1b[K${line}${final ? '\n' : ''}`);
    else if (final) process.stderr.write(`${line}\n`);
  }

  note(text: string): void {
    this.write(text, false);
  }

  start(text: string): void {
    this.step++;
    this.current = text;
    this.write(`${text} …`, false);
  }

  private current = '';

  done(sample: Sample): void {
    this.write(`${this.current} → ${headline(sample)}`, !this.tty || sample.error !== undefined);
  }

  finish(): void {
    if (this.tty) process.stderr.write('\n');
  }
}
