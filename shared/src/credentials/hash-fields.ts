/** Applies an entity's `hashed` fields before storage; both the Admin API and declarative imports go through it. */
import type { EntityDef } from '../schema/types.ts'
import { hashApiKey, isHashedApiKey } from './api-key-hash.ts'
import { hashPassword, isHashedPassword } from './password-hash.ts'

/**
 * Replaces plaintext values of `hashed` fields with their stored form, in place. Values already in stored form
 * (a pre-hashed import or an unchanged PATCH) are kept. Returns the plaintexts it hashed, by field, so the
 * response that set them can show them once.
 */
export async function hashCredentialFields(
  def: EntityDef,
  entity: Record<string, unknown>,
  keyringSecret: string,
): Promise<Record<string, string>> {
  const plaintext: Record<string, string> = {}
  for (const [name, f] of Object.entries(def.fields)) {
    const v = entity[name]
    if (!f.hashed || typeof v !== 'string') continue
    if (f.hashed === 'api_key' && !isHashedApiKey(v)) entity[name] = hashApiKey(keyringSecret, v)
    else if (f.hashed === 'password' && !isHashedPassword(v)) entity[name] = await hashPassword(v)
    else continue
    plaintext[name] = v
  }
  return plaintext
}

/** The stored form of a lookup value for field `name` (`GET /key-auths/{key}` hashes the key first). */
export function storedLookupValue(def: EntityDef, name: string, value: string, keyringSecret: string): string {
  return def.fields[name]?.hashed === 'api_key' && !isHashedApiKey(value) ? hashApiKey(keyringSecret, value) : value
}
