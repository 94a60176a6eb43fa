/** The registry of entity definitions, in dependency order (a referenced entity comes before its referrers). */
import type { EntityDef } from '../schema/types.ts'
import { routes } from './routes.ts'
import { services } from './services.ts'

export { routes, services }

export const entities: readonly EntityDef[] = [services, routes]

const byName = new Map(entities.map((e) => [e.name, e]))

export function entityByName(name: string): EntityDef | undefined {
  return byName.get(name)
}
