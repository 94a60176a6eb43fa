/**
 * Validates a snapshot's entities before anything is compiled, using the shared entity definitions for field rules,
 * so one bad row rejects the whole snapshot (and the old config keeps serving).
 */
import {
  type ConfigEntities,
  type EntityDef,
  type EntityRow,
  flattenErrors,
  routes as routeDef,
  services as serviceDef,
  targets as targetDef,
  upstreams as upstreamDef,
  validateField,
} from '@turnpike/shared'
import type {
  CaCertificateRow,
  CertificateRow,
  ConfigRows,
  RouteRow,
  ServiceRow,
  SniRow,
  TargetRow,
  UpstreamRow,
} from './entity-rows.ts'

export type ValidationOutcome = { ok: true; rows: ConfigRows } | { ok: false; errors: string[] }

const MAX_ERRORS = 20

const SERVICE_FIELDS = [
  'name',
  'protocol',
  'host',
  'port',
  'path',
  'retries',
  'connect_timeout',
  'read_timeout',
  'write_timeout',
  'tls_verify',
  'tls_verify_depth',
  'ca_certificates',
  'enabled',
] as const

const ROUTE_FIELDS = [
  'name',
  'protocols',
  'methods',
  'hosts',
  'paths',
  'headers',
  'snis',
  'regex_priority',
  'strip_path',
  'preserve_host',
  'path_handling',
  'https_redirect_status_code',
  'request_buffering',
  'response_buffering',
] as const

/** Every upstream field the balancer reads; `client_certificate` is a reference, read apart. */
const UPSTREAM_FIELDS = Object.keys(upstreamDef.fields).filter((f) => f !== 'client_certificate')

/** Reads the listed fields through their definitions: defaults filled, values checked. */
function readFields(def: EntityDef, raw: EntityRow, names: readonly string[], errors: Record<string, unknown>) {
  const out: Record<string, unknown> = {}
  for (const name of names) {
    const field = def.fields[name]
    let value = raw[name]
    if (value === undefined || value === null)
      value = field.default !== undefined ? structuredClone(field.default) : null
    if (value === null) {
      if (field.required) errors[name] = 'required field missing'
      out[name] = null
      continue
    }
    const r = validateField(field, value)
    if (r.error !== undefined) errors[name] = r.error
    else out[name] = r.value
  }
  return out
}

function runChecks(def: EntityDef, row: Record<string, unknown>, errors: Record<string, unknown>): void {
  for (const check of def.checks ?? []) {
    const res = check(row)
    if (typeof res === 'string') errors['@entity'] = [res]
    else if (res) Object.assign(errors, res)
  }
}

/** A foreign key, whether the row carries Kong's `field: {id}` or a flat `field_id`; undefined when malformed. */
function foreignRef(raw: EntityRow, field: string): string | null | undefined {
  const ref = raw[field]
  if (ref && typeof ref === 'object' && typeof (ref as { id?: unknown }).id === 'string')
    return (ref as { id: string }).id
  const flat = raw[`${field}_id`]
  if (typeof flat === 'string') return flat
  if (ref == null && flat == null) return null
  return undefined
}

const serviceRef = (raw: EntityRow) => foreignRef(raw, 'service')

const optionalString = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null)

/**
 * TLS material (certificates, snis, ca_certificates), read generically: their field rules live in the shared
 * definitions the control plane applies; here only what the proxy relies on is checked, and references resolved.
 */
