/** Schemas, validation, enabled plugins, endpoints, the OpenAPI document, the admin token and request hygiene. */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { allPluginDefs, hashApiKey, publicEntities } from '@turnpike/shared'
import { sql } from 'kysely'
import { readConfig } from '../db/config-reader.ts'
import { testDatabases } from '../db/test-databases.ts'
import { type Json, openTestAdmin, type TestAdmin } from './test-admin.ts'

/** Every `$ref` in `doc` that does not resolve inside it. */
function danglingRefs(doc: Json): string[] {
  const out: string[] = []
  const resolve = (ref: string) =>
    ref
      .slice(2)
      .split('/')
      .reduce<unknown>((node, part) => (node as Json | undefined)?.[part], doc)
  const stack: unknown[] = [doc]
  while (stack.length) {
    const node = stack.pop()
    if (!node || typeof node !== 'object') continue
    const ref = (node as Json).$ref
    if (typeof ref === 'string' && resolve(ref) === undefined) out.push(ref)
    stack.push(...Object.values(node))
  }
  return out
}

const [pglite] = testDatabases

for (const target of testDatabases) {
  describe(`Admin API meta endpoints on ${target.name}`, { skip: target.skip }, () => {
    let a: TestAdmin
    before(async () => {
      a = await openTestAdmin(target)
    })
    after(() => a?.close())

    it('GET /schemas/{entity}: Kong’s shape, or JSON Schema on request; 404 for unknown', async () => {
      for (const def of publicEntities) {
        const kong = await a.call('GET', `/schemas/${def.name}`)
        assert.equal(kong.status, 200, def.name)
        const names = (kong.body.fields as Json[]).map((f) => Object.keys(f)[0])
        assert.deepEqual(names, Object.keys(def.fields), def.name)
        const js = await a.call('GET', `/schemas/${def.admin_path}?format=json-schema`)
        assert.equal(js.body.type, 'object')
        assert.deepEqual(Object.keys(js.body.properties as Json).slice(0, names.length), names)
      }
      const routes = (await a.call('GET', '/schemas/routes')).body.fields as Json[]
      assert.deepEqual(
        routes.find((f) => 'service' in f),
        {
          service: { type: 'foreign', reference: 'services', on_delete: 'restrict' },
        },
      )
      assert.deepEqual((await a.call('GET', '/schemas/nope')).body, { message: "No entity named 'nope'" })
      assert.equal((await a.call('GET', '/schemas/keyring')).status, 404, 'internal entities stay hidden')
    })

    it('POST /schemas/{entity}/validate checks without writing', async () => {
      const before = await a.call('GET', '/services')
      const ok = await a.call('POST', '/schemas/services/validate', { url: 'http://v.test' })
      assert.deepEqual([ok.status, ok.body], [200, { message: 'schema validation successful' }])
      const bad = await a.call('POST', '/schemas/services/validate', { port: 1 })
      assert.deepEqual([bad.status, bad.body.code, bad.body.fields], [400, 2, { host: 'required field missing' }])
      const form = await a.form('POST', '/schemas/routes/validate', 'paths[]=/x&strip_path=false')
      assert.equal(form.status, 200)
      assert.deepEqual((await a.call('GET', '/services')).body, before.body)
    })

    it('plugin schemas, plugin validation and the enabled list', async () => {
      for (const p of allPluginDefs()) {
        const s = await a.call('GET', `/schemas/plugins/${p.name}`)
        assert.equal(s.status, 200, p.name)
        const config = (s.body.fields as Json[]).find((f) => 'config' in f)?.config as Json
        assert.equal(config.type, 'record')
        const js = await a.call('GET', `/schemas/plugins/${p.name}?format=json-schema`)
        assert.deepEqual(((js.body.properties as Json).config as Json).type, ['object', 'null'])
      }
      assert.equal((await a.call('GET', '/schemas/plugins/nope')).status, 404)
      const ok = await a.call('POST', '/schemas/plugins/validate', { name: 'rate-limiting', config: { minute: 1 } })
      assert.deepEqual(ok.body, { message: 'schema validation successful' })
      const form = await a.form('POST', '/schemas/plugins/validate', 'name=rate-limiting&config.second=2')
      assert.equal(form.status, 200)
      const bad = await a.call('POST', '/schemas/plugins/validate', { name: 'rate-limiting', config: {} })
      assert.deepEqual(bad.body.fields, {
        '@entity': [
          "at least one of these fields must be non-empty: 'config.second', 'config.minute', 'config.hour', 'config.day', 'config.month', 'config.year'",
        ],
      })
      assert.equal((await a.call('GET', '/plugins')).body.data?.length, 0, 'validation stored nothing')
      const enabled = await a.call('GET', '/plugins/enabled')
      assert.deepEqual(enabled.body, { enabled_plugins: allPluginDefs().map((p) => p.name) })
    })

    it('GET /endpoints lists Kong’s paths, nested ones included', async () => {
      const paths = (await a.call('GET', '/endpoints')).body.data as unknown as string[]
      for (const p of [
        '/',
        '/services/{services}/routes/{routes}',
        '/routes/{routes}/service',
        '/consumers/{consumers}/key-auth',
        '/consumers/{consumers}/basic-auth/{basicauth_credentials}',
        '/consumers/{consumers}/hmac-auth',
        '/consumers/{consumers}/jwt',
        '/consumers/{consumers}/acls/{acls}',
        '/consumers/{consumers}/plugins',
        '/upstreams/{upstreams}/targets',
        '/certificates/{certificates}/snis',
        '/plugins/{plugins}/route',
        '/key-auths',
        '/basic-auths',
        '/jwts',
        '/hmac-auths',
        '/acls',
        '/schemas/{name}',
        '/schemas/plugins/{name}',
        '/tags/{tags}',
        '/plugins/enabled',
        '/openapi.json',
      ])
        assert.ok(paths.includes(p), p)
      assert.ok(!paths.some((p) => p.includes('keyring')))
    })

    it('GET /openapi.json documents every path and entity, with resolvable references', async () => {
      const res = await a.call('GET', '/openapi.json')
      assert.equal(res.status, 200)
      const doc = res.body
      assert.equal(doc.openapi, '3.1.0')
      const paths = doc.paths as Record<string, Json>
      const endpoints = (await a.call('GET', '/endpoints')).body.data as unknown as string[]
      assert.deepEqual(Object.keys(paths).sort(), [...endpoints].sort())
      const schemas = (doc.components as Json).schemas as Json
      for (const def of publicEntities)
        for (const name of [def.name, `${def.name}_input`, `${def.name}_update`]) assert.ok(schemas[name], name)
      for (const p of allPluginDefs()) assert.ok(schemas[`plugin_${p.name}`], p.name)
      assert.deepEqual(danglingRefs(doc), [])
      const ids = Object.values(paths).flatMap((item) => Object.values(item).map((op) => (op as Json).operationId))
      assert.equal(new Set(ids).size, ids.length, 'operationIds are unique')
      const createService = paths['/services']?.post as Json
      assert.deepEqual(((createService.requestBody as Json).content as Json)['application/json'], {
        schema: { $ref: '#/components/schemas/services_input' },
      })
      assert.ok((createService.responses as Json)[201])
      const keyAuthPost = paths['/consumers/{consumers}/key-auth']?.post as Json
      assert.ok((keyAuthPost.parameters as Json[]).some((p) => p.name === 'ttl'))
      const parentDelete = paths['/routes/{routes}/service']?.delete as Json
      assert.ok((parentDelete.responses as Json)[405])
      const required = (schemas.services_input as Json).required
      assert.deepEqual(required, ['host'])
    })

    it('rejects several Content-Type headers and unknown media types', async () => {
      const twice = await a.call('POST', '/services', '{"host":"x.test"}', {
        'content-type': ['application/json', 'application/x-www-form-urlencoded'],
      })
      assert.deepEqual([twice.status, twice.body.code], [400, 101])
      const yaml = await a.call('POST', '/services', 'host: x.test', { 'content-type': 'application/yaml' })
      assert.deepEqual([yaml.status, yaml.body.code], [415, 103])
    })
  })
}

