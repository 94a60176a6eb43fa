/** The traditional wiring: a started node's Admin API answers from the balancers attached after its data plane starts. */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, describe, it } from 'node:test'
import { type HealthOverride, type LocalHealth, loadSettings, parseListen, type Settings } from '@turnpike/shared'
import { type ControlPlane, startControlPlane } from '../control-plane.ts'
import { testLogger } from '../db/test-databases.ts'
import { startDeclarativeNode } from '../declarative/dbless-node.ts'

/** Balancers that know one upstream by name (ids are only known once it is created). */
function fakeBalancers(upstreamId: () => string): LocalHealth & { asked: HealthOverride[] } {
  const asked: HealthOverride[] = []
  return {
    asked,
    report: () => [
      {
        upstream_id: upstreamId(),
        upstream_name: 'backend.test',
        health: 'UNHEALTHY',
        weight: { total: 100, available: 0, unavailable: 100 },
        targets: [
          {
            target_id: 'unused',
            target: '10.0.0.1:80',
            weight: 100,
            health: 'UNHEALTHY',
            addresses: [{ ip: '10.0.0.1', port: 80, health: 'UNHEALTHY', weight: 100 }],
          },
        ],
      },
    ],
    override: (o) => {
      asked.push(o)
      return true
    },
    onChange: () => {},
  }
}

const prefixes: string[] = []
function settingsFor(overrides: Record<string, string>): Settings {
  const prefix = mkdtempSync(join(tmpdir(), 'turnpike-health-'))
  prefixes.push(prefix)
  return {
    ...loadSettings({ env: {}, overrides: { prefix, ...overrides } }),
    admin_listen: parseListen('127.0.0.1:0'),
    cluster_listen: parseListen('127.0.0.1:0'),
    cluster_mtls: 'off',
  }
}

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init)
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : {} }
}

describe('attachLocalHealth', { timeout: 60_000 }, () => {
  const nodes: ControlPlane[] = []
  after(async () => {
    for (const n of nodes) await n.close()
    for (const p of prefixes) rmSync(p, { recursive: true, force: true })
  })

  it('a traditional node answers from the attached balancers and sends them its overrides', async () => {
    const cp = await startControlPlane({
      settings: settingsFor({ database: 'pglite' }),
      logger: testLogger,
      serveCluster: false,
    })
    nodes.push(cp)
    const created = await json(`${cp.adminUrl}/upstreams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'backend.test' }),
    })
    const id = String(created.body.id)
    await json(`${cp.adminUrl}/upstreams/backend.test/targets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: '10.0.0.1:80' }),
    })
    const before = await json(`${cp.adminUrl}/upstreams/backend.test/health`)
    assert.equal((before.body.data as { health: string }[])[0]?.health, 'HEALTHCHECKS_OFF')

    const balancers = fakeBalancers(() => id)
    cp.attachLocalHealth(balancers)
    const health = await json(`${cp.adminUrl}/upstreams/backend.test/health`)
    assert.equal(health.status, 200)
    assert.equal((health.body.data as { health: string }[])[0]?.health, 'UNHEALTHY')
    assert.equal(health.body.node_id, (await json(`${cp.adminUrl}/`)).body.node_id)
    const put = await fetch(`${cp.adminUrl}/upstreams/backend.test/targets/10.0.0.1:80/healthy`, { method: 'PUT' })
    assert.equal(put.status, 204)
    assert.deepEqual(balancers.asked, [{ upstream_id: id, target: '10.0.0.1:80', healthy: true }])
  })

  it('a DB-less node does the same', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'turnpike-health-')), 'kong.yaml')
    prefixes.push(dirname(file))
    writeFileSync(
      file,
      '_format_version: "3.0"\nupstreams:\n- name: backend.test\n  targets:\n  - target: 10.0.0.1:80\n',
    )
    const node = await startDeclarativeNode({
      settings: settingsFor({ database: 'off', declarative_config: file }),
      logger: testLogger,
    })
    nodes.push(node)
    const id = String((await json(`${node.adminUrl}/upstreams/backend.test`)).body.id)
    const balancers = fakeBalancers(() => id)
    node.attachLocalHealth(balancers)
    const health = await json(`${node.adminUrl}/upstreams/backend.test/health`)
    assert.equal((health.body.data as { health: string }[])[0]?.health, 'UNHEALTHY')
    const put = await fetch(`${node.adminUrl}/upstreams/backend.test/targets/10.0.0.1:80/10.0.0.1:80/healthy`, {
      method: 'PUT',
    })
    assert.equal(put.status, 204)
    assert.deepEqual(balancers.asked, [
      { upstream_id: id, target: '10.0.0.1:80', address: '10.0.0.1:80', healthy: true },
    ])
  })

  it('a control plane refuses: it shows its data planes’ health', async () => {
    const cp = await startControlPlane({
      settings: settingsFor({ database: 'pglite', role: 'control_plane' }),
      logger: testLogger,
      serveCluster: true,
    })
    nodes.push(cp)
    assert.throws(() => cp.attachLocalHealth(fakeBalancers(() => 'x')), /shows its data planes’ health/)
    const put = await json(`${cp.adminUrl}/upstreams/nope.test/targets/10.0.0.1:80/healthy`, { method: 'PUT' })
    assert.equal(put.status, 404)
  })
})
