import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parse } from 'yaml'
import { buildAdminApi } from '../admin/admin-api.ts'
import { createEntityStore } from '../db/entity-store.ts'
import { testDatabases, testLogger } from '../db/test-databases.ts'
import { createDeclarativeLoader } from './dbless-node.ts'
import { readOnlyStore } from './read-only-store.ts'

const [pglite] = testDatabases
const YAML = '_format_version: "3.0"\nservices:\n- name: s\n  host: s.example\n'
const INVALID = '_format_version: "3.0"\nservices:\n- name: nohost\n'

test('/config on a DB-less node: every body shape, errors, check_hash', async (t) => {
  assert.ok(pglite)
  const { db, settings, close } = await pglite.open()
  t.after(close)
  const loader = createDeclarativeLoader(db, { logger: testLogger })
  const app = buildAdminApi({
    store: readOnlyStore(createEntityStore(db)),
    db,
    settings,
    logger: testLogger,
    nodeId: 'test',
    declarative: loader,
  })
  t.after(() => app.close())
  const post = (payload: string, contentType: string, query = '') =>
    app.inject({ method: 'POST', url: `/config${query}`, payload, headers: { 'content-type': contentType } })

  const raw = await post(YAML, 'application/x-yaml')
  assert.equal(raw.statusCode, 201, raw.body)
  assert.equal(Object.values(raw.json().services as Record<string, { name: string }>)[0]?.name, 's')

  const wrapped = await post(JSON.stringify({ config: YAML.replace('s.example', 't.example') }), 'application/json')
  assert.equal(wrapped.statusCode, 201, wrapped.body)
  const object = await post(JSON.stringify(parse(YAML)), 'application/json')
  assert.equal(object.statusCode, 201, object.body)
  const form = await post(new URLSearchParams({ config: YAML }).toString(), 'application/x-www-form-urlencoded')
  assert.equal(form.statusCode, 201, form.body)

  const same = await post(YAML, 'text/yaml', '?check_hash=1')
  assert.equal(same.statusCode, 304)

  const bad = await post(INVALID, 'text/yaml')
  assert.equal(bad.statusCode, 400)
  assert.deepEqual(Object.keys(bad.json()).sort(), ['code', 'fields', 'message', 'name'])
  assert.equal(bad.json().code, 14)
  assert.deepEqual(bad.json().fields, { services: [{ host: 'required field missing' }] })
  const flat = await post(
    new URLSearchParams({ config: INVALID, flatten_errors: 'yes' }).toString(),
    'application/x-www-form-urlencoded',
  )
  assert.equal(flat.statusCode, 400)
  assert.equal(flat.json().flattened_errors[0].entity_name, 'nohost')

  const unparsable = await post(JSON.stringify({ config: 'services: [' }), 'application/json')
  assert.equal(unparsable.statusCode, 400)
  assert.match(unparsable.json().message, /failed parsing declarative configuration/)
  const empty = await post('{}', 'application/json')
  assert.equal(empty.statusCode, 400)
  assert.deepEqual(empty.json(), { message: 'expected a declarative configuration' })

  // The last good config is what is served and exported.
  const exported = await app.inject({ method: 'GET', url: '/config' })
  assert.equal(exported.statusCode, 200)
  assert.equal(exported.json().config, YAML)
  assert.equal((await app.inject({ method: 'PUT', url: '/config' })).statusCode, 405)
  assert.equal((await app.inject({ method: 'GET', url: '/services/s' })).statusCode, 200)
  const write = await app.inject({ method: 'PATCH', url: '/services/s', payload: { port: 81 } })
  assert.equal(write.statusCode, 405)
  assert.equal(write.json().message, "cannot update 'services' entities by 'name' when not using a database")
  // YAML bodies are for /config only.
  const yamlElsewhere = await app.inject({
    method: 'POST',
    url: '/consumers',
    payload: 'username: x',
    headers: { 'content-type': 'text/yaml' },
  })
  assert.equal(yamlElsewhere.statusCode, 415)
})

test('/config on a database-backed node: POST answers 400 as Kong, GET exports', async (t) => {
  assert.ok(pglite)
  const { db, settings, close } = await pglite.open()
  t.after(close)
  const app = buildAdminApi({ store: createEntityStore(db), db, settings, logger: testLogger, nodeId: 'test' })
  t.after(() => app.close())
  const r = await app.inject({ method: 'POST', url: '/config', payload: { _format_version: '3.0' } })
  assert.equal(r.statusCode, 400)
  assert.match(r.json().message, /^this endpoint is only available when Turnpike is configured to not use a database/)
  const created = await app.inject({ method: 'POST', url: '/services', payload: { name: 'svc', host: 'svc.example' } })
  assert.equal(created.statusCode, 201)
  const exported = await app.inject({ method: 'GET', url: '/config' })
  assert.equal(exported.statusCode, 200)
  assert.match(exported.json().config, /- id: [0-9a-f-]{36}\n {2}name: svc\n {2}host: svc.example\n/)
})
