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
  validateField,
} from '@turnpike/shared'
import type { CaCertificateRow, CertificateRow, ConfigRows, RouteRow, ServiceRow, SniRow } from './entity-rows.ts'

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

/** Checks every service and route and returns them normalized, or the first errors found. */
export function validateSnapshotEntities(entities: ConfigEntities): ValidationOutcome {
  const errors: string[] = []
  const report = (label: string, fieldErrors: Record<string, unknown>) => {
    if (Object.keys(fieldErrors).length === 0) return
    for (const msg of flattenErrors(fieldErrors)) if (errors.length < MAX_ERRORS) errors.push(`${label}: ${msg}`)
  }

  const tls = readTlsMaterial(entities, errors, report)
  const caIds = new Set(tls.ca_certificates.map((c) => c.id))
  const certIds = new Set(tls.certificates.map((c) => c.id))

  const services: ServiceRow[] = []
  const serviceIds = new Set<string>()
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
    const cas = row.ca_certificates as string[] | null
    const missingCa = cas?.find((id) => !caIds.has(id))
    if (missingCa !== undefined)
      fieldErrors.ca_certificates = `ca_certificate ${missingCa} does not exist in this snapshot`
    const client_certificate_id = foreignRef(raw, 'client_certificate')
    if (client_certificate_id === undefined) fieldErrors.client_certificate = 'expected a record with an id'
    else if (client_certificate_id !== null && !certIds.has(client_certificate_id))
      fieldErrors.client_certificate = `certificate ${client_certificate_id} does not exist in this snapshot`
    report(label, fieldErrors)
    services.push({
      ...(row as Omit<ServiceRow, 'id' | 'client_certificate_id'>),
      id: raw.id,
      client_certificate_id: client_certificate_id ?? null,
    })
  }

  const routes: RouteRow[] = []
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
    if (service_id === undefined) fieldErrors.service = 'expected a record with an id'
    else if (service_id !== null && !serviceIds.has(service_id))
      fieldErrors.service = `service ${service_id} does not exist in this snapshot`
    report(label, fieldErrors)
    const created_at = typeof raw.created_at === 'number' ? raw.created_at : 0
    routes.push({
      ...(row as Omit<RouteRow, 'id' | 'service_id' | 'created_at'>),
      id: raw.id,
      service_id: service_id ?? null,
      created_at,
    })
  }

  return errors.length ? { ok: false, errors } : { ok: true, rows: { services, routes, ...tls } }
}
