/** Embedded mode: one `turnpike start` process on PGlite serves the Admin API and the proxy. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { get, sendForm } from '../support/http.ts'
import { spawnTurnpike, startLocalNode, type TurnpikeProcess, tempDir, waitFor } from '../support/processes.ts'
import { startEchoUpstream } from '../support/upstream.ts'

test('embedded mode: PGlite, Admin API and proxy in one process, config survives a restart', async (t) => {
  const upstream = await startEchoUpstream()
  const prefix = tempDir('embedded')
  const local = await startLocalNode({ TURNPIKE_PREFIX: prefix })
  let node: TurnpikeProcess = local.node
  t.after(async () => {
    await node.stop('SIGKILL')
    await upstream.close()
  })
  const { admin, proxy, env } = local
  try {
    const root = await waitFor('admin API', async () => {
      const r = await get(`${admin}/`)
      return r.status === 200 ? r : undefined
    })
    assert.equal(typeof root.json.node_id, 'string')

    assert.equal((await sendForm('POST', `${admin}/services`, { name: 'echo', url: upstream.url })).status, 201)
    const route = await sendForm('POST', `${admin}/services/echo/routes`, { paths: ['/echo'], name: 'echo-route' })
    assert.equal(route.status, 201, route.text)
    const r = await waitFor('proxied request', async () => {
      const res = await get(`${proxy}/echo/a/b`)
      return res.status === 200 ? res : undefined
    })
    assert.equal(r.json.url, '/a/b')

    // Graceful stop, then the same data directory serves the same config.
    assert.equal(await node.stop('SIGTERM'), 0)
    node = spawnTurnpike(env)
    await waitFor('restart serves the stored config', async () => (await get(`${proxy}/echo/again`)).status === 200)
  } catch (e) {
    t.diagnostic(node.output())
    throw e
  }
})
