/**
 * Ratios between targets of the same run, for the report: a scenario's subject against every
 * other target (Portside default logging against quiet Portside, nginx and HAProxy logging;
 * two workers against one), and each Portside variant (`@node26`, `@base`) against the same
 * target on the bench's own Node and build.
 */
import type { Row } from './summary.js';

/** `a / b` of two medians, as "0.83×"; "–" when either is missing. */
function times(a: number | undefined, b: number | undefined): string {
  return a !== undefined && b ? `${(a / b).toFixed(2)}×` : '–';
}

/**
 * Requests per second, and requests per core (the inverse ratio of CPU per request: steadier
 * on a shared machine, and what a core buys when the load generator caps req/s).
 */
function ratioCells(mine: Row, other: Row): string {
  const perCore = times(other.cpuUsPerRequest?.median, mine.cpuUsPerRequest?.median);
  return `${times(mine.reqPerSec?.median, other.reqPerSec?.median)} | ${perCore}`;
}

/** `@node26` of `portside-l7@node26`; "" for a target on the bench's own Node and build. */
const suffixOf = (target: string) => (target.includes('@') ? target.slice(target.indexOf('@')) : '');

/**
 * The subject's req/s and per-core figures over each other target's, tool by tool. A variant
 * of the subject (`portside-l7-default@node26`) is set against the targets of the same variant
 * only (`portside-l7@node26`): across Nodes that is the variants table's business.
 */
export function subjectTable(rows: Row[], subject: string): string[] {
  const lines: string[] = [];
  for (const mine of rows.filter((r) => r.target === subject || r.target.startsWith(`${subject}@`))) {
    const suffix = suffixOf(mine.target);
    const others = rows.filter(
      (r) => r.target !== mine.target && r.tool === mine.tool && suffixOf(r.target) === suffix,
    );
    for (const other of others) {
      lines.push(`| ${mine.target} | ${other.target} | ${mine.tool} | ${ratioCells(mine, other)} |`);
    }
  }
  if (lines.length === 0) return [];
  return [
    '',
    `\`${subject}\` against each target (its figure over theirs; per core: their CPU per request over its):`,
    '',
    '| subject | against | tool | req/s | req/s per core |',
    '| --- | --- | --- | --- | --- |',
    ...lines,
  ];
}

/** The target a variant is compared with: `portside-l7@node26` → `portside-l7`. */
const baseOf = (target: string) => target.slice(0, target.length - suffixOf(target).length);

/**
 * Every variant row against its base row in the same scenario and tool: req/s, per core, p99.
 * Empty when the run had no variants.
 */
export function variantsTable(rows: Row[]): string[] {
  const lines: string[] = [];
  for (const variant of rows.filter((r) => r.target.includes('@'))) {
    const base = rows.find(
      (r) =>
        r.scenario === variant.scenario && r.tool === variant.tool && r.target === baseOf(variant.target),
    );
    if (!base || (!variant.reqPerSec && !variant.mbPerSec)) continue;
    const p99 = (r: Row) => (r.p99Ms ? r.p99Ms.median.toFixed(2) : '–');
    const mb = variant.mbPerSec ? times(variant.mbPerSec.median, base.mbPerSec?.median) : undefined;
    const speed = mb ?? times(variant.reqPerSec?.median, base.reqPerSec?.median);
    const cpu = mb
      ? times(base.cpuMsPerMb?.median, variant.cpuMsPerMb?.median)
      : times(base.cpuUsPerRequest?.median, variant.cpuUsPerRequest?.median);
    lines.push(
      `| ${variant.scenario} | ${variant.tool} | ${variant.target} | ${speed} | ${cpu} | ${p99(variant)} / ${p99(base)} |`,
    );
  }
  if (lines.length === 0) return [];
  return [
    '',
    '### Portside variants against the same target (`@node…`: another Node; `@base`: `--compare`)',
    '',
    'The variant over the target on the bench’s own Node and build, in the same run (l4-bulk: MB/s and CPU per MB).',
    '',
    '| scenario | tool | variant | req/s | req/s per core | p99 ms variant / base |',
    '| --- | --- | --- | --- | --- | --- |',
    ...lines,
  ];
}