function readTlsMaterial(
  entities: ConfigEntities,
  errors: string[],
  report: (label: string, fieldErrors: Record<string, unknown>) => void,
): { certificates: CertificateRow[]; snis: SniRow[]; ca_certificates: CaCertificateRow[] } {
  const certificates: CertificateRow[] = []
  const certIds = new Set<string>()
  for (const [i, raw] of collection(entities, 'certificates', errors).entries()) {
    const id = typeof raw?.id === 'string' ? raw.id : ''
    const fieldErrors: Record<string, unknown> = {}
    if (id === '') fieldErrors.id = 'required field missing'
    if (typeof raw?.cert !== 'string' || raw.cert === '') fieldErrors.cert = 'required field missing'
    if (typeof raw?.key !== 'string' || raw.key === '') fieldErrors.key = 'required field missing'
    report(`certificates[${id || i}]`, fieldErrors)
    if (Object.keys(fieldErrors).length) continue
    certIds.add(id)
    certificates.push({
      id,
      cert: raw.cert as string,
      key: raw.key as string,
      cert_alt: optionalString(raw.cert_alt),
      key_alt: optionalString(raw.key_alt),
    })
  }
  const snis: SniRow[] = []
  const names = new Set<string>()
  for (const [i, raw] of collection(entities, 'snis', errors).entries()) {
    const name = typeof raw?.name === 'string' ? raw.name.toLowerCase() : ''
    const certificate_id = foreignRef(raw, 'certificate')
    const fieldErrors: Record<string, unknown> = {}
    if (name === '') fieldErrors.name = 'required field missing'
    else if (names.has(name)) fieldErrors.name = 'duplicate sni name'
    if (typeof certificate_id !== 'string') fieldErrors.certificate = 'expected a record with an id'
    else if (!certIds.has(certificate_id))
      fieldErrors.certificate = `certificate ${certificate_id} does not exist in this snapshot`
    report(`snis[${name || i}]`, fieldErrors)
    names.add(name)
    if (Object.keys(fieldErrors).length === 0) snis.push({ name, certificate_id: certificate_id as string })
  }
  const ca_certificates: CaCertificateRow[] = []
  for (const [i, raw] of collection(entities, 'ca_certificates', errors).entries()) {
    const id = typeof raw?.id === 'string' ? raw.id : ''
    const fieldErrors: Record<string, unknown> = {}
    if (id === '') fieldErrors.id = 'required field missing'
    if (typeof raw?.cert !== 'string' || raw.cert === '') fieldErrors.cert = 'required field missing'
    report(`ca_certificates[${id || i}]`, fieldErrors)
    if (Object.keys(fieldErrors).length === 0) ca_certificates.push({ id, cert: raw.cert as string })
  }
  return { certificates, snis, ca_certificates }
}

function collection(entities: ConfigEntities, name: string, errors: string[]): EntityRow[] {
  const rows = entities[name] ?? []
  if (!Array.isArray(rows)) {
    errors.push(`${name}: expected an array`)
    return []
  }
  return rows
}

/** The rows of the live (already validated) config, and the part hashes they were read from. */
export interface ValidatedBase {
  readonly rows: ConfigRows
  readonly partHashes: Readonly<Record<string, string>>
}

/** Whether every named collection has the same part hash in `next` as in `base` (so the same content). */
export function samePartHashes(
  next: Readonly<Record<string, string>> | undefined,
  base: Readonly<Record<string, string>> | undefined,
  names: readonly string[],
): boolean {
  if (!next || !base) return false
  return names.every((n) => next[n] !== undefined && next[n] === base[n])
}

/** A service's references to TLS material: empty when they all resolve. */
function serviceRefErrors(
  ca_certificates: readonly string[] | null,
  client_certificate_id: string | null | undefined,
  caIds: ReadonlySet<string>,
  certIds: ReadonlySet<string>,
): Record<string, unknown> {
  const fieldErrors: Record<string, unknown> = {}
  const missingCa = ca_certificates?.find((id) => !caIds.has(id))
  if (missingCa !== undefined)
    fieldErrors.ca_certificates = `ca_certificate ${missingCa} does not exist in this snapshot`
  if (client_certificate_id === undefined) fieldErrors.client_certificate = 'expected a record with an id'
  else if (client_certificate_id !== null && !certIds.has(client_certificate_id))
    fieldErrors.client_certificate = `certificate ${client_certificate_id} does not exist in this snapshot`
  return fieldErrors
}

function routeRefErrors(service_id: string | null | undefined, serviceIds: ReadonlySet<string>) {
  const fieldErrors: Record<string, unknown> = {}
  if (service_id === undefined) fieldErrors.service = 'expected a record with an id'
  else if (service_id !== null && !serviceIds.has(service_id))
    fieldErrors.service = `service ${service_id} does not exist in this snapshot`
  return fieldErrors
}

/** Rows validated between two turns of the event loop: big balancing configs must not stall requests. */
const ROWS_PER_TURN = 2000

const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

