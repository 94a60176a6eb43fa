/** The registry of entity definitions, in dependency order (a referenced entity comes before its referrers). */
import type { EntityDef } from '../schema/types.ts'
import { acls } from './acls.ts'
import { basicauthCredentials } from './basicauth-credentials.ts'
import { caCertificates } from './ca-certificates.ts'
import { certificates } from './certificates.ts'
import { consumers } from './consumers.ts'
import { hmacauthCredentials } from './hmacauth-credentials.ts'
import { jwtSecrets } from './jwt-secrets.ts'
import { keyauthCredentials } from './keyauth-credentials.ts'
import { keyring } from './keyring.ts'
import { plugins } from './plugins.ts'
import { routes } from './routes.ts'
import { services } from './services.ts'
import { snis } from './snis.ts'
import { targets } from './targets.ts'
import { upstreams } from './upstreams.ts'

export {
  acls,
  basicauthCredentials,
  caCertificates,
  certificates,
  consumers,
  hmacauthCredentials,
  jwtSecrets,
  keyauthCredentials,
  keyring,
  plugins,
  routes,
  services,
  snis,
  targets,
  upstreams,
}

export const entities: readonly EntityDef[] = [
  certificates,
  caCertificates,
  snis,
  services,
  routes,
  consumers,
  upstreams,
  targets,
  plugins,
  keyauthCredentials,
  basicauthCredentials,
  hmacauthCredentials,
  jwtSecrets,
  acls,
  keyring,
]

const byName = new Map(entities.map((e) => [e.name, e]))

export function entityByName(name: string): EntityDef | undefined {
  return byName.get(name)
}

/** Entities with Admin API endpoints and a place in declarative files (all but internal ones like `keyring`). */
export const publicEntities: readonly EntityDef[] = entities.filter((e) => e.admin_path !== undefined)
