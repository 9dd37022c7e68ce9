/**
 * Reading EndpointSlices and Services into small plain values. The client hands us class
 * instances (with `Date` fields) from a list and plain JSON from a watch; both are read here
 * field by field, so the rest of the code sees one shape, and anything malformed is reported
 * instead of thrown.
 */
import { isIP } from 'node:net';

export interface SliceEndpoint {
  readonly addresses: readonly string[];
  /** Conditions as Kubernetes sends them; absent means unknown (`ready` absent counts as ready). */
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
  readonly nodeName?: string;
  readonly zone?: string;
}

export interface SlicePort {
  /** Empty for the single unnamed port of a Service. */
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
}

export interface EndpointSliceInfo {
  readonly name: string;
  /** The `kubernetes.io/service-name` label: the Service this slice belongs to. */
  readonly service?: string | undefined;
  readonly addressType: string;
  readonly ports: readonly SlicePort[];
  readonly endpoints: readonly SliceEndpoint[];
}

export interface ServicePortInfo {
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
}

export interface ServiceInfo {
  readonly name: string;
  readonly ports: readonly ServicePortInfo[];
  /** Its labels, for the catalog's selector; absent when it has none. */
  readonly labels?: Readonly<Record<string, string>>;
}

export type ParseResult<T> = { ok: true; value: T; warnings: string[] } | { ok: false; problem: string };

type Fields = Record<string, unknown>;

export const SERVICE_LABEL = 'kubernetes.io/service-name';

function fields(value: unknown): Fields | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : undefined;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function optionalBoolean(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

/** `metadata.name` of any object, or undefined when it has none. */
export function objectName(object: unknown): string | undefined {
  return optionalString(fields(fields(object)?.metadata)?.name);
}

export function parseEndpointSlice(object: unknown): ParseResult<EndpointSliceInfo> {
  const slice = fields(object);
  const name = objectName(object);
  if (!slice || !name) return { ok: false, problem: 'EndpointSlice without metadata.name' };
  const addressType = optionalString(slice.addressType) ?? 'IPv4';
  const warnings: string[] = [];

  const ports: SlicePort[] = [];
  if (slice.ports !== undefined && slice.ports !== null && !Array.isArray(slice.ports)) {
    return { ok: false, problem: 'ports is not a list' };
  }
  for (const [i, raw] of ((slice.ports as unknown[] | null) ?? []).entries()) {
    const port = fields(raw);
    if (!port || !isPort(port.port)) {
      warnings.push(`ports[${i}] has no valid port number; skipped`);
      continue;
    }
    ports.push({
      name: optionalString(port.name) ?? '',
      port: port.port,
      protocol: optionalString(port.protocol) ?? 'TCP',
    });
  }

  if (slice.endpoints !== undefined && slice.endpoints !== null && !Array.isArray(slice.endpoints)) {
    return { ok: false, problem: 'endpoints is not a list' };
  }
  const endpoints: SliceEndpoint[] = [];
  for (const [i, raw] of ((slice.endpoints as unknown[] | null) ?? []).entries()) {
    const endpoint = fields(raw);
    const addresses = Array.isArray(endpoint?.addresses) ? (endpoint.addresses as unknown[]) : [];
    const valid = addresses.filter((a): a is string => typeof a === 'string' && isIP(a) !== 0);
    if (!endpoint || valid.length === 0) {
      warnings.push(`endpoints[${i}] has no valid IP address; skipped`);
      continue;
    }
    if (valid.length < addresses.length)
      warnings.push(`endpoints[${i}] has invalid addresses; they were skipped`);
    const conditions = fields(endpoint.conditions) ?? {};
    endpoints.push({
      // Exactly sized: a filtered or pushed-to array keeps room for 16 more elements, which
      // at 100,000 endpoints is most of discovery's memory.
      addresses: valid.slice(),
      ready: optionalBoolean(conditions.ready),
      serving: optionalBoolean(conditions.serving),
      terminating: optionalBoolean(conditions.terminating),
      nodeName: optionalString(endpoint.nodeName),
      zone: optionalString(endpoint.zone),
    });
  }
  const service = optionalString(fields(fields(slice.metadata)?.labels)?.[SERVICE_LABEL]);
  return {
    ok: true,
    value: { name, service, addressType, ports: ports.slice(), endpoints: endpoints.slice() },
    warnings,
  };
}

export function parseService(object: unknown): ParseResult<ServiceInfo> {
  const name = objectName(object);
  const spec = fields(fields(object)?.spec);
  if (!name) return { ok: false, problem: 'Service without metadata.name' };
  if (!spec || !Array.isArray(spec.ports)) return { ok: false, problem: 'Service without spec.ports' };
  const warnings: string[] = [];
  const ports: ServicePortInfo[] = [];
  for (const [i, raw] of (spec.ports as unknown[]).entries()) {
    const port = fields(raw);
    if (!port || !isPort(port.port)) {
      warnings.push(`spec.ports[${i}] has no valid port number; skipped`);
      continue;
    }
    ports.push({
      name: optionalString(port.name) ?? '',
      port: port.port,
      protocol: optionalString(port.protocol) ?? 'TCP',
    });
  }
  const labels = stringRecord(fields(fields(fields(object)?.metadata)?.labels));
  return { ok: true, value: labels ? { name, ports, labels } : { name, ports }, warnings };
}

/** The string entries of a mapping (labels), or undefined when there are none. */
function stringRecord(value: Fields | undefined): Record<string, string> | undefined {
  if (!value) return undefined;
  let result: Record<string, string> | undefined;
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') continue;
    result ??= {};
    result[key] = entry;
  }
  return result;
}
