import { randomUUID } from 'node:crypto'
import { applyChanges, decompressChunks, compressPayload, consumers, decodeChangeLines, decompressPayload, encodeChangeLines, hashApiKey, keyauthCredentials, routes, sealSnapshot, services, snapshotAsChanges, validateEntity, type EntityDef } from '@turnpike/shared'
const ts = 1700000000
const make = (def: EntityDef, n: number, f: (i: number) => Record<string, unknown>) => Array.from({ length: n }, (_, i) => {
  const r = validateEntity(def, { id: randomUUID(), created_at: ts, updated_at: ts, ...f(i) }); if (!r.ok) throw new Error(JSON.stringify(r.errors)); return r.value as any })
const svcs = make(services, 10000, (i) => ({ name: `svc-${i}`, host: `b${i}.internal`, port: 8080 }))
const rts = make(routes, 10000, (i) => ({ name: `r-${i}`, paths: [`/svc-${i}`], service: { id: svcs[i].id } }))
const cons = make(consumers, 100000, (i) => ({ username: `u-${i}`, custom_id: `c-${i}` }))
const creds = make(keyauthCredentials, 100000, (i) => ({ consumer: { id: cons[i].id }, key: hashApiKey('s', `k${i}`) }))
const s1 = sealSnapshot(1, { services: svcs, routes: rts, consumers: cons, keyauth_credentials: creds })
const raw = await encodeChangeLines(snapshotAsChanges(s1))
const z = await compressPayload(raw, 'rows+zstd')
async function probe<T>(name: string, fn: () => Promise<T>): Promise<T> {
  let last = performance.now(); let worst = 0; let at = 0
  const t0 = performance.now()
  const iv = setInterval(() => { const t = performance.now(); if (t - last - 1 > worst) { worst = t - last - 1; at = last - t0 } last = t }, 1)
  const v = await fn()
  await new Promise((r) => setTimeout(r, 5)); clearInterval(iv)
  console.log(name, Math.round(performance.now() - t0), 'ms, worst stall', worst.toFixed(1), 'starting at', at.toFixed(0))
  return v
}
for (let k = 0; k < 2; k++) {
  const ch = await probe('stream decompress+decode', () => decodeChangeLines(decompressChunks(z, 'rows+zstd', raw.length, 1e10)))
  await probe('applyChanges', () => applyChanges(sealSnapshot(0, {}), ch, 1))
}
