/**
 * What a consistent-hashing upstream hashes for a request, by `hash_on` and, when that finds nothing,
 * `hash_fallback` (Kong's order). Header values a client sent several times arrive joined with commas
 * (HashInput.header). With cookie hashing and no cookie on the request, a fresh random value is hashed and handed
 * back to be set on the response, so the client's next requests stick to the member this one went to.
 */
import { randomUUID } from 'node:crypto'
import type { UpstreamRow } from '../runtime/entity-rows.ts'
import type { HashInput } from './types.ts'

export type HashKeyFields = Pick<
  UpstreamRow,
  | 'hash_on'
  | 'hash_fallback'
  | 'hash_on_header'
  | 'hash_fallback_header'
  | 'hash_on_cookie'
  | 'hash_on_query_arg'
  | 'hash_fallback_query_arg'
  | 'hash_on_uri_capture'
  | 'hash_fallback_uri_capture'
>

export interface HashKey {
  /** The string to hash. */
  readonly value: string
  /** The cookie value generated for this request (cookie hashing, no cookie sent); undefined otherwise. */
  readonly setCookie: string | undefined
}

/** The request's hash key, or undefined when neither `hash_on` nor `hash_fallback` yields one (or both are none). */
export function hashKey(row: HashKeyFields, input: HashInput): HashKey | undefined {
  return (
    read(row.hash_on, primaryParam(row), row.hash_on_cookie, input) ??
    read(row.hash_fallback, fallbackParam(row), row.hash_on_cookie, input)
  )
}

function primaryParam(row: HashKeyFields): string | null {
  switch (row.hash_on) {
    case 'header':
      return row.hash_on_header
    case 'query_arg':
      return row.hash_on_query_arg
    case 'uri_capture':
      return row.hash_on_uri_capture
    default:
      return null
  }
}

function fallbackParam(row: HashKeyFields): string | null {
  switch (row.hash_fallback) {
    case 'header':
      return row.hash_fallback_header
    case 'query_arg':
      return row.hash_fallback_query_arg
    case 'uri_capture':
      return row.hash_fallback_uri_capture
    default:
      return null
  }
}

function read(mode: string, param: string | null, cookie: string | null, input: HashInput): HashKey | undefined {
  let value: string | undefined
  switch (mode) {
    case 'consumer':
      value = input.consumerId()
      break
    case 'ip':
      value = input.clientIp()
      break
    case 'header':
      value = param === null ? undefined : input.header(param)
      break
    case 'cookie':
      if (cookie === null) return undefined
      value = input.cookie(cookie)
      if (value === undefined) {
        const generated = randomUUID()
        return { value: generated, setCookie: generated }
      }
      break
    case 'path':
      value = input.path()
      break
    case 'query_arg':
      value = param === null ? undefined : input.queryArg(param)
      break
    case 'uri_capture':
      value = param === null ? undefined : input.uriCapture(param)
      break
    default:
      return undefined
  }
  return value === undefined ? undefined : { value, setCookie: undefined }
}
