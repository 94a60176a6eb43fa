import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { EntityDef } from '../schema/types.ts'
import { validateEntity } from '../schema/validate.ts'
import { acls } from './acls.ts'
import { basicauthCredentials } from './basicauth-credentials.ts'
import { caCertificates } from './ca-certificates.ts'
import { certificates } from './certificates.ts'
import { consumers } from './consumers.ts'
import { hmacauthCredentials } from './hmacauth-credentials.ts'
import { entities } from './index.ts'
import { jwtSecrets } from './jwt-secrets.ts'
import { keyauthCredentials } from './keyauth-credentials.ts'
import { plugins } from './plugins.ts'
import { snis } from './snis.ts'
import { targets } from './targets.ts'
import { upstreams } from './upstreams.ts'

const added: EntityDef[] = [
  consumers,
  certificates,
  snis,
  caCertificates,
  upstreams,
  targets,
  plugins,
  keyauthCredentials,
  basicauthCredentials,
  hmacauthCredentials,
  jwtSecrets,
  acls,
]
const known = new Set([...entities, ...added].map((d) => d.name))

test('every reference, endpoint key and unique group names a real field or entity', () => {
  for (const def of added) {
    for (const [name, field] of Object.entries(def.fields))
      if (field.type === 'foreign') {
        assert.ok(field.reference && known.has(field.reference), `${def.name}.${name} → ${field.reference}`)
        assert.ok(field.on_delete, `${def.name}.${name} has an on_delete rule`)
      }
    if (def.endpoint_key) assert.ok(def.fields[def.endpoint_key], `${def.name} endpoint_key`)
    for (const group of def.unique_together ?? [])
      for (const f of group) assert.ok(def.fields[f], `${def.name} unique_together ${f}`)
    assert.ok(def.fields.id && def.fields.tags, `${def.name} has the common fields`)
  }
})

test('plugin entity defaults: enabled, HTTP protocols, no scope', () => {
  const r = validateEntity(plugins, { name: 'cors' })
  assert.ok(r.ok)
  assert.equal(r.value.enabled, true)
  assert.deepEqual(r.value.protocols, ['grpc', 'grpcs', 'http', 'https'])
  assert.equal(r.value.route, null)
  const bad = validateEntity(plugins, { instance_name: 'has space', protocols: ['gopher'] })
  assert.ok(!bad.ok)
  assert.deepEqual(bad.errors, {
    name: 'required field missing',
    instance_name: "invalid value 'has space': the only accepted ascii characters are alphanumerics or ., -, _, and ~",
    protocols: ['expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp, ws, wss'],
  })
})
