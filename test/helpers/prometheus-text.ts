/**
 * A strict parser for the Prometheus text exposition format (version 0.0.4), so tests
 * assert on parsed samples rather than substrings, and fail on malformed output.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created'];

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const family = (name: string) => {
    const existing = families.get(name);
    if (existing) return existing;
    const created: MetricFamily = { name, type: 'untyped', help: '', samples: [] };
    families.set(name, created);
    return created;
  };
  text.split('\n').forEach((line, index) => {
    const where = `line ${index + 1}: ${line}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (!m) return; // plain comment
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]!))
          throw new Error(`bad TYPE, ${where}`);
        family(m[2]!).type = m[3]!;
      } else family(m[2]!).help = m[3]!;
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`malformed sample, ${where}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const l = LABEL.exec(body);
      if (!l) throw new Error(`malformed labels, ${where}`);
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    // Prometheus parses values with Go's ParseFloat: Inf and NaN in any letter case.
    const raw = m[3]!.toLowerCase();
    const value = /^[+-]?inf$/.test(raw)
      ? raw.startsWith('-')
        ? -Infinity
        : Infinity
      : raw === 'nan'
        ? NaN
        : Number(raw);
    if (Number.isNaN(value) && raw !== 'nan') throw new Error(`bad value, ${where}`);
    const name = m[1]!;
    const base = families.has(name)
      ? name
      : (SUFFIXES.map((s) => (name.endsWith(s) ? name.slice(0, -s.length) : '')).find(
          (b) => b && families.has(b),
        ) ?? name);
    family(base).samples.push({ name, labels, value });
  });
  return families;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when none. */
export function sampleValue(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
