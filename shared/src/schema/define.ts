import type { EntityDef, FieldDef } from './types.ts'

/** Fields every entity has, in Kong's shape. */
export const idField: FieldDef = { type: 'string', uuid: true, auto: true }
export const timestampField: FieldDef = { type: 'integer', auto: true }
export const tagsField: FieldDef = {
  type: 'set',
  elements: {
    type: 'string',
    len_min: 1,
    match: '^[\\x21-\\x2B\\x2D-\\x2E\\x30-\\x7E\\x80-\\uFFFF]+$',
    match_message: 'invalid tag',
  },
}

/** Identity function that checks an entity definition's shape at compile time and adds the common fields. */
export function defineEntity(def: EntityDef): EntityDef {
  return {
    ...def,
    fields: { id: idField, created_at: timestampField, updated_at: timestampField, ...def.fields, tags: tagsField },
  }
}
