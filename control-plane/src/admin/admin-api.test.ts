import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { loadSettings, TURNPIKE_VERSION } from '@turnpike/shared'
import type { FastifyInstance } from 'fastify'
import { PostgresDialect } from 'kysely'
import pg from 'pg'
import { Database } from '../db/database.ts'
import { createEntityStore } from '../db/entity-store.ts'
import { type TestDatabase, testDatabases, testLogger } from '../db/test-databases.ts'
import { buildAdminApi } from './admin-api.ts'

type Json = Record<string, unknown> & { data?: Record<string, unknown>[] }

for (const target of testDatabases) {
  describe(`Admin API on ${target.name}`, { skip: target.skip }, () => {
    let t: TestDatabase
    let app: FastifyInstance
    const nodeId = randomUUID()

    async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
      const payload = body === undefined || typeof body === 'string' ? body : JSON.stringify(body)
      const contentType = typeof body === 'object' ? { 'content-type': 'application/json' } : {}
      const res = await app.inject({
        method: method as 'GET',
        url,
        payload: payload as string | undefined,
        headers: { ...contentType, ...headers },
      })
      return { status: res.statusCode, body: (res.body ? res.json() : undefined) as Json }
    }
    const form = (method: string, url: string, body: string) =>
      call(method, url, body, { 'content-type': 'application/x-www-form-urlencoded' })

    before(async () => {
      t = await target.open()
      app = buildAdminApi({
        store: createEntityStore(t.db),
        db: t.db,
        settings: t.settings,
        logger: testLogger,
        nodeId,
      })
      await app.ready()
    })
    after(async () => {
      await app?.close()
      await t?.close()
    })

    it('GET / describes the node in Kong’s shape, with secrets redacted', async () => {
      const { status, body } = await call('GET', '/')
      assert.equal(status, 200)
      assert.equal(body.tagline, 'Welcome to turnpike')
      assert.equal(body.node_id, nodeId)
      const plugins = body.plugins as { available_on_server: Record<string, Json>; enabled_in_cluster: string[] }
      assert.deepEqual(plugins.available_on_server['key-auth'], { version: TURNPIKE_VERSION, priority: 1250 })
      assert.deepEqual(plugins.enabled_in_cluster, [])
      assert.equal((body.configuration as Json).database, target.name)
    })

    it('GET /status reports measurable counters and database reachability', async () => {
      const { status, body } = await call('GET', '/status')
      assert.equal(status, 200)
      assert.deepEqual(body.database, { reachable: true })
      assert.ok(((body.server as Json).total_requests as number) >= 1)
      assert.equal(body.configuration_hash, null)
    })

    it('answers unknown paths 404 and wrong methods 405, Kong’s way', async () => {
      assert.deepEqual(await call('GET', '/nope'), { status: 404, body: { message: 'Not found' } })
      assert.deepEqual(await call('DELETE', '/services'), { status: 405, body: { message: 'Method not allowed' } })
      assert.deepEqual(await call('POST', '/services/x'), { status: 405, body: { message: 'Method not allowed' } })
      assert.deepEqual(await call('GET', `/services/${randomUUID()}`), { status: 404, body: { message: 'Not found' } })
    })

    it('creates, reads, replaces, patches and deletes with Kong’s status codes', async () => {
      const created = await call('POST', '/services', { name: 'crud', url: 'http://upstream.test:8080/base' })
      assert.equal(created.status, 201)
      assert.equal(created.body.port, 8080)
      assert.equal(created.body.path, '/base')
      const id = created.body.id as string
      assert.deepEqual((await call('GET', '/services/crud')).body, created.body)
      assert.deepEqual((await call('GET', `/services/${id}`)).body, created.body)

      const patched = await call('PATCH', '/services/crud', { retries: 2 })
      assert.equal(patched.status, 200)
      assert.equal(patched.body.retries, 2)
      assert.equal(patched.body.path, '/base')

      const put = await call('PUT', '/services/crud', { host: 'other.test' })
      assert.equal(put.status, 200)
      assert.equal(put.body.id, id)
      assert.equal(put.body.retries, 5, 'PUT resets omitted fields')
      assert.equal(put.body.path, null)

      const upserted = await call('PUT', '/services/brand-new', { host: 'new.test' })
      assert.equal(upserted.status, 200)
      assert.equal(upserted.body.name, 'brand-new')

      assert.equal((await call('DELETE', '/services/crud')).status, 204)
      assert.equal((await call('DELETE', '/services/crud')).status, 204)
      assert.equal((await call('GET', '/services/crud')).status, 404)
      const missing = await call('PATCH', '/services/crud', { retries: 1 })
      assert.equal(missing.status, 404)
      assert.equal(missing.body.code, 6)
    })

    it('returns errors in Kong’s {code, name, message, fields} shape', async () => {
      const invalid = await call('POST', '/services', { name: 'bad', port: 99999 })
      assert.equal(invalid.status, 400)
      assert.deepEqual(invalid.body, {
        code: 2,
        name: 'schema violation',
        message: '2 schema violations (host: required field missing; port: value should be between 0 and 65535)',
        fields: { host: 'required field missing', port: 'value should be between 0 and 65535' },
      })
      await call('POST', '/services', { name: 'taken', host: 'a.test' })
      const dupe = await call('POST', '/services', { name: 'taken', host: 'b.test' })
      assert.equal(dupe.status, 409)
      assert.deepEqual(dupe.body, {
        code: 5,
        name: 'unique constraint violation',
        message: `UNIQUE violation detected on '{name="taken"}'`,
        fields: { name: 'taken' },
      })
    })

    it('rejects malformed JSON with 400 and other media types with 415', async () => {
      const bad = await call('POST', '/services', '{"name":', { 'content-type': 'application/json' })
      assert.equal(bad.status, 400)
      assert.equal(bad.body.message, 'Cannot parse JSON body')
      const text = await call('POST', '/services', 'name=x', { 'content-type': 'text/plain' })
      assert.equal(text.status, 415)
      assert.equal(typeof text.body.code, 'number')
    })

    it('never answers 500 to odd client input', async () => {
      const svc = await call('POST', '/services', { name: 'odd-parent', host: 'odd.test' })
      const odd: [string, string, unknown, Record<string, string>?][] = [
        ['POST', '/services', []],
        ['POST', '/services', 'null', { 'content-type': 'application/json' }],
        ['POST', '/services', '"str"', { 'content-type': 'application/json' }],
        ['POST', '/services', { host: { a: [1, { b: 2 }] }, port: {}, tags: 'x' }],
        ['POST', '/services', { __proto__: { host: 'x' }, constructor: { prototype: {} } }],
        ['POST', '/routes', { paths: ['/x'], service: { id: 'not-a-uuid' } }],
        ['POST', '/routes', { paths: ['/x'], service: 'odd-parent' }],
        ['POST', '/routes', { paths: ['~/(unclosed'] }],
        ['PATCH', `/services/${svc.body.id}`, { id: 5, created_at: 'x', port: 'x' }],
        ['PUT', '/services/odd%20name', { host: 'x.test' }],
        ['POST', '/services', { host: 'x.test', path: '/nul\u0000byte' }],
        ['POST', '/routes', { paths: ['/big'], regex_priority: 1e20 }],
        ['GET', '/services/nul%00byte', undefined],
        ['GET', '/services?size=-1', undefined],
        ['GET', '/services/%E0%A4%A', undefined],
        ['GET', '/services?offset=%00', undefined],
        ['GET', '/services?tags=a,b/c', undefined],
        ['GET', '/services/odd-parent/routes?size=1e9', undefined],
        [
          'POST',
          '/services',
          'a[b][c]=1&a[]=2&port[x]=3&__proto__[y]=1',
          { 'content-type': 'application/x-www-form-urlencoded' },
        ],
        ['POST', '/services', '--x\r\nbroken', { 'content-type': 'multipart/form-data; boundary=x' }],
      ]
      for (const [method, url, body, headers] of odd) {
        const res = await call(method, url, body, headers)
        assert.ok(res.status >= 400 && res.status < 500, `${method} ${url} ${JSON.stringify(body)} → ${res.status}`)
        assert.equal(typeof res.body.message, 'string')
      }
    })

    it('decodes url-encoded forms with Kong’s key syntax and field coercion', async () => {
      const svc = await form(
        'POST',
        '/services',
        'name=form-svc&host=form.test&port=8081&tags[]=a&tags[]=b&enabled=false',
      )
      assert.equal(svc.status, 201)
      assert.equal(svc.body.port, 8081)
      assert.equal(svc.body.enabled, false)
      assert.deepEqual(svc.body.tags, ['a', 'b'])

      const route = await form(
        'POST',
        '/routes',
        `hosts=one.test&paths[]=/a&paths[]=/b&service.id=${svc.body.id}&strip_path=false&regex_priority=7&headers.x-env=prod`,
      )
      assert.equal(route.status, 201)
      assert.deepEqual(route.body.hosts, ['one.test'])
      assert.deepEqual(route.body.paths, ['/a', '/b'])
      assert.deepEqual(route.body.service, { id: svc.body.id })
      assert.equal(route.body.strip_path, false)
      assert.equal(route.body.regex_priority, 7)
      assert.deepEqual(route.body.headers, { 'x-env': ['prod'] })

      const byName = await form('POST', '/routes', 'paths=/c&service.name=form-svc')
      assert.deepEqual(byName.body.service, { id: svc.body.id })

      const cleared = await form('PATCH', `/services/${svc.body.id}`, 'tags=&retries=3')
      assert.equal(cleared.body.tags, null)
      assert.equal(cleared.body.retries, 3)

      const wrong = await form('POST', '/services', 'host=x.test&port=eighty')
      assert.equal(wrong.status, 400)
      assert.deepEqual(wrong.body.fields, { port: 'expected an integer' })
    })

    it('decodes multipart forms, files included', async () => {
      const boundary = 'turnpikeboundary'
      const parts = [
        ['name', 'multi-svc'],
        ['host', 'multi.test'],
        ['port', '9090'],
        ['tags[]', 'm'],
      ]
      const body = `${parts
        .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
        .join(
          '',
        )}--${boundary}\r\nContent-Disposition: form-data; name="path"; filename="p.txt"\r\nContent-Type: text/plain\r\n\r\n/from-file\r\n--${boundary}--\r\n`
      const res = await call('POST', '/services', body, { 'content-type': `multipart/form-data; boundary=${boundary}` })
      assert.equal(res.status, 201)
      assert.equal(res.body.port, 9090)
      assert.deepEqual(res.body.tags, ['m'])
      assert.equal(res.body.path, '/from-file')
    })

    it('pages with size, offset and next, and filters by tags', async () => {
      for (let i = 0; i < 3; i++) await call('POST', '/services', { host: `p${i}.test`, tags: ['paged', `n${i}`] })
      const first = await call('GET', '/services?size=2&tags=paged')
      assert.equal(first.status, 200)
      assert.equal(first.body.data?.length, 2)
      assert.equal(typeof first.body.offset, 'string')
      assert.equal(
        first.body.next,
        `/services?offset=${encodeURIComponent(first.body.offset as string)}&tags=paged&size=2`,
      )
      const second = await call('GET', first.body.next as string)
      assert.equal(second.body.data?.length, 1)
      assert.equal(second.body.next, null)
      assert.equal('offset' in second.body, false)

      assert.equal((await call('GET', '/services?tags=n0,n1')).body.data?.length, 0)
      assert.equal((await call('GET', '/services?tags=n0/n1')).body.data?.length, 2)

      const size0 = await call('GET', '/services?size=0')
      assert.deepEqual([size0.status, size0.body.code], [400, 9])
      const sizeText = await call('GET', '/services?size=abc')
      assert.deepEqual([sizeText.status, sizeText.body.message], [400, 'size must be a number'])
      const tooMany = await call('GET', '/services?tags=a,b,c,d,e,f')
      assert.deepEqual(tooMany.body, {
        code: 11,
        name: 'invalid options',
        message: 'invalid option (tags: cannot query more than 5 tags)',
        fields: { tags: 'cannot query more than 5 tags' },
      })
      const badOffset = await call('GET', '/services?offset=nope')
      assert.deepEqual([badOffset.status, badOffset.body.code], [400, 7])
    })

    it('serves routes nested under their service and the service of a route', async () => {
      const svc = (await call('POST', '/services', { name: 'nest', host: 'nest.test' })).body
      const other = (await call('POST', '/services', { name: 'nest-other', host: 'other.test' })).body
      const route = await call('POST', '/services/nest/routes', { name: 'nested', paths: ['/n'] })
      assert.equal(route.status, 201)
      assert.deepEqual(route.body.service, { id: svc.id })

      const listed = await call('GET', `/services/${svc.id}/routes`)
      assert.deepEqual(
        listed.body.data?.map((r) => r.name),
        ['nested'],
      )
      assert.equal((await call('GET', '/services/nest/routes/nested')).status, 200)
      assert.equal((await call('GET', '/services/nest-other/routes/nested')).status, 404)
      assert.equal((await call('GET', '/services/ghost/routes')).status, 404)

      const patched = await call('PATCH', '/services/nest/routes/nested', { paths: ['/m'] })
      assert.deepEqual(patched.body.paths, ['/m'])
      assert.deepEqual(patched.body.service, { id: svc.id })

      assert.deepEqual((await call('GET', '/routes/nested/service')).body.id, svc.id)
      const renamed = await call('PATCH', '/routes/nested/service', { retries: 1 })
      assert.equal(renamed.body.retries, 1)
      assert.deepEqual(await call('DELETE', '/routes/nested/service'), {
        status: 405,
        body: { message: 'Method not allowed' },
      })

      const refused = await call('DELETE', '/services/nest')
      assert.equal(refused.status, 400)
      assert.deepEqual(refused.body, {
        code: 4,
        name: 'foreign key violation',
        message: `an existing 'routes' entity references this 'services' entity`,
        fields: { '@referenced_by': 'routes' },
      })

      const moved = await call('PUT', '/services/nest-other/routes/nested', { paths: ['/o'] })
      assert.deepEqual(moved.body.service, { id: other.id })
      assert.equal((await call('DELETE', '/services/nest/routes/nested')).status, 404)
      assert.equal((await call('DELETE', '/services/nest-other/routes/nested')).status, 204)

      const orphan = (await call('POST', '/routes', { name: 'orphan', paths: ['/o'] })).body
      assert.equal((await call('GET', '/routes/orphan/service')).status, 404)
      const adopted = await call('PUT', '/routes/orphan/service', { host: 'adopted.test' })
      assert.equal(adopted.status, 200)
      assert.deepEqual((await call('GET', `/routes/${orphan.id}`)).body.service, { id: adopted.body.id })
    })
  })
}

describe('Admin API with its database unreachable', () => {
  // Nothing listens on port 1: every connection attempt is refused, as when Postgres is down.
  const pool = new pg.Pool({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 1000 })
  const db = new Database('postgres', new PostgresDialect({ pool }), async () => async () => {})
  const app = buildAdminApi({
    store: createEntityStore(db),
    db,
    settings: loadSettings({ env: {} }),
    logger: testLogger,
    nodeId: randomUUID(),
  })
  after(async () => {
    await app.close()
    await db.destroy()
  })

  it('answers 503 with a clear message and reports the database unreachable', async () => {
    for (const [method, url] of [
      ['POST', '/services'],
      ['GET', '/services'],
      ['GET', '/services/x'],
    ] as const) {
      const res = await app.inject({ method, url, payload: method === 'POST' ? { host: 'x.test' } : undefined })
      assert.equal(res.statusCode, 503, `${method} ${url}`)
      assert.equal(res.json().code, 100)
      assert.match(res.json().message, /database is unreachable/)
    }
    const status = await app.inject({ method: 'GET', url: '/status' })
    assert.deepEqual(status.json().database, { reachable: false })
  })
})
