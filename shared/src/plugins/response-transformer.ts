import type { FieldDef } from '../schema/types.ts'
import { HTTP_ONLY } from './common-fields.ts'
import { definePlugin } from './define.ts'
import { headerEntry } from './request-transformer.ts'

const list = (elements: FieldDef): FieldDef => ({ type: 'array', required: true, default: [], elements })
const COLON = '^[^:]+:.*$'
const colonList = list({ type: 'string', match: COLON })

const colonRecord: FieldDef = {
  type: 'record',
  fields: {
    json: colonList,
    // Types of appended/added JSON values, by position.
    json_types: list({ type: 'string', one_of: ['boolean', 'number', 'string'] }),
    headers: colonList,
  },
}

interface JsonTransformLists {
  json: string[]
  json_types: ('boolean' | 'number' | 'string')[]
  headers: string[]
}

/** response-transformer's validated config. */
export interface ResponseTransformerConfig {
  remove: { json: string[]; headers: string[] }
  rename: { headers: string[] }
  replace: JsonTransformLists
  add: JsonTransformLists
  append: JsonTransformLists
}

/** response-transformer: rewrites response headers and JSON body properties. */
export const responseTransformer = definePlugin({
  name: 'response-transformer',
  priority: 800,
  phases: ['response'],
  protocols: HTTP_ONLY,
  config: {
    remove: { type: 'record', fields: { json: list({ type: 'string' }), headers: list({ type: 'string' }) } },
    rename: {
      type: 'record',
      fields: { headers: list({ type: 'string', match: COLON, custom: headerEntry(true) }) },
    },
    replace: colonRecord,
    add: colonRecord,
    append: colonRecord,
  },
})
