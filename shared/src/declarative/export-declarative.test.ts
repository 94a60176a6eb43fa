import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parse } from 'yaml'
import type { ConfigEntities } from '../snapshot/model.ts'
import { uuidV5 } from './entity-id.ts'
import { exportDeclarative } from './export-declarative.ts'
import { materializeEntities } from './materialize-entities.ts'
import { parseDeclarative } from './parse-declarative.ts'
import { writeYaml } from './yaml-writer.ts'

async function load(text: string, current?: ConfigEntities): Promise<ConfigEntities> {
  const r = parseDeclarative(text)
  if (!r.ok) assert.fail(r.errors.message)
  const m = await materializeEntities(r.entities, { keyringSecret: 'test-secret', current, now: 1_700_000_000 })
  if (!m.ok) assert.fail(m.errors.message)
  return m.entities
}

const SOURCE = `
_format_version: "3.0"
services:
- name: zeta
  url: https://zeta.example/v1
  retries: 5
  routes:
  - name: zeta-route
    paths: [/z]
    methods: [GET, POST]
    headers: {x-env: [prod]}
- name: alpha
  host: alpha.example
  connect_timeout: 1000
  tags: [team-a, "yes", "1.0"]
routes:
- name: loose
  hosts: ["*.wild.example"]
consumers:
- username: carol
  keyauth_credentials:
  - key: carol-key
  hmacauth_credentials:
  - username: carol-hmac
    secret: hmac-secret
  acls:
  - group: ops
plugins:
- name: rate-limiting
  route: zeta-route
  consumer: carol
  config: {minute: 10, policy: local}
- name: key-auth
  service: alpha
  config: {hide_credentials: true}
upstreams:
- name: pool
  targets:
  - target: 10.0.0.9:81
`

test('export → import → export is byte-identical', async () => {
  const first = await load(SOURCE)
  const exported = exportDeclarative(first)
  const second = await load(exported, first)
  assert.equal(exportDeclarative(second), exported)
  assert.deepEqual(second, first, 'the re-imported rows are the stored ones, timestamps included')
})

test('export layout: decK nesting, sorted, defaults and noise left out, references by name', async () => {
  const doc = parse(exportDeclarative(await load(SOURCE)), { version: '1.1' }) as Record<string, unknown>
  assert.deepEqual(Object.keys(doc), ['_format_version', 'services', 'routes', 'consumers', 'upstreams', 'plugins'])
  const services = doc.services as Record<string, unknown>[]
  assert.deepEqual(
    services.map((s) => s.name),
    ['alpha', 'zeta'],
    'sorted by endpoint key',
  )
  const [alpha, zeta] = services
  assert.deepEqual(alpha, {
    name: 'alpha',
    host: 'alpha.example',
    connect_timeout: 1000,
    tags: ['team-a', 'yes', '1.0'],
    plugins: [{ name: 'key-auth', config: { hide_credentials: true } }],
  })
  assert.equal(zeta?.retries, undefined, 'a default is not written')
  assert.equal(zeta?.id, undefined, 'an id derived from the name is not written')
  assert.deepEqual(zeta?.routes, [
    { name: 'zeta-route', methods: ['GET', 'POST'], paths: ['/z'], headers: { 'x-env': ['prod'] } },
  ])
  assert.deepEqual(
    doc.routes,
    [{ name: 'loose', hosts: ['*.wild.example'] }],
    'a route without service stays top level',
  )
  const [plugin] = doc.plugins as Record<string, unknown>[]
  assert.deepEqual(
    plugin,
    {
      name: 'rate-limiting',
      route: 'zeta-route',
      consumer: 'carol',
      config: { minute: 10 },
    },
    "the plugin's own defaults (policy: local) are left out",
  )
  const [carol] = doc.consumers as Record<string, unknown>[]
  const [key] = (carol?.keyauth_credentials ?? []) as Record<string, unknown>[]
  assert.match(String(key?.key), /^hmac-sha256:/, 'the hashed form is exported')
  assert.ok(key?.id, 'an id derived from the plaintext key is kept, the key being hashed now')
  assert.deepEqual(carol?.acls, [{ group: 'ops' }])
})

test('an Admin-API-created (random) id is exported, a name-derived one is not', async () => {
  const entities = await load(SOURCE)
  const alpha = entities.services?.find((s) => s.name === 'alpha')
  assert.ok(alpha)
  alpha.id = '6f1f5b8e-2f0b-4d7e-9a55-0c6f8f0e9d11'
  const text = exportDeclarative(entities)
  assert.match(text, /- id: 6f1f5b8e-2f0b-4d7e-9a55-0c6f8f0e9d11\n {2}name: alpha/)
})

test('JSON export reads back the same', async () => {
  const entities = await load(SOURCE)
  const back = parseDeclarative(exportDeclarative(entities, { format: 'json' }), { filename: 'x.json' })
  assert.ok(back.ok)
  const again = await materializeEntities(back.entities, { current: entities })
  assert.ok(again.ok)
  assert.equal(exportDeclarative(again.entities), exportDeclarative(entities))
})

test('uuidV5 matches RFC 4122 (DNS namespace, www.example.com)', () => {
  assert.equal(
    uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com'),
    '2ed6657d-e927-568b-95e1-2665a8aea6a2',
  )
})

test('the YAML writer round-trips awkward strings through a YAML 1.1 reader', () => {
  const strings = [
    '',
    'yes',
    'No',
    'on',
    'null',
    '~',
    '1.0',
    '0x1F',
    '1:20',
    '2024-01-01',
    '.inf',
    '*.example.com',
    '&anchor',
    '!tag',
    '@at',
    '%pct',
    '`tick',
    'a: b',
    'a #b',
    ' leading',
    'trailing ',
    '- dash',
    '? q',
    '[x]',
    '{x}',
    'quote"s',
    "single's",
    'back\\slash',
    'tab\there',
    'multi\nline\n',
    'multi\nline',
    'two\n\ntrailing\n\n',
    '  indented\nfirst',
    'ws-only\n  \nline',
    'uni: Ωmega',
    'ls\u2028ps\u2029nel\u0085',
    'bom\ufeff',
    'ctl\u0001\u007f',
    '/plain/path',
    '~/regex$',
    'hmac-sha256:abc',
    'd8e1a3a2-1e0b-4c1e-9f7a-3b2a1c0d9e8f',
  ]
  const doc = {
    list: strings,
    map: Object.fromEntries(strings.filter((s) => s !== '').map((s, i) => [s, i])),
    numbers: [0, -1, 1.5, 1e21, 65535],
    booleans: [true, false],
    nulls: [null],
    empty: { list: [], map: {} },
    nested: [[1, 'two'], [{ a: 1 }], {}, []],
    deep: { a: { b: { c: ['x', { d: 'e' }] } } },
  }
  assert.deepEqual(parse(writeYaml(doc), { version: '1.1' }), doc)
})