/**
 * Upstreams and their targets, read through the shared definitions; targets must name an upstream of the snapshot.
 * Asynchronous: 10^4 targets take tens of milliseconds, so the work is cut into turns of ROWS_PER_TURN rows.
 */
async function readBalancing(
  entities: ConfigEntities,
  certIds: () => ReadonlySet<string>,
  errors: string[],
  report: (label: string, fieldErrors: Record<string, unknown>) => void,
): Promise<{ upstreams: UpstreamRow[]; targets: TargetRow[] }> {
  const upstreams: UpstreamRow[] = []
  const ids = new Set<string>()
  const names = new Set<string>()
  for (const [i, raw] of collection(entities, 'upstreams', errors).entries()) {
    if (i > 0 && i % ROWS_PER_TURN === 0) await nextTurn()
    const label = `upstreams[${typeof raw?.id === 'string' ? raw.id : i}]`
    const fieldErrors: Record<string, unknown> = {}
    if (typeof raw?.id !== 'string' || raw.id === '') fieldErrors.id = 'required field missing'
    else if (ids.has(raw.id)) fieldErrors.id = 'duplicate id'
    // A missing healthchecks record is Kong's defaults (all checks off), not null.
    const row = readFields(upstreamDef, { ...raw, healthchecks: raw?.healthchecks ?? {} }, UPSTREAM_FIELDS, fieldErrors)
    runChecks(upstreamDef, row, fieldErrors)
    const name = typeof row.name === 'string' ? row.name.toLowerCase() : ''
    if (name !== '' && names.has(name)) fieldErrors.name = 'duplicate upstream name'
    const client_certificate_id = foreignRef(raw ?? {}, 'client_certificate')
    if (client_certificate_id === undefined) fieldErrors.client_certificate = 'expected a record with an id'
    else if (client_certificate_id !== null && !certIds().has(client_certificate_id))
      fieldErrors.client_certificate = `certificate ${client_certificate_id} does not exist in this snapshot`
    report(label, fieldErrors)
    if (Object.keys(fieldErrors).length) continue
    ids.add(raw.id as string)
    names.add(name)
    upstreams.push({
      ...(row as unknown as Omit<UpstreamRow, 'id' | 'client_certificate_id'>),
      id: raw.id as string,
      client_certificate_id: client_certificate_id ?? null,
    })
  }
  const targets: TargetRow[] = []
  const targetIds = new Set<string>()
  for (const [i, raw] of collection(entities, 'targets', errors).entries()) {
    if (i % ROWS_PER_TURN === 0) await nextTurn()
    const label = `targets[${typeof raw?.id === 'string' ? raw.id : i}]`
    const fieldErrors: Record<string, unknown> = {}
    if (typeof raw?.id !== 'string' || raw.id === '') fieldErrors.id = 'required field missing'
    else if (targetIds.has(raw.id)) fieldErrors.id = 'duplicate id'
    const row = readFields(targetDef, raw ?? {}, ['target', 'weight'], fieldErrors)
    const upstream_id = foreignRef(raw ?? {}, 'upstream')
    if (typeof upstream_id !== 'string') fieldErrors.upstream = 'required field missing'
    else if (!ids.has(upstream_id)) fieldErrors.upstream = `upstream ${upstream_id} does not exist in this snapshot`
    report(label, fieldErrors)
    if (Object.keys(fieldErrors).length) continue
    targetIds.add(raw.id as string)
    targets.push({
      id: raw.id as string,
      upstream_id: upstream_id as string,
      target: row.target as string,
      weight: row.weight as number,
    })
  }
  return { upstreams, targets }
}

/**
 * Checks every service and route and returns them normalized, or the first errors found.
 *
 * With `partHashes` and the live config's `base`, a collection whose part hash is unchanged is not read again:
 * its rows are taken from `base` (equal hash, equal content), and only its references into collections that did
 * change are checked again — so a route pointing at a service the snapshot dropped is still rejected.
 */
