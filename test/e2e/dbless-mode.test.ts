/**
 * DB-less mode (Kong's `database = off`): `turnpike start` serves a declarative file; POST /config replaces it
 * atomically (an invalid one is refused and the old config keeps serving); GET /config exports; entity writes 405.
 */
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { parse } from 'yaml'
import { get, type Reply, sendForm } from '../support/http.ts'
import { freePort, spawnTurnpike, startLocalNode, tempDir, waitFor } from '../support/processes.ts'
import { startEchoUpstream } from '../support/upstream.ts'

async function postConfig(url: string, body: unknown, contentType = 'application/json'): Promise<Reply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  let json: Record<string, unknown> = {}
  try {
    json = JSON.parse(text)
  } catch {}
  return { status: res.status, headers: res.headers, json, text }
}

test('DB-less mode: serves the file, POST /config swaps it atomically, GET /config exports it', async (t) => {
  const upstream = await startEchoUpstream()
  const dir = tempDir('dbless')
  const config = (path: string) => `_format_version: "3.0"
services:
- name: echo
  url: ${upstream.url}
  routes:
  - name: echo-route
    paths: [${path}]
consumers:
- username: alice
  keyauth_credentials:
  - key: alice-key
`
  const file = join(dir, 'kong.yml')
  writeFileSync(file, config('/first'))
  const { node, admin, proxy } = await startLocalNode({
    TURNPIKE_DATABASE: 'off',
    TURNPIKE_DECLARATIVE_CONFIG: file,
    TURNPIKE_PREFIX: join(dir, 'prefix'),
  })
  t.after(async () => {
    await node.stop('SIGKILL')
    await upstream.close()
  })
  try {
    const first = await waitFor('the file served', async () => {
      const r = await get(`${proxy}/first/x`)
      return r.status === 200 ? r : undefined
    })
    assert.equal(first.json.url, '/x')
    const root = (await get(`${admin}/`)).json
    assert.equal((root.configuration as Record<string, unknown>).database, 'off')
    assert.equal((await get(`${admin}/routes/echo-route`)).json.name, 'echo-route', 'entity reads work')

    // Entity writes: Kong's DB-less answers.
    const create = await sendForm('POST', `${admin}/services`, { name: 'other', url: upstream.url })
    assert.equal(create.status, 405)
    assert.deepEqual(create.json, {
      code: 12,
      name: 'operation unsupported',
      message: "cannot create 'services' entities when not using a database",
    })
    const del = await fetch(`${admin}/consumers/alice`, { method: 'DELETE' })
    assert.equal(del.status, 405)

    // An invalid config: 400 with per-entity errors, and the old config keeps serving.
    const invalid = await postConfig(`${admin}/config?flatten_errors=1`, {
      config: config('/second').replace('paths: [/second]', 'paths: [second]'),
    })
    assert.equal(invalid.status, 400, invalid.text)
    assert.equal(invalid.json.code, 14)
    assert.equal(invalid.json.name, 'invalid declarative configuration')
    const [flat] = invalid.json.flattened_errors as Record<string, unknown>[]
    assert.equal(flat?.entity_type, 'route')
    assert.equal(flat?.entity_name, 'echo-route')
    assert.equal((await get(`${proxy}/first/y`)).status, 200)

    // A new config, as raw YAML.
    const swapped = await postConfig(`${admin}/config`, config('/second'), 'text/yaml')
    assert.equal(swapped.status, 201, swapped.text)
    assert.ok((swapped.json.routes as Record<string, unknown>) !== undefined)
    await waitFor('the new config served', async () => (await get(`${proxy}/second/z`)).status === 200)
    assert.equal((await get(`${proxy}/first/y`)).status, 404)

    // Kong's tutorial form: `curl -F config=@kong.yml`.
    const form = new FormData()
    form.append('config', new Blob([config('/second')]), 'kong.yml')
    const multipart = await fetch(`${admin}/config`, { method: 'POST', body: form })
    assert.equal(multipart.status, 201)

    // The same again with check_hash: 304, nothing reloaded.
    const unchanged = await postConfig(`${admin}/config?check_hash=1`, config('/second'), 'text/yaml')
    assert.equal(unchanged.status, 304)

    // GET /config exports what is served, key hashed.
    const exported = await get(`${admin}/config`)
    assert.equal(exported.status, 200)
    const doc = parse(String(exported.json.config)) as Record<string, unknown>
    assert.equal(doc._format_version, '3.0')
    const [service] = doc.services as Record<string, unknown>[]
    assert.deepEqual(((service?.routes ?? []) as Record<string, unknown>[])[0]?.paths, ['/second'])
    assert.match(String(exported.json.config), /key: "hmac-sha256:/)

    // The export loads back unchanged (the declarative object itself as a JSON body).
    const reloaded = await postConfig(`${admin}/config`, doc)
    assert.equal(reloaded.status, 201, reloaded.text)
    assert.equal((await get(`${admin}/config`)).json.config, exported.json.config)
  } catch (e) {
    t.diagnostic(node.output())
    throw e
  }
})

test('DB-less mode: an invalid file fails the start, naming every bad entity', async () => {
  const dir = tempDir('dbless-bad')
  const file = join(dir, 'kong.yml')
  writeFileSync(
    file,
    `_format_version: "3.0"
services:
- name: no-host
routes:
- name: orphan
  service: missing
  paths: [/x]
`,
  )
  const node = spawnTurnpike({
    TURNPIKE_DATABASE: 'off',
    TURNPIKE_DECLARATIVE_CONFIG: file,
    TURNPIKE_PREFIX: join(dir, 'prefix'),
    TURNPIKE_ADMIN_LISTEN: `127.0.0.1:${await freePort()}`,
    TURNPIKE_PROXY_LISTEN: `127.0.0.1:${await freePort()}`,
    TURNPIKE_STATUS_LISTEN: `127.0.0.1:${await freePort()}`,
  })
  const code = await new Promise<number | null>((resolve) => node.proc.once('exit', resolve))
  assert.equal(code, 1)
  assert.match(node.output(), /invalid declarative config .*kong\.yml \(2 errors\)/)
  assert.match(node.output(), /service 'no-host': host: required field missing/)
  assert.match(node.output(), /route 'orphan': invalid reference 'service: missing'/)
})
