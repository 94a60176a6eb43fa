/** Validation of any entity by its registry definition: plugins also check their config against their plugin. */
import { validatePlugin } from '../plugins/validate.ts'
import type { EntityDef } from '../schema/types.ts'
import { type ValidationResult, validateEntity } from '../schema/validate.ts'
import { plugins } from './plugins.ts'

/** Validates `input` as an entity of `def`, filling defaults (a plugin's config defaults included). */
export function validateInput(
  def: EntityDef,
  input: Record<string, unknown>,
): ValidationResult<Record<string, unknown>> {
  return def === plugins ? validatePlugin(input) : validateEntity(def, input)
}
