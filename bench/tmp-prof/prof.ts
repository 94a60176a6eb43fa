import { randomUUID } from 'node:crypto'
import { consumers, createLogger, hashApiKey, keyauthCredentials, routes, sealSnapshot, services, validateEntity, type EntityDef } from '@turnpike/shared'
import { SnapshotApplier, UpstreamPools, validateSnapshotEntities } from '@turnpike/data-plane'
const ts = 1700000000
const make = (def: EntityDef, n: number, f: (i: number) => Record<string, unknown>) => Array.from({ length: n }, (_, i) => {
  const r = validateEntity(def, { id: randomUUID(), created_at: ts, updated_at: ts, ...f(i) }); if (!r.ok) throw new Error(JSON.stringify(r.errors)); return r.value as any })
const svcs = make(services, 10000, (i) => ({ name: `svc-${i}`, host: `b${i}.internal`, port: 8080 }))
const rts = make(routes, 10000, (i) => ({ name: `r-${i}`, paths: [`/svc-${i}`], service: { id: svcs[i].id } }))
const cons = make(consumers, 100000, (i) => ({ username: `u-${i}`, custom_id: `c-${i}` }))
const creds = make(keyauthCredentials, 100000, (i) => ({ consumer: { id: cons[i].id }, key: hashApiKey('s', `k${i}`) }))
const keyring = [{ id: randomUUID(), secret: 's' }]
let t = performance.now()
const s1 = sealSnapshot(1, { services: svcs, routes: rts, consumers: cons, keyauth_credentials: creds, keyring })
console.log('seal', performance.now() - t)
t = performance.now(); const v = validateSnapshotEntities(s1.entities); console.log('validate', performance.now() - t, v.ok)
const logger = createLogger('silent')
const applier = new SnapshotApplier(new UpstreamPools(logger), logger)
t = performance.now(); console.log(await applier.apply(s1)); console.log('apply full', performance.now() - t)
const cons2 = [...s1.entities.consumers]; cons2[5] = { ...cons2[5], custom_id: 'changed' }
const s2 = sealSnapshot(2, { ...s1.entities, consumers: cons2 })
t = performance.now(); console.log(await applier.apply(s2)); console.log('apply delta-ish', performance.now() - t)
