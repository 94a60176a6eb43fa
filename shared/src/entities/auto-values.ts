/** Values the store generates for `auto` string fields on insert (credential keys and secrets), as Kong does. */
import { randomBytes } from 'node:crypto'
import type { EntityDef } from '../schema/types.ts'

/** 32 random hex characters, the shape of Kong's generated keys and secrets. */
export function randomKey(): string {
  return randomBytes(16).toString('hex')
}

/** Fills the entity's absent `auto` strings (keys, secrets; not ids) with random keys, in place. */
export function fillAutoValues(def: EntityDef, entity: Record<string, unknown>): void {
  for (const [name, f] of Object.entries(def.fields))
    if (f.auto && f.type === 'string' && !f.uuid && (entity[name] === undefined || entity[name] === null))
      entity[name] = randomKey()
}
