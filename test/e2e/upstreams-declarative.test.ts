/**
 * Declarative files that route through upstreams serve traffic: a decK-style file with nested targets (one of them
 * a host name, resolved through the hosts file), and the shape openapi-2-kong (inso) generates for every spec —
 * `<name>.upstream` hosts, regex paths, OAS tags.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { get } from '../support/http.ts'
import { startLocalNode, tempDir, waitFor } from '../support/processes.ts'
import { startEchoUpstream } from '../support/upstream.ts'

test('declarative upstreams: decK-style nested targets and openapi-2-kong output both serve', async (t) => {
  const [one, two, pets] = await Promise.all(['one', 'two', 'pets'].map((n) => startEchoUpstream(n)))
  const dir = tempDir('upstreams')
  const file = join(dir, 'kong.yml')
  writeFileSync(
    file,
    `_format_version: "3.0"
upstreams:
- name: backend.internal
  algorithm: round-robin
  targets:
  - target: 127.0.0.1:${one!.port}
    weight: 100
  - target: localhost:${two!.port}
    weight: 100
# What openapi-2-kong generates for a "Swagger Petstore" spec, pointed at a local server.
- name: Swagger_Petstore.upstream
  tags: [OAS3_import, OAS3file_petstore.yaml]
  targets:
  - target: 127.0.0.1:${pets!.port}
services:
- name: balanced
  host: backend.internal
  protocol: http
  routes:
  - name: balanced
    paths: [/balanced]
- name: Swagger_Petstore
  protocol: http
  host: Swagger_Petstore.upstream
  port: 80
  path: /v1
  tags: [OAS3_import, OAS3file_petstore.yaml]
  routes:
  - name: Swagger_Petstore-listPets
    strip_path: false
    methods: [GET]
    paths: [~/v1/pets$]
    tags: [OAS3_import, OAS3file_petstore.yaml]
`,
  )
  const { node, proxy } = await startLocalNode({
    TURNPIKE_DATABASE: 'off',
    TURNPIKE_DECLARATIVE_CONFIG: file,
    TURNPIKE_PREFIX: join(dir, 'prefix'),
  })
  t.after(async () => {
    await node.stop('SIGKILL')
    await Promise.all([one, two, pets].map((u) => u!.close()))
  })

  await waitFor('the balanced route', async () => ((await get(`${proxy}/balanced`)).status === 200 ? true : undefined))
  const seen = new Map<string, number>()
  for (let i = 0; i < 20; i++) {
    const r = await get(`${proxy}/balanced/x`)
    assert.equal(r.status, 200)
    const name = String(r.json.name)
    seen.set(name, (seen.get(name) ?? 0) + 1)
  }
  assert.deepEqual([...seen.keys()].sort(), ['one', 'two'], 'both targets, the named one resolved')
  assert.equal(seen.get('one'), 10)

  const petsReply = await get(`${proxy}/v1/pets`)
  assert.equal(petsReply.status, 200)
  assert.equal(petsReply.json.name, 'pets')
  assert.equal(petsReply.json.url, '/v1/v1/pets')
  assert.equal((await get(`${proxy}/v1/pets/1`)).status, 404, 'the anchored regex path')
})