describe('admin token', { skip: pglite?.skip }, () => {
  let a: TestAdmin
  const token = 's3cret-admin-token'
  before(async () => {
    a = await openTestAdmin(pglite!, { admin_token: token, keyring_secret: 'operator-keyring', pg_password: 'pw' })
  })
  after(() => a?.close())

  it('requires the token on every request, in either header, answering 401 in Kong’s shape', async () => {
    for (const [method, url] of [
      ['GET', '/'],
      ['GET', '/services'],
      ['POST', '/services'],
      ['GET', '/nope'],
      ['GET', '/openapi.json'],
    ] as const) {
      const res = await a.call(method, url, method === 'POST' ? { host: 'x.test' } : undefined)
      assert.equal(res.status, 401, `${method} ${url}`)
      assert.equal(res.body.code, 102)
      assert.equal(res.body.name, 'unauthorized')
      assert.match(String(res.headers['www-authenticate']), /^Bearer/)
    }
    assert.equal((await a.call('GET', '/services', undefined, { authorization: 'Bearer wrong' })).status, 401)
    assert.equal((await a.call('GET', '/services', undefined, { authorization: `Basic ${token}` })).status, 401)
    assert.equal((await a.call('GET', '/services', undefined, { 'kong-admin-token': `${token}x` })).status, 401)
    assert.equal((await a.call('GET', '/services', undefined, { authorization: `Bearer ${token}` })).status, 200)
    assert.equal((await a.call('GET', '/services', undefined, { authorization: `bearer ${token}` })).status, 200)
    assert.equal((await a.call('GET', '/services', undefined, { 'kong-admin-token': token })).status, 200)
    const write = await a.call('POST', '/services', { host: 'ok.test' }, { 'kong-admin-token': token })
    assert.equal(write.status, 201)
  })

  it('redacts secrets in GET /', async () => {
    const res = await a.call('GET', '/', undefined, { authorization: `Bearer ${token}` })
    const conf = res.body.configuration as Json
    assert.deepEqual([conf.admin_token, conf.keyring_secret, conf.pg_password], ['******', '******', '******'])
    assert.ok(!JSON.stringify(res.body).includes(token))
    assert.ok(!JSON.stringify(res.body).includes('operator-keyring'))
  })

  it('hashes keys with the operator’s keyring secret, which data planes get instead of the stored one', async () => {
    const auth = { authorization: `Bearer ${token}` }
    await a.call('POST', '/consumers', { username: 'op' }, auth)
    const k = await a.call('POST', '/consumers/op/key-auth', { key: 'op-key' }, auth)
    const stored = await sql<{ key: string }>`select key from keyauth_credentials where id = ${k.body.id}`.execute(
      a.db.db,
    )
    assert.equal(stored.rows[0]?.key, hashApiKey('operator-keyring', 'op-key'))
    const dbSecret = (await a.db.db.selectFrom('keyring').select('secret').executeTakeFirstOrThrow()).secret
    assert.notEqual(dbSecret, 'operator-keyring')
    const config = await readConfig(a.db.db, { keyringSecret: 'operator-keyring' })
    assert.equal(config.entities.keyring?.[0]?.secret, 'operator-keyring')
  })
})
