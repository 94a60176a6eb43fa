import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { create, grpc, HelloSchema, type Snapshot as SnapshotMessage } from '@turnpike/proto'
import { loadSettings, parseListen, type Settings, TURNPIKE_VERSION } from '@turnpike/shared'
import { type ControlPlane, startControlPlane } from './control-plane.ts'
import { type TestDatabase, testDatabases, testLogger } from './db/test-databases.ts'
import { connectRawDataPlane, decodeConfig, nodeUuid } from './sync/test-dp-client.ts'

const loopback = {
  admin_listen: parseListen('127.0.0.1:0'),
  cluster_listen: parseListen('127.0.0.1:0'),
  cluster_mtls: 'off' as const,
}

for (const target of testDatabases) {
  describe(`control plane on ${target.name}`, { skip: target.skip, timeout: 60_000 }, () => {
    let scratch: TestDatabase | undefined
    let prefix: string | undefined
    let cp: ControlPlane

    before(async () => {
      let settings: Settings
      if (target.name === 'postgres') {
        // A scratch database, left unmigrated: the control plane migrates it at start.
        scratch = await target.open({ migrate: false })
        await scratch.db.destroy()
        settings = { ...scratch.settings, ...loopback }
      } else {
        prefix = mkdtempSync(join(tmpdir(), 'turnpike-cp-'))
        settings = { ...loadSettings({ env: {}, overrides: { database: 'pglite', prefix } }), ...loopback }
      }
      cp = await startControlPlane({ settings, logger: testLogger, serveCluster: true })
    })
    after(async () => {
      await cp?.close()
      await scratch?.close()
      if (prefix) rmSync(prefix, { recursive: true, force: true })
    })

    it('serves the Admin API on the bound port and ships every write to a connected data plane', async () => {
      assert.match(cp.adminUrl, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/)
      const root = await fetch(`${cp.adminUrl}/`)
      assert.equal(root.status, 200)

      const dp = connectRawDataPlane(cp.clusterAddress!)
      dp.send({
        kind: { case: 'hello', value: create(HelloSchema, { nodeId: nodeUuid(1), version: TURNPIKE_VERSION }) },
      })
      let firstMessage = await dp.next()
      while (firstMessage.kind.case !== 'snapshot') firstMessage = await dp.next()
      const first = firstMessage.kind.value
      assert.equal(first.version, BigInt(cp.feed.current()!.version))

      const res = await fetch(`${cp.adminUrl}/services`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'shipped', url: 'http://upstream.test' }),
      })
      assert.equal(res.status, 201)
      const svc = (await res.json()) as { id: string }
      // Unacked, the first push is still in flight: ack it so the next one may follow.
      dp.send({ kind: { case: 'ack', value: { version: first.version, hash: first.hash, nonce: first.nonce } } })
      let shipped: SnapshotMessage | undefined
      while (!shipped) {
        const message = await dp.next()
        if (message.kind.case !== 'snapshot') continue
        const m = message.kind.value
        if ((await decodeConfig(message)).entities.services?.some((s) => s.id === svc.id)) shipped = m
        else dp.send({ kind: { case: 'ack', value: { version: m.version, hash: m.hash, nonce: m.nonce } } })
      }
      assert.ok(shipped.version > first.version)

      const status = (await (await fetch(`${cp.adminUrl}/status`)).json()) as Record<string, unknown>
      assert.deepEqual(status.database, { reachable: true })
      assert.equal(status.configuration_hash, cp.feed.current()!.hash)

      await cp.close()
      const end = (await dp.ended) as grpc.StatusObject
      assert.equal(end.code, grpc.status.OK)
      await assert.rejects(fetch(`${cp.adminUrl}/`))
      dp.close()
    })
  })
}
