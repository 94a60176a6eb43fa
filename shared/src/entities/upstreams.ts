import { defineEntity } from '../schema/define.ts'
import type { FieldDef } from '../schema/types.ts'
import { normalizeIp } from './addresses.ts'
import { conditional, distinct, entityChecks, eq, oneOf, type Rule } from './checks.ts'
import { cookieName, headerName, headersMap, hostWithOptionalPort, path, sni } from './typedefs.ts'

export const upstreamAlgorithms = ['consistent-hashing', 'least-connections', 'round-robin', 'latency'] as const
export const hashOnValues = ['none', 'consumer', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture'] as const

const hashOn: FieldDef = { type: 'string', default: 'none', one_of: hashOnValues }
const simpleParam: FieldDef = { type: 'string', len_min: 1 }
const seconds = (d: number): FieldDef => ({ type: 'number', default: d, between: [0, 65535] })
const counter: FieldDef = { type: 'integer', default: 0, between: [0, 255] }
const checkType: FieldDef = { type: 'string', default: 'http', one_of: ['tcp', 'http', 'https', 'grpc', 'grpcs'] }
const httpStatuses = (d: number[]): FieldDef => ({
  type: 'array',
  default: d,
  elements: { type: 'integer', between: [100, 999] },
})
const record = (fields: Record<string, FieldDef>): FieldDef => ({ type: 'record', fields })

/** Kong's health checker settings; zeros disable probing and the circuit breaker. */
export const healthchecksField: FieldDef = record({
  active: record({
    type: checkType,
    timeout: seconds(1),
    concurrency: { type: 'integer', default: 10, between: [1, 2 ** 31] },
    http_path: { ...path, default: '/' },
    https_sni: sni,
    https_verify_certificate: { type: 'boolean', required: true, default: true },
    headers: headersMap,
    healthy: record({ interval: seconds(0), http_statuses: httpStatuses([200, 302]), successes: counter }),
    unhealthy: record({
      interval: seconds(0),
      http_statuses: httpStatuses([429, 404, 500, 501, 502, 503, 504, 505]),
      tcp_failures: counter,
      timeouts: counter,
      http_failures: counter,
    }),
  }),
  passive: record({
    type: checkType,
    healthy: record({
      http_statuses: httpStatuses([
        200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
      ]),
      successes: counter,
    }),
    unhealthy: record({
      http_statuses: httpStatuses([429, 500, 503]),
      tcp_failures: counter,
      timeouts: counter,
      http_failures: counter,
    }),
  }),
  // Percentage of total target weight that must be healthy, else the upstream answers 503.
  threshold: { type: 'number', default: 0, between: [0, 100] },
})

function nameError(v: unknown): string | undefined {
  const s = v as string
  const r = normalizeIp(s)
  if (!r.ok) return `Invalid name ('${s}'); must be a valid hostname`
  if (r.address.type !== 'name') return `Invalid name ('${s}'); no ip addresses allowed`
  if (r.address.port !== undefined) return `Invalid name ('${s}'); no port allowed`
  return undefined
}

const required = (ifField: string, value: string, thenField: string): Rule =>
  conditional({ if_field: ifField, if_match: eq(value), then_field: thenField, then_required: true })
const fallbackOneOf = (hashOnValue: string, allowed: readonly string[]): Rule =>
  conditional({
    if_field: 'hash_on',
    if_match: eq(hashOnValue),
    then_field: 'hash_fallback',
    then_match: oneOf(allowed),
  })

/** Kong's `upstreams`: a virtual host name balancing over targets. */
export const upstreams = defineEntity({
  name: 'upstreams',
  admin_path: 'upstreams',
  endpoint_key: 'name',
  in_snapshot: true,
  fields: {
    name: { type: 'string', required: true, unique: true, custom: nameError },
    algorithm: { type: 'string', default: 'round-robin', one_of: upstreamAlgorithms },
    hash_on: hashOn,
    hash_fallback: hashOn,
    hash_on_header: headerName,
    hash_fallback_header: headerName,
    hash_on_cookie: cookieName,
    hash_on_cookie_path: { ...path, default: '/' },
    hash_on_query_arg: simpleParam,
    hash_fallback_query_arg: simpleParam,
    hash_on_uri_capture: simpleParam,
    hash_fallback_uri_capture: simpleParam,
    slots: { type: 'integer', default: 10000, between: [10, 2 ** 16] },
    healthchecks: healthchecksField,
    host_header: hostWithOptionalPort,
    client_certificate: { type: 'foreign', reference: 'certificates', on_delete: 'restrict' },
    use_srv_name: { type: 'boolean', default: false },
  },
  // Kong keeps `algorithm` and `hash_on` consistent: hashing on anything switches to consistent-hashing,
  // least-connections and latency drop the hash. Order matters: algorithm first, then hash_on.
  shorthands: {
    algorithm: (v) =>
      v === 'least-connections' || v === 'latency' ? { algorithm: v, hash_on: null } : { algorithm: v },
    hash_on: (v) => {
      if (v === null) return { hash_on: 'none' }
      if (v === 'none') return { hash_on: v, algorithm: 'round-robin' }
      return { hash_on: v, algorithm: 'consistent-hashing' }
    },
  },
  checks: [
    entityChecks(
      required('hash_on', 'header', 'hash_on_header'),
      required('hash_fallback', 'header', 'hash_fallback_header'),
      required('hash_on', 'cookie', 'hash_on_cookie'),
      required('hash_fallback', 'cookie', 'hash_on_cookie'),
      fallbackOneOf('none', ['none']),
      // With cookies Kong sets the cookie itself, so there is nothing to fall back to.
      fallbackOneOf('cookie', ['none']),
      fallbackOneOf('consumer', ['none', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture']),
      fallbackOneOf('ip', ['none', 'consumer', 'header', 'cookie', 'path', 'query_arg', 'uri_capture']),
      fallbackOneOf('path', ['none', 'consumer', 'header', 'cookie', 'query_arg', 'ip', 'uri_capture']),
      distinct(['hash_on_header', 'hash_fallback_header']),
      required('hash_on', 'query_arg', 'hash_on_query_arg'),
      required('hash_fallback', 'query_arg', 'hash_fallback_query_arg'),
      distinct(['hash_on_query_arg', 'hash_fallback_query_arg']),
      required('hash_on', 'uri_capture', 'hash_on_uri_capture'),
      required('hash_fallback', 'uri_capture', 'hash_fallback_uri_capture'),
      distinct(['hash_on_uri_capture', 'hash_fallback_uri_capture']),
    ),
  ],
})
