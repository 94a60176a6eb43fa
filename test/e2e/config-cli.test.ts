/**
 * `turnpike config validate|diff|import|export` as an operator runs them: real processes against an embedded
 * PGlite directory, exit codes included, and the lock that keeps them off a directory a running node holds.
 */
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { get } from '../support/http.ts'
import { freePort, runTurnpike, spawnTurnpike, tempDir, waitFor } from '../support/processes.ts'

const CONFIG = `_format_version: "3.0"
services:
- name: example
  url: http://127.0.0.1:9/api
  routes:
  - name: r1
    paths: [/mock]
consumers:
- username: alice
  keyauth_credentials:
  - key: alice-key
`

test('config CLI: validate, diff exit codes, import, export round trip, running-node lock', async (t) => {
  const dir = tempDir('config-cli')
  const env = { TURNPIKE_PREFIX: join(dir, 'prefix'), TURNPIKE_LOG_LEVEL: 'warn' }
  const file = (name: string, text: string) => {
    const path = join(dir, name)
    writeFileSync(path, text)
    return path
  }
  const good = file('kong.yml', CONFIG)
  const run = (...args: string[]) => runTurnpike(env, ['config', ...args])

  await t.test('validate', async () => {
    const ok = await run('validate', good)
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /valid \(1 services, 1 routes, 1 consumers, 1 keyauth_credentials\)/)
    const bad = await run(
      'validate',
      file('bad.yml', CONFIG.replace('service', 'svc').replace('paths: [/mock]', 'paths: 7')),
    )
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /invalid declarative config/)
    const help = await run('validate', '--help')
    assert.equal(help.code, 0)
    assert.match(help.stdout, /Usage: turnpike config validate FILE/)
  })

  await t.test('import prints the diff applied; diff exits 0 without drift and 2 with it', async () => {
    const imported = await run('import', good)
    assert.equal(imported.code, 0, imported.stderr)
    assert.match(imported.stdout, /^\+ services example$/m)
    assert.match(imported.stdout, /^\+ routes r1$/m)
    assert.match(imported.stdout, /4 created, 0 updated, 0 deleted/)
    assert.match(imported.stderr, /4\/4 rows written/)

    const same = await run('diff', good)
    assert.equal(same.code, 0, same.stdout + same.stderr)
    assert.match(same.stdout, /0 to create, 0 to update, 0 to delete/)

    // A changed route, a new consumer, and alice (with her key) gone.
    const drifted = file(
      'drift.yml',
      `${CONFIG.replace('[/mock]', '[/mock, /other]').replace(/consumers:[\s\S]*$/, '')}consumers:\n- username: bob\n`,
    )
    const drift = await run('diff', drifted)
    assert.equal(drift.code, 2, drift.stderr)
    assert.match(drift.stdout, /^~ routes r1 \(paths\)$/m)
    assert.match(drift.stdout, /^\+ consumers bob$/m)
    assert.match(drift.stdout, /^- consumers alice$/m)
    assert.match(drift.stdout, /^- keyauth_credentials [0-9a-f-]{36} \(consumer alice\)$/m)
    assert.match(drift.stdout, /1 to create, 1 to update, 2 to delete/)
  })

  await t.test('export → import → export is byte-identical', async () => {
    const out = join(dir, 'export.yml')
    const first = await run('export', '-o', out)
    assert.equal(first.code, 0, first.stderr)
    const text = readFileSync(out, 'utf8')
    assert.match(text, /key: "hmac-sha256:/, 'the key is exported hashed')
    const reimport = await run('import', out)
    assert.equal(reimport.code, 0, reimport.stderr)
    assert.match(reimport.stdout, /0 created, 0 updated, 0 deleted/)
    const second = await run('export')
    assert.equal(second.stdout, text)
  })

  await t.test('an invalid file in the middle of a big one writes nothing', async () => {
    const lines = [CONFIG.trimEnd()]
    for (let i = 0; i < 3000; i++) lines.push(`- username: user-${i}`)
    lines.splice(1500, 0, '- custom_id: 7')
    const r = await run('import', file('big-bad.yml', `${lines.join('\n')}\n`))
    assert.equal(r.code, 1)
    assert.match(r.stderr, /custom_id: expected a string/)
    const after = await run('diff', good)
    assert.equal(after.code, 0, 'the database still holds exactly the first import')
  })

  await t.test('a running node holds the directory; --admin-url talks to it instead', async () => {
    const admin = await freePort()
    const node = spawnTurnpike({
      ...env,
      TURNPIKE_ADMIN_LISTEN: `127.0.0.1:${admin}`,
      TURNPIKE_PROXY_LISTEN: `127.0.0.1:${await freePort()}`,
      TURNPIKE_STATUS_LISTEN: `127.0.0.1:${await freePort()}`,
    })
    t.after(() => node.stop('SIGKILL'))
    const adminUrl = `http://127.0.0.1:${admin}`
    await waitFor('admin API', async () => (await get(`${adminUrl}/`)).status === 200)
    const locked = await run('diff', good)
    assert.equal(locked.code, 1)
    assert.match(locked.stderr, /is in use by process \d+/)
    const remote = await run('diff', good, '--admin-url', adminUrl)
    assert.equal(remote.code, 0, remote.stdout + remote.stderr)
    const remoteExport = await run('export', '--admin-url', adminUrl)
    assert.equal(remoteExport.stdout, readFileSync(join(dir, 'export.yml'), 'utf8'))
    assert.equal(await node.stop('SIGTERM'), 0)
    const unlocked = await run('diff', good)
    assert.equal(unlocked.code, 0, unlocked.stderr)
  })
})
