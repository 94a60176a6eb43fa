import { defineEntity } from '../schema/define.ts'
import { cidrPort, protocols, routeHost, routePath } from './fields.ts'

const HTTP_METHOD = '^[A-Z]+$'

/** Kong's `routes`: the rules matching requests to a service. */
export const routes = defineEntity({
  name: 'routes',
  admin_path: 'routes',
  endpoint_key: 'name',
  in_snapshot: true,
  fields: {
    name: {
      type: 'string',
      unique: true,
      match: '^[\\w.~-]+$',
      match_message: 'invalid value: must only contain alphanumerics, ., -, _ or ~',
    },
    protocols: {
      type: 'set',
      required: true,
      default: ['http', 'https'],
      len_min: 1,
      elements: { type: 'string', one_of: protocols },
    },
    methods: { type: 'set', elements: { type: 'string', match: HTTP_METHOD, match_message: 'invalid value' } },
    hosts: { type: 'array', elements: routeHost },
    paths: { type: 'array', elements: routePath },
    headers: {
      type: 'map',
      keys: {
        type: 'string',
        custom: (k) => ((k as string).toLowerCase() === 'host' ? "cannot contain 'host' header" : undefined),
      },
      values: { type: 'array', len_min: 1, elements: { type: 'string' } },
    },
    https_redirect_status_code: { type: 'integer', required: true, default: 426, one_of: [426, 301, 302, 307, 308] },
    regex_priority: { type: 'integer', default: 0 },
    strip_path: { type: 'boolean', required: true, default: true },
    path_handling: { type: 'string', default: 'v0', one_of: ['v0', 'v1'] },
    preserve_host: { type: 'boolean', required: true, default: false },
    request_buffering: { type: 'boolean', required: true, default: true },
    response_buffering: { type: 'boolean', required: true, default: true },
    snis: { type: 'set', elements: routeHost },
    sources: { type: 'set', elements: cidrPort },
    destinations: { type: 'set', elements: cidrPort },
    service: { type: 'foreign', reference: 'services', on_delete: 'restrict' },
  },
  checks: [
    (r) => {
      const protos = (r.protocols as string[]) ?? []
      if (
        !protos.some((p) => p === 'http' || p === 'https' || p === 'grpc' || p === 'grpcs' || p === 'ws' || p === 'wss')
      )
        return undefined
      const has = (k: string) => {
        const v = r[k]
        return v != null && (Array.isArray(v) ? v.length > 0 : Object.keys(v as object).length > 0)
      }
      if (has('methods') || has('hosts') || has('headers') || has('paths') || has('snis')) return undefined
      const label = protos.includes('https') ? "'https'" : `'${protos.join("', '")}'`
      return `must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is ${label}`
    },
  ],
})
