/** Every entity family through the Admin API: consumers, credentials, plugins, upstreams/targets, certificates. */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { hashApiKey, isHashedApiKey, verifyPassword } from '@turnpike/shared'
import { sql } from 'kysely'
import { readConfig } from '../db/config-reader.ts'
import { testDatabases } from '../db/test-databases.ts'
import { type Json, openTestAdmin, type TestAdmin } from './test-admin.ts'

/** A throwaway certificate and key made with openssl (`ec` or `rsa`), optionally a CA. */
function makeCertificate(cn: string, type: 'ec' | 'rsa', ca = false): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-cert-'))
  try {
    const algo = type === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048']
    const ext = ca ? ['-addext', 'basicConstraints=critical,CA:TRUE'] : ['-addext', 'basicConstraints=CA:FALSE']
    execFileSync(
      'openssl',
      ['req', '-x509', ...algo, ...ext, '-nodes', '-subj', `/CN=${cn}`, '-days', '30'].concat([
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]),
      { stdio: 'ignore' },
    )
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

let opensslSkip: string | undefined
try {
  execFileSync('openssl', ['version'], { stdio: 'ignore' })
} catch {
  opensslSkip = 'openssl is not installed: certificate fixtures cannot be made'
}

const rows = (r: { body: Json }) => r.body.data ?? []

for (const target of testDatabases) {
  describe(`Admin API entities on ${target.name}`, { skip: target.skip }, () => {
    let a: TestAdmin
    before(async () => {
      a = await openTestAdmin(target)
    })
    after(() => a?.close())

    const count = async (table: string) =>
      Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(a.db.db)).rows[0]?.n)

    it('consumers: username or custom_id, non-empty strings, unique', async () => {
      const none = await a.call('POST', '/consumers', {})
      assert.deepEqual(none.body, {
        code: 2,
        name: 'schema violation',
        message: "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')",
        fields: { '@entity': ["at least one of these fields must be non-empty: 'custom_id', 'username'"] },
      })
      const empty = await a.call('POST', '/consumers', { username: '' })
      assert.deepEqual(empty.body.fields, { username: 'length must be at least 1' })
      const c = await a.call('POST', '/consumers', { username: 'ann', custom_id: 'c-1', tags: ['team-a'] })
      assert.equal(c.status, 201)
      assert.equal((await a.call('GET', '/consumers/ann')).body.id, c.body.id)
      assert.equal((await a.call('POST', '/consumers', { username: 'ann' })).status, 409)
      const put = await a.call('PUT', '/consumers/bob', { custom_id: 'c-2' })
      assert.deepEqual([put.status, put.body.username], [200, 'bob'])
      const patched = await a.call('PATCH', '/consumers/bob', { custom_id: 'c-3' })
      assert.equal(patched.body.custom_id, 'c-3')
      assert.equal((await a.call('DELETE', '/consumers/bob')).status, 204)
      assert.equal((await a.call('GET', '/consumers/bob')).status, 404)
    })

    it('key-auth: the plaintext key is shown once and stored only as a keyed hash', async () => {
      const c = (await a.call('POST', '/consumers', { username: 'keyed' })).body
      const generated = await a.call('POST', '/consumers/keyed/key-auth', {})
      assert.equal(generated.status, 201)
      assert.match(generated.body.key as string, /^[0-9a-f]{32}$/, 'Kong-style generated key, shown in clear')
      const given = await a.call('POST', `/consumers/${c.id}/key-auth`, { key: 'my-secret-key', tags: ['k'] })
      assert.equal(given.body.key, 'my-secret-key')
      assert.deepEqual(given.body.consumer, { id: c.id })

      // Later reads show the stored form; lookups by key hash the URL value first.
      const read = await a.call('GET', `/key-auths/${given.body.id}`)
      assert.ok(isHashedApiKey(read.body.key), `stored form: ${read.body.key}`)
      assert.equal((await a.call('GET', '/key-auths/my-secret-key')).body.id, given.body.id)
      assert.equal((await a.call('GET', `/key-auths/${encodeURIComponent(read.body.key as string)}`)).status, 200)
      assert.equal((await a.call('GET', '/key-auths/not-a-key')).status, 404)
      assert.equal((await a.call('GET', `/consumers/keyed/key-auth/${given.body.id}`)).status, 200)
      const listed = rows(await a.call('GET', '/consumers/keyed/key-auth'))
      assert.equal(listed.length, 2)
      assert.ok(listed.every((k) => isHashedApiKey(k.key)))

      // The plaintext appears nowhere in the database; the hash is the keyring's HMAC.
      const stored = await sql<{
        key: string
      }>`select key from keyauth_credentials where id = ${given.body.id}`.execute(a.db.db)
      const secret = (await a.db.db.selectFrom('keyring').select('secret').executeTakeFirstOrThrow()).secret as string
      assert.equal(stored.rows[0]?.key, hashApiKey(secret, 'my-secret-key'))
      const dump = await sql<{ t: string }>`select row_to_json(k)::text as t from keyauth_credentials k`.execute(
        a.db.db,
      )
      assert.ok(dump.rows.every((r) => !r.t.includes('my-secret-key') && !r.t.includes(generated.body.key as string)))

      // Same key twice is a unique violation that does not echo the plaintext.
      const dupe = await a.call('POST', '/consumers/keyed/key-auth', { key: 'my-secret-key' })
      assert.equal(dupe.status, 409)
      assert.ok(!JSON.stringify(dupe.body).includes('my-secret-key'))

      // A pre-hashed key (export/import) is kept as it is; PATCH with a new key shows that one once.
      const hashed = hashApiKey(secret, 'imported-key')
      const imported = await a.call('POST', '/key-auths', { key: hashed, consumer: { username: 'keyed' } })
      assert.equal(imported.body.key, hashed)
      assert.equal((await a.call('GET', '/key-auths/imported-key')).body.id, imported.body.id)
      const rotated = await a.call('PATCH', `/key-auths/${imported.body.id}`, { key: 'rotated-key' })
      assert.equal(rotated.body.key, 'rotated-key')
      const untouched = await a.call('PATCH', `/key-auths/${imported.body.id}`, { tags: ['x'] })
      assert.equal(untouched.body.key, hashApiKey(secret, 'rotated-key'))
      // PUT by plaintext key creates it under that key.
      const put = await a.call('PUT', '/key-auths/put-key', { consumer: { id: c.id } })
      assert.deepEqual([put.status, put.body.key], [200, 'put-key'])
      assert.equal((await a.call('GET', '/key-auths/put-key')).body.id, put.body.id)

      // Data planes get the keyring row and hashed keys in the snapshot.
      const config = await readConfig(a.db.db)
      assert.deepEqual(config.entities.keyring, [
        { id: (await a.db.db.selectFrom('keyring').select('id').executeTakeFirstOrThrow()).id, secret },
      ])
      assert.ok(config.entities.keyauth_credentials?.some((k) => k.key === hashApiKey(secret, 'my-secret-key')))
    })

    it('key-auth ttl: stored expiry, remaining seconds shown, expired keys invisible everywhere', async () => {
      await a.call('POST', '/consumers', { username: 'ttl-user' })
      const q = await a.call('POST', '/consumers/ttl-user/key-auth?ttl=3600', { key: 'ttl-query' })
      assert.equal(q.status, 201)
      assert.ok((q.body.ttl as number) > 3590 && (q.body.ttl as number) <= 3600)
      const b = await a.call('POST', '/consumers/ttl-user/key-auth', { key: 'ttl-body', ttl: 60 })
      assert.ok((b.body.ttl as number) <= 60)
      const form = await a.form('POST', '/consumers/ttl-user/key-auth', 'key=ttl-form&ttl=120')
      assert.ok((form.body.ttl as number) > 100)
      const bad = await a.call('POST', '/consumers/ttl-user/key-auth?ttl=-1', {})
      assert.deepEqual([bad.status, bad.body.code], [400, 11])
      assert.equal((await a.call('POST', '/consumers', { username: 'x-ttl', ttl: 5 })).status, 400, 'not a TTL entity')

      const live = await readConfig(a.db.db)
      const row = live.entities.keyauth_credentials?.find((k) => k.id === q.body.id)
      assert.equal(typeof row?.expires_at, 'number', 'data planes get the expiry')
      const forever = await a.call('POST', '/consumers/ttl-user/key-auth', { key: 'ttl-none' })
      const plain = (await readConfig(a.db.db)).entities.keyauth_credentials?.find((k) => k.id === forever.body.id)
      assert.ok(plain && !('expires_at' in plain), 'no expiry, no field')

      // Expire one by moving its expiry into the past.
      await sql`update keyauth_credentials set expires_at = 1 where id = ${q.body.id}`.execute(a.db.db)
      assert.equal((await a.call('GET', `/key-auths/${q.body.id}`)).status, 404)
      assert.equal((await a.call('GET', '/key-auths/ttl-query')).status, 404)
      assert.ok(!rows(await a.call('GET', '/consumers/ttl-user/key-auth')).some((k) => k.id === q.body.id))
      const after = await readConfig(a.db.db)
      assert.ok(!after.entities.keyauth_credentials?.some((k) => k.id === q.body.id))
      // Its key can be used again; the expired row is purged on the next write.
      assert.equal((await a.call('POST', '/consumers/ttl-user/key-auth', { key: 'ttl-query' })).status, 201)
    })

    it('basic-auth: scrypt at rest, never shown in clear, verifiable, pre-hashed imports kept', async () => {
      await a.call('POST', '/consumers', { username: 'basic' })
      const created = await a.call('POST', '/consumers/basic/basic-auth', { username: 'b1', password: 'hunter2' })
      assert.equal(created.status, 201)
      const stored = created.body.password as string
      assert.match(stored, /^scrypt:16384:8:1:[A-Za-z0-9+/]+=*:[A-Za-z0-9+/]+=*$/)
      assert.ok(await verifyPassword('hunter2', stored))
      assert.ok(!(await verifyPassword('hunter3', stored)))
      const patched = await a.call('PATCH', '/basic-auths/b1', { tags: ['t'] })
      assert.equal(patched.body.password, stored, 'unchanged password keeps its hash')
      const changed = await a.call('PATCH', '/consumers/basic/basic-auth/b1', { password: 'new-pass' })
      assert.ok(await verifyPassword('new-pass', changed.body.password as string))
      const imported = await a.call('POST', '/basic-auths', {
        username: 'b2',
        password: stored,
        consumer: { username: 'basic' },
      })
      assert.equal(imported.body.password, stored)
      const missing = await a.call('POST', '/consumers/basic/basic-auth', { username: 'b3' })
      assert.deepEqual(missing.body.fields, { password: 'required field missing' })
    })

    it('hmac-auth, jwt and acls: generated secrets kept recoverable, ACL groups by name', async () => {
      await a.call('POST', '/consumers', { username: 'multi' })
      const hmac = await a.call('POST', '/consumers/multi/hmac-auth', { username: 'h1' })
      assert.match(hmac.body.secret as string, /^[0-9a-f]{32}$/)
      assert.equal((await a.call('GET', '/hmac-auths/h1')).body.secret, hmac.body.secret, 'kept in clear')
      const jwt = await a.call('POST', '/consumers/multi/jwt', {})
      assert.match(jwt.body.key as string, /^[0-9a-f]{32}$/)
      assert.equal(jwt.body.algorithm, 'HS256')
      assert.equal((await a.call('GET', `/jwts/${jwt.body.key}`)).body.secret, jwt.body.secret)
      const rs = await a.call('POST', '/consumers/multi/jwt', { algorithm: 'RS256' })
      assert.deepEqual(rs.body.fields, {
        '@entity': ["failed conditional validation given value of field 'algorithm'"],
        rsa_public_key: 'required field missing',
      })

      const acl = await a.call('POST', '/consumers/multi/acls', { group: 'admins' })
      assert.equal(acl.status, 201)
      assert.equal((await a.call('GET', '/consumers/multi/acls/admins')).body.id, acl.body.id)
      assert.equal((await a.call('POST', '/consumers/multi/acls', { group: 'admins' })).status, 409)
      const put = await a.call('PUT', '/consumers/multi/acls/users', {})
      assert.deepEqual([put.status, put.body.group], [200, 'users'])
      assert.equal((await a.call('PUT', '/consumers/multi/acls/users', { tags: ['t'] })).body.id, put.body.id)
      assert.ok(
        rows(await a.call('GET', '/acls?size=1000')).some((x) => x.id === acl.body.id),
        'flat collection',
      )
      assert.equal(rows(await a.call('GET', '/consumers/multi/acls')).length, 2)
      assert.equal((await a.call('GET', `/acls/${acl.body.id}/consumer`)).body.username, 'multi')
      assert.equal((await a.call('DELETE', `/acls/${acl.body.id}/consumer`)).status, 405)
      assert.equal((await a.call('DELETE', '/consumers/multi/acls/admins')).status, 204)
      assert.equal((await a.call('GET', '/consumers/multi/acls/admins')).status, 404)

      // Deleting the consumer removes its credentials (Kong's cascade).
      const before = await count('hmacauth_credentials')
      assert.equal((await a.call('DELETE', '/consumers/multi')).status, 204)
      assert.equal(await count('hmacauth_credentials'), before - 1)
      assert.equal((await a.call('GET', `/jwts/${jwt.body.id}`)).status, 404)
    })

    it('plugins: config checked against the plugin, defaults filled, one instance per scope', async () => {
      const svc = (await a.call('POST', '/services', { name: 'plug-svc', url: 'http://plug.test' })).body
      const route = (await a.call('POST', '/services/plug-svc/routes', { name: 'plug-route', paths: ['/p'] })).body
      await a.call('POST', '/consumers', { username: 'plug-user' })

      const unknown = await a.call('POST', '/plugins', { name: 'no-such-plugin' })
      assert.deepEqual(unknown.body, {
        code: 2,
        name: 'schema violation',
        message:
          "schema violation (name: plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property)",
        fields: { name: "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property" },
      })
      const bad = await a.call('POST', '/plugins', { name: 'rate-limiting', config: { minute: 'lots' } })
      assert.equal(bad.status, 400)
      assert.deepEqual((bad.body.fields as Json).config, { minute: 'expected a number' })

      const global = await a.call('POST', '/plugins', { name: 'rate-limiting', config: { minute: 10 } })
      assert.equal(global.status, 201)
      const config = global.body.config as Json
      assert.deepEqual([config.minute, config.policy, config.limit_by], [10, 'local', 'consumer'])
      assert.deepEqual(global.body.protocols, ['grpc', 'grpcs', 'http', 'https'])
      const again = await a.call('POST', '/plugins', { name: 'rate-limiting', config: { minute: 5 } })
      assert.deepEqual(
        [again.status, again.body.message],
        [409, `UNIQUE violation detected on '{consumer=null,name="rate-limiting",route=null,service=null}'`],
      )

      // Scoped instances through nested endpoints, each its own cache key.
      const onService = await a.form(
        'POST',
        '/services/plug-svc/plugins',
        'name=rate-limiting&config.minute=5&config.hour=100',
      )
      assert.equal(onService.status, 201)
      assert.deepEqual([(onService.body.config as Json).minute, (onService.body.config as Json).hour], [5, 100])
      assert.deepEqual(onService.body.service, { id: svc.id })
      const onRoute = await a.call('POST', '/routes/plug-route/plugins', {
        name: 'rate-limiting',
        config: { second: 1 },
      })
      assert.deepEqual(onRoute.body.route, { id: route.id })
      const onConsumer = await a.call('POST', '/consumers/plug-user/plugins', {
        name: 'rate-limiting',
        config: { day: 9 },
      })
      assert.equal(onConsumer.status, 201)
      const keyAuthOnConsumer = await a.call('POST', '/consumers/plug-user/plugins', { name: 'key-auth' })
      assert.deepEqual(keyAuthOnConsumer.body.fields, { consumer: 'value must be null' })
      assert.deepEqual(
        rows(await a.call('GET', '/services/plug-svc/plugins')).map((p) => p.id),
        [onService.body.id],
      )
      assert.equal((await a.call('GET', `/plugins/${onRoute.body.id}/route`)).body.id, route.id)
      assert.equal((await a.call('DELETE', `/plugins/${onRoute.body.id}/route`)).status, 405)

      // PATCH merges config by the plugin's own schema (nested records too); forms use its types.
      const patched = await a.call('PATCH', `/plugins/${onService.body.id}`, {
        config: { hour: 200, redis: { port: 6380 } },
      })
      const pc = patched.body.config as Json
      assert.deepEqual([pc.minute, pc.hour, (pc.redis as Json).port, (pc.redis as Json).timeout], [5, 200, 6380, 2000])
      const formPatch = await a.form(
        'PATCH',
        `/services/plug-svc/plugins/${onService.body.id}`,
        'config.minute=7&enabled=false',
      )
      assert.deepEqual(
        [(formPatch.body.config as Json).minute, (formPatch.body.config as Json).hour, formPatch.body.enabled],
        [7, 200, false],
      )
      const invalidPatch = await a.call('PATCH', `/plugins/${onService.body.id}`, { config: { hour: 1 } })
      assert.equal(invalidPatch.status, 400, 'hour below minute')

      // PUT by instance name replaces, resetting config to defaults.
      const named = await a.call('PUT', '/plugins/my-cors', { name: 'cors', config: { origins: ['*'] } })
      assert.deepEqual([named.status, named.body.instance_name], [200, 'my-cors'])
      const replaced = await a.call('PUT', '/plugins/my-cors', { name: 'cors' })
      assert.deepEqual([replaced.body.id, (replaced.body.config as Json).origins], [named.body.id, null])

      // Deleting the route removes its plugins.
      await a.call('DELETE', '/routes/plug-route')
      assert.equal((await a.call('GET', `/plugins/${onRoute.body.id}`)).status, 404)
    })

    it('upstreams and targets: targets normalized and addressed by target within their upstream', async () => {
      const up = await a.call('POST', '/upstreams', { name: 'backend.internal', algorithm: 'least-connections' })
      assert.equal(up.status, 201)
      assert.equal((up.body.healthchecks as Json & { active: Json }).active.http_path, '/')
      const t = await a.call('POST', '/upstreams/backend.internal/targets', { target: '10.0.0.1' })
      assert.deepEqual([t.status, t.body.target, t.body.weight], [201, '10.0.0.1:8000', 100])
      assert.equal((await a.call('GET', '/upstreams/backend.internal/targets/10.0.0.1:8000')).body.id, t.body.id)
      assert.equal(
        (await a.call('POST', '/upstreams/backend.internal/targets', { target: '10.0.0.1:8000' })).status,
        409,
      )
      const w = await a.call('PATCH', '/upstreams/backend.internal/targets/10.0.0.1:8000', { weight: 5 })
      assert.equal(w.body.weight, 5)
      const put = await a.call('PUT', '/upstreams/backend.internal/targets/10.0.0.2:80', { weight: 1 })
      assert.deepEqual([put.status, put.body.target], [200, '10.0.0.2:80'])
      assert.equal((await a.call('GET', `/targets/${t.body.id}/upstream`)).body.name, 'backend.internal')
      const badName = await a.call('POST', '/upstreams', { name: '10.0.0.1' })
      assert.deepEqual(badName.body.fields, { name: "Invalid name ('10.0.0.1'); no ip addresses allowed" })
      const before = await count('targets')
      assert.equal((await a.call('DELETE', '/upstreams/backend.internal')).status, 204)
      assert.equal(await count('targets'), before - 2, 'targets go with their upstream')
    })

    it('certificates: the snis shorthand creates, replaces and echoes SNI rows in one transaction', {
      skip: opensslSkip,
    }, async () => {
      const ec = makeCertificate('one.test', 'ec')
      const created = await a.call('POST', '/certificates', { ...ec, snis: ['b.test', 'a.test'] })
      assert.equal(created.status, 201)
      assert.deepEqual(created.body.snis, ['a.test', 'b.test'])
      const id = created.body.id as string
      assert.deepEqual((await a.call('GET', `/certificates/${id}`)).body.snis, ['a.test', 'b.test'])
      assert.deepEqual(
        rows(await a.call('GET', `/certificates/${id}/snis`))
          .map((s) => s.name)
          .sort(),
        ['a.test', 'b.test'],
      )
      assert.equal((await a.call('GET', '/snis/a.test/certificate')).body.id, id)

      const replaced = await a.call('PATCH', `/certificates/${id}`, { snis: ['c.test', 'a.test'] })
      assert.deepEqual(replaced.body.snis, ['a.test', 'c.test'])
      assert.equal((await a.call('GET', '/snis/b.test')).status, 404)
      const kept = await a.call('PATCH', `/certificates/${id}`, { tags: ['tls'] })
      assert.deepEqual(kept.body.snis, ['a.test', 'c.test'])

      // A second certificate cannot take an SNI; nothing of it is written.
      const before = [await count('certificates'), await count('snis')]
      const other = makeCertificate('two.test', 'ec')
      const taken = await a.call('POST', '/certificates', { ...other, snis: ['d.test', 'a.test'] })
      assert.equal(taken.status, 400)
      assert.match(taken.body.message as string, /a\.test already associated with existing certificate/)
      const dup = await a.call('POST', '/certificates', { ...other, snis: ['e.test', 'e.test'] })
      assert.deepEqual(dup.body.fields, { snis: 'e.test is duplicated' })
      const badSni = await a.call('POST', '/certificates', { ...other, snis: ['*.*.test'] })
      assert.equal(badSni.status, 400)
      const mismatch = await a.call('POST', '/certificates', { cert: other.cert, key: ec.key, snis: ['f.test'] })
      assert.deepEqual(mismatch.body.fields, { '@entity': ['certificate does not match key'] })
      assert.deepEqual([await count('certificates'), await count('snis')], before)

      // Services present it upstream; it cannot go while they do. Deleting it removes its SNIs.
      const svc = await a.call('POST', '/services', { name: 'mtls', host: 'mtls.test', client_certificate: { id } })
      assert.equal((await a.call('GET', '/services/mtls/client_certificate')).body.id, id)
      assert.equal((await a.call('DELETE', `/certificates/${id}`)).status, 400)
      await a.call('DELETE', `/services/${svc.body.id}`)
      assert.equal((await a.call('DELETE', `/certificates/${id}`)).status, 204)
      assert.equal((await a.call('GET', '/snis/a.test')).status, 404)

      // Multipart upload of PEM files, as `curl -F cert=@cert.pem`.
      const boundary = 'pem-boundary'
      const part = (name: string, v: string, file = false) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${name}.pem"` : ''}\r\n\r\n${v}\r\n`
      const multipart = `${part('cert', other.cert, true)}${part('key', other.key, true)}${part('snis[]', 'multi.test')}--${boundary}--\r\n`
      const uploaded = await a.call('POST', '/certificates', multipart, {
        'content-type': `multipart/form-data; boundary=${boundary}`,
      })
      assert.equal(uploaded.status, 201)
      assert.deepEqual(uploaded.body.snis, ['multi.test'])
    })

    it('ca_certificates: digest derived, CA required, stored once', { skip: opensslSkip }, async () => {
      const ca = makeCertificate('Test CA', 'rsa', true)
      const created = await a.call('POST', '/ca_certificates', { cert: ca.cert })
      assert.equal(created.status, 201)
      assert.match(created.body.cert_digest as string, /^[0-9a-f]{64}$/)
      assert.equal((await a.call('POST', '/ca_certificates', { cert: ca.cert })).status, 409)
      const leaf = makeCertificate('leaf', 'ec')
      const notCa = await a.call('POST', '/ca_certificates', { cert: leaf.cert })
      assert.deepEqual(notCa.body.fields, {
        '@entity': ['certificate does not appear to be a CA because it is missing the "CA" basic constraint'],
      })
    })

    it('tags: listed across entities, filtered and paged', async () => {
      await a.call('POST', '/consumers', { username: 'tagged-1', tags: ['fleet', 'red'] })
      await a.call('POST', '/consumers', { username: 'tagged-2', tags: ['fleet', 'blue'] })
      await a.call('POST', '/services', { name: 'tagged-svc', host: 'tag.test', tags: ['fleet'] })
      const fleet = await a.call('GET', '/tags/fleet')
      assert.equal(fleet.status, 200)
      assert.equal(rows(fleet).length, 3)
      assert.ok(rows(fleet).every((r) => r.tag === 'fleet' && typeof r.entity_id === 'string'))
      assert.deepEqual([...new Set(rows(fleet).map((r) => r.entity_name))].sort(), ['consumers', 'services'])
      const seen: Json[] = []
      let next: string | null = '/tags/fleet?size=1'
      while (next) {
        const page = await a.call('GET', next)
        seen.push(...rows(page))
        next = page.body.next as string | null
      }
      assert.equal(seen.length, 3)
      const all = rows(await a.call('GET', '/tags?size=1000'))
      assert.ok(all.some((r) => r.tag === 'red') && all.some((r) => r.tag === 'blue'))
      assert.equal(rows(await a.call('GET', '/consumers?tags=fleet,red')).length, 1)
      assert.equal(rows(await a.call('GET', '/consumers?tags=red/blue')).length, 2)
      assert.equal((await a.call('GET', '/tags?offset=garbage')).status, 400)
    })

    it('nested collections page with next links', async () => {
      await a.call('POST', '/consumers', { username: 'pager' })
      for (let i = 0; i < 3; i++) await a.call('POST', '/consumers/pager/acls', { group: `g${i}` })
      const first = await a.call('GET', '/consumers/pager/acls?size=2')
      assert.equal(rows(first).length, 2)
      assert.match(first.body.next as string, /^\/consumers\/[0-9a-f-]+\/acls\?offset=/)
      const second = await a.call('GET', first.body.next as string)
      assert.deepEqual([rows(second).length, second.body.next], [1, null])
    })
  })
}
