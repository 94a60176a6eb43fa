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
import type { ConfigRows, RouteRow, ServiceRow } from './entity-rows.ts'

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

/** The route's service id, whether the row carries Kong's `service: {id}` or a flat `service_id`. */
function serviceRef(raw: EntityRow): string | null | undefined {
  const ref = raw.service
  if (ref && typeof ref === 'object' && typeof (ref as { id?: unknown }).id === 'string')
    return (ref as { id: string }).id
  if (typeof raw.service_id === 'string') return raw.service_id
  if (ref == null && raw.service_id == null) return null
  return undefined
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
    report(label, fieldErrors)
    services.push({ ...(row as Omit<ServiceRow, 'id'>), id: raw.id })
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

  return errors.length ? { ok: false, errors } : { ok: true, rows: { services, routes } }
}
