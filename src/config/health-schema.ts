/**
 * The health keys of a cluster: `healthCheck` (active probes), `outlierDetection`
 * (passive, from real traffic) and `panicThreshold`. Absent sections are off; every key
 * inside a section has a default. Percentages accept "50%" or 50 and come out as numbers.
 */
import { z } from 'zod';
import { hasControl, hostHeader } from './http-schema.js';
import { parseStatusRange } from './status-range.js';
import { parseDuration } from './values.js';

/** "10%", "10" or 10 → 10 (0 to 100). */
export const percent = z
  .union([z.number(), z.string()], { error: 'expected a percentage, e.g. "50%" or 50' })
  .transform((input, ctx) => {
    const text = String(input).trim();
    const match = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text);
    const value = match ? Number(match[1]) : Number.NaN;
    if (Number.isFinite(value) && value >= 0 && value <= 100) return value;
    ctx.addIssue({
      code: 'custom',
      message: `invalid percentage "${text}"; write a value from 0% to 100%, e.g. "50%"`,
    });
    return z.NEVER;
  });

/** One expected status: a number stays a number, a range is normalised to "200-399". */
const statusRange = z
  .union([z.number(), z.string()], { error: 'expected a status code (200) or a range ("200-399")' })
  .transform((input, ctx) => {
    const parsed = parseStatusRange(input);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.message });
      return z.NEVER;
    }
    const [from, to] = parsed.value;
    return from === to ? from : `${from}-${to}`;
  });

const DEFAULT_EXPECTED_STATUS = ['200-399'];

export const httpCheck = z.strictObject({
  path: z
    .string({ error: 'expected a path starting with "/"' })
    .regex(/^\/\S*$/, 'expected a path starting with "/" and without spaces, e.g. "/healthz"')
    .refine((p) => !hasControl(p), 'a path has no control characters (CR, LF, NUL…)')
    .default('/'),
  /** `[200-399]`, `[200, 204]` or a single code; a lone value need not be in a list. */
  expectedStatus: z
    .preprocess(
      (value) => (Array.isArray(value) ? value : [value]),
      z.array(statusRange).min(1, 'list at least one status'),
    )
    .default(DEFAULT_EXPECTED_STATUS),
  /** Host header; defaults to the endpoint's host:port. */
  host: hostHeader.optional(),
});

/** grpc.health.v1.Health/Check over h2c: healthy when the service answers SERVING. */
export const grpcCheck = z.strictObject({
  /** The service name asked about; "" (the default) is the server as a whole. */
  service: z
    .string({ error: 'expected a service name, e.g. "helloworld.Greeter"' })
    .refine((s) => !hasControl(s), 'a service name has no control characters (CR, LF, NUL…)')
    .default(''),
  /** `:authority`; defaults to the endpoint's host:port. */
  authority: hostHeader.optional(),
});

type Duration = z.ZodType<string, string>;

/** Milliseconds, or NaN when the field itself is invalid (already reported there). */
function millis(text: string): number {
  const parsed = parseDuration(text);
  return parsed.ok ? parsed.value : Number.NaN;
}

/**
 * The health fields to spread into the cluster schema. Takes schema.ts's `duration` as an
 * argument so that the two files do not import each other.
 */
export function clusterHealthFields(duration: Duration) {
  const healthCheck = z
    .strictObject({
      interval: duration.default('2s'),
      /** May exceed interval: a check never starts before the previous one has ended. */
      timeout: duration.default('1s'),
      unhealthyThreshold: z.number().int().min(1).max(100).default(2),
      healthyThreshold: z.number().int().min(1).max(100).default(2),
      jitter: percent.default(10),
      /** Connect-only probe: the default when no other probe is given. */
      tcp: z.strictObject({}).optional(),
      http: httpCheck.optional(),
      grpc: grpcCheck.optional(),
    })
    .superRefine((check, ctx) => {
      const probes = (['tcp', 'http', 'grpc'] as const).filter((p) => check[p] !== undefined);
      if (probes.length > 1) {
        ctx.addIssue({
          code: 'custom',
          path: [probes[1]!],
          message: 'choose one probe: "tcp", "http" or "grpc", not two',
        });
      }
      if (millis(check.interval) === 0)
        ctx.addIssue({ code: 'custom', path: ['interval'], message: 'interval must be above 0' });
      if (millis(check.timeout) === 0)
        ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'timeout must be above 0' });
    });

  const outlierDetection = z
    .strictObject({
      /** Connect failures, resets and (L7) 5xx answers in a row that eject an endpoint. */
      consecutiveFailures: z.number().int().min(1).max(10_000).default(5),
      /** Ejection time is this × the number of times ejected, capped at `maxEjectionTime`. */
      baseEjectionTime: duration.default('30s'),
      maxEjectionTime: duration.default('5m'),
      /** Never eject more than this share of the cluster's endpoints. */
      maxEjectionPercent: percent.default(50),
    })
    .superRefine((od, ctx) => {
      if (millis(od.baseEjectionTime) === 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['baseEjectionTime'],
          message: 'baseEjectionTime must be above 0',
        });
      }
      if (millis(od.maxEjectionTime) < millis(od.baseEjectionTime)) {
        ctx.addIssue({
          code: 'custom',
          path: ['maxEjectionTime'],
          message: `maxEjectionTime (${od.maxEjectionTime}) must not be shorter than baseEjectionTime (${od.baseEjectionTime})`,
        });
      }
    });

  return {
    healthCheck: healthCheck.optional(),
    outlierDetection: outlierDetection.optional(),
    /** Below this share of available endpoints the cluster balances across all of them (Envoy panic mode); 0 disables. */
    panicThreshold: percent.default(50),
  };
}

type HealthFields = ReturnType<typeof clusterHealthFields>;
export type HealthCheckConfig = NonNullable<z.output<HealthFields['healthCheck']>>;
export type HttpCheckConfig = z.output<typeof httpCheck>;
export type GrpcCheckConfig = z.output<typeof grpcCheck>;
export type OutlierDetectionConfig = NonNullable<z.output<HealthFields['outlierDetection']>>;