export async function validateSnapshotEntities(
  entities: ConfigEntities,
  partHashes?: Readonly<Record<string, string>>,
  base?: ValidatedBase,
): Promise<ValidationOutcome> {
  const errors: string[] = []
  const report = (label: string, fieldErrors: Record<string, unknown>) => {
    if (Object.keys(fieldErrors).length === 0) return
    for (const msg of flattenErrors(fieldErrors)) if (errors.length < MAX_ERRORS) errors.push(`${label}: ${msg}`)
  }
  const same = (...names: string[]) => base !== undefined && samePartHashes(partHashes, base.partHashes, names)

  const tlsSame = same('certificates', 'snis', 'ca_certificates')
  const tls = tlsSame
    ? { certificates: base!.rows.certificates, snis: base!.rows.snis, ca_certificates: base!.rows.ca_certificates }
    : readTlsMaterial(entities, errors, report)
  let caIds: Set<string> | undefined
  let certIds: Set<string> | undefined
  const tlsIds = () => {
    caIds ??= new Set(tls.ca_certificates.map((c) => c.id))
    certIds ??= new Set(tls.certificates.map((c) => c.id))
    return { caIds, certIds }
  }

  let services: ServiceRow[]
  let serviceIds: Set<string> | undefined
  const servicesSame = same('services')
  if (servicesSame) {
    services = base!.rows.services
    if (!same('certificates', 'ca_certificates')) {
      const ids = tlsIds()
      for (const s of services)
        report(
          `services[${s.id}]`,
          serviceRefErrors(s.ca_certificates, s.client_certificate_id, ids.caIds, ids.certIds),
        )
    }
  } else {
    const ids = tlsIds()
    services = []
    serviceIds = new Set<string>()
    for (const [i, raw] of collection(entities, 'services', errors).entries()) {
      const label = `services[${typeof raw?.id === 'string' ? raw.id : i}]`
      if (typeof raw?.id !== 'string' || raw.id === '') {
        report(label, { id: 'required field missing' })
        continue
      }
      if (serviceIds.has(raw.id)) report(label, { id: 'duplicate id' })
      serviceIds.add(raw.id)
      const fieldErrors: Record<string, unknown> = {}
      const row = readFields(serviceDef, raw, SERVICE_FIELDS, fieldErrors)
      runChecks(serviceDef, row, fieldErrors)
      const client_certificate_id = foreignRef(raw, 'client_certificate')
      Object.assign(
        fieldErrors,
        serviceRefErrors(row.ca_certificates as string[] | null, client_certificate_id, ids.caIds, ids.certIds),
      )
      report(label, fieldErrors)
      services.push({
        ...(row as Omit<ServiceRow, 'id' | 'client_certificate_id'>),
        id: raw.id,
        client_certificate_id: client_certificate_id ?? null,
      })
    }
  }

  let routes: RouteRow[]
  if (same('routes')) {
    routes = base!.rows.routes
    if (!servicesSame) {
      const ids = serviceIds ?? new Set(services.map((s) => s.id))
      for (const r of routes) report(`routes[${r.id}]`, routeRefErrors(r.service_id, ids))
    }
  } else {
    const ids = serviceIds ?? new Set(services.map((s) => s.id))
    routes = []
    const routeIds = new Set<string>()
    for (const [i, raw] of collection(entities, 'routes', errors).entries()) {
      const label = `routes[${typeof raw?.id === 'string' ? raw.id : i}]`
      if (typeof raw?.id !== 'string' || raw.id === '') {
        report(label, { id: 'required field missing' })
        continue
      }
      if (routeIds.has(raw.id)) report(label, { id: 'duplicate id' })
      routeIds.add(raw.id)
      const fieldErrors: Record<string, unknown> = {}
      const row = readFields(routeDef, raw, ROUTE_FIELDS, fieldErrors)
      runChecks(routeDef, row, fieldErrors)
      const service_id = serviceRef(raw)
      Object.assign(fieldErrors, routeRefErrors(service_id, ids))
      report(label, fieldErrors)
      const created_at = typeof raw.created_at === 'number' ? raw.created_at : 0
      routes.push({
        ...(row as Omit<RouteRow, 'id' | 'service_id' | 'created_at'>),
        id: raw.id,
        service_id: service_id ?? null,
        created_at,
      })
    }
  }

  const balancing =
    same('upstreams', 'targets') && same('certificates')
      ? { upstreams: base!.rows.upstreams, targets: base!.rows.targets }
      : await readBalancing(entities, () => tlsIds().certIds, errors, report)

  return errors.length ? { ok: false, errors } : { ok: true, rows: { services, routes, ...tls, ...balancing } }
}
