import { headerNameError, httpMethod } from '../entities/typedefs.ts'
import type { FieldDef } from '../schema/types.ts'
import { ANY_PROTOCOL } from './common-fields.ts'
import { definePlugin } from './define.ts'

/** Splits `name:value` as Kong does: the name runs to the first colon, further colons are skipped. */
export function splitPair(pair: string): [string, string] {
  const m = /^([^:]+):*(.*)$/s.exec(pair)
  return m ? [m[1], m[2]] : [pair, '']
}

const invalidHeader = (name: string) => (headerNameError(name) ? `'${name}' is not a valid header` : undefined)

/** Header entries: the name part must be a valid header name (for renames, the new name too). */
export function headerEntry(checkValue: boolean): FieldDef['custom'] {
  return (v) => {
    const [name, value] = splitPair(v as string)
    return invalidHeader(name) ?? (checkValue ? invalidHeader(value) : undefined)
  }
}

// Values are templates (`$(headers.x)`); Kong also compiles them, which only the data plane can do faithfully.
const colonValue: FieldDef['custom'] = (v) => {
  const [name, value] = splitPair(v as string)
  return value === '' ? `key '${name}' has no value` : undefined
}

const list = (elements: FieldDef): FieldDef => ({ type: 'array', required: true, default: [], elements })
const COLON = '^[^:]+:.*$'

const removeRecord: FieldDef = {
  type: 'record',
  fields: {
    body: list({ type: 'string' }),
    headers: list({ type: 'string', custom: headerEntry(false) }),
    querystring: list({ type: 'string' }),
  },
}
const renameRecord: FieldDef = {
  type: 'record',
  fields: {
    body: list({ type: 'string', custom: colonValue }),
    headers: list({ type: 'string', match: COLON, custom: headerEntry(true) }),
    querystring: list({ type: 'string', custom: colonValue }),
  },
}
const colonFields: Record<string, FieldDef> = {
  body: list({ type: 'string', custom: colonValue }),
  headers: list({ type: 'string', match: COLON, custom: headerEntry(false) }),
  querystring: list({ type: 'string', custom: colonValue }),
}

interface TransformLists {
  body: string[]
  headers: string[]
  querystring: string[]
}

/** request-transformer's validated config: `name:value` entries, values may hold `$(...)` templates. */
export interface RequestTransformerConfig {
  http_method: string | null
  remove: TransformLists
  rename: TransformLists
  replace: TransformLists & { uri: string | null }
  add: TransformLists
  append: TransformLists
}

/** request-transformer: rewrites the method, URI, headers, query string and body before proxying. */
export const requestTransformer = definePlugin({
  name: 'request-transformer',
  priority: 801,
  phases: ['access'],
  protocols: ANY_PROTOCOL,
  config: {
    http_method: httpMethod,
    remove: removeRecord,
    rename: renameRecord,
    replace: { type: 'record', fields: { ...colonFields, uri: { type: 'string' } } },
    add: { type: 'record', fields: colonFields },
    append: { type: 'record', fields: colonFields },
  },
})
