/**
 * Upstream health on a real embedded node: an upstream with active checks over a live and a dead target, the Admin
 * API's health views as Kong shapes them, and manual overrides taking a target out of (and back into) rotation.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { get, sendForm } from '../support/http.ts'
import { startLocalNode, tempDir, waitFor } from '../support/processes.ts'
import { startEchoUpstream } from '../support/upstream.ts'

/** A port nothing listens on (taken, then released). */
async function deadPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as { port: number }
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

test('upstream health: active checks, Kong-shaped health views, manual overrides', async (t) => {
  const live = await startEchoUpstream('live')
  const dead = await deadPort()
  const { node, admin, proxy } = await startLocalNode({ TURNPIKE_PREFIX: tempDir('health') })
  t.after(async () => {
    await node.stop('SIGKILL')
    await live.close()
  })
  try {
    await waitFor('admin API', async () => ((await get(`${admin}/`)).status === 200 ? true : undefined))
    const up = await sendForm('POST', `${admin}/upstreams`, {
      name: 'pool.internal',
      'healthchecks.active.type': 'tcp',
      'healthchecks.active.healthy.interval': '0.2',
      'healthchecks.active.healthy.successes': '1',
      // Unhealthy targets are not probed yet: what goes down stays down until the test says otherwise.
      'healthchecks.active.unhealthy.interval': '0',
      'healthchecks.active.unhealthy.tcp_failures': '1',
    })
    assert.equal(up.status, 201, up.text)
    for (const target of [`127.0.0.1:${live.port}`, `127.0.0.1:${dead}`])
      assert.equal((await sendForm('POST', `${admin}/upstreams/pool.internal/targets`, { target })).status, 201)
    assert.equal((await sendForm('POST', `${admin}/services`, { name: 'pool', host: 'pool.internal' })).status, 201)
    assert.equal((await sendForm('POST', `${admin}/services/pool/routes`, { 'paths[]': '/pool' })).status, 201)

    const health = await waitFor('the dead target reported unhealthy', async () => {
      const r = await get(`${admin}/upstreams/pool.internal/health`)
      const byTarget = new Map((r.json.data as { target: string; health: string }[]).map((d) => [d.target, d.health]))
      return byTarget.get(`127.0.0.1:${dead}`) === 'UNHEALTHY' && byTarget.get(`127.0.0.1:${live.port}`) === 'HEALTHY'
        ? r
        : undefined
    })
    assert.equal(typeof health.json.node_id, 'string')
    const balancer = (await get(`${admin}/upstreams/pool.internal/health?balancer_health=1`)).json
    assert.equal((balancer.data as { health: string }).health, 'HEALTHY')

    // Only the live target serves; then an override takes it out too, and Kong's 503 follows.
    for (let i = 0; i < 6; i++) assert.equal((await get(`${proxy}/pool`)).status, 200)
    const off = await sendForm('PUT', `${admin}/upstreams/pool.internal/targets/127.0.0.1:${live.port}/unhealthy`, {})
    assert.equal(off.status, 204, off.text)
    const refused = await get(`${proxy}/pool`)
    assert.equal(refused.status, 503)
    assert.equal(refused.json.message, 'failure to get a peer from the ring-balancer')
    assert.equal(((await get(`${admin}/upstreams/pool.internal/targets/all`)).json.data as unknown[]).length, 2)
    // Once unhealthy targets are probed too, active checks see it alive and bring it back.
    const probe = await sendForm('PATCH', `${admin}/upstreams/pool.internal`, {
      'healthchecks.active.unhealthy.interval': '0.2',
    })
    assert.equal(probe.status, 200, probe.text)
    await waitFor('the live target back', async () => ((await get(`${proxy}/pool`)).status === 200 ? true : undefined))
  } catch (e) {
    t.diagnostic(node.output())
    throw e
  }
})
