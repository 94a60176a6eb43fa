import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  AckSchema,
  type ControlPlaneMessage,
  create,
  grpc,
  HeartbeatSchema,
  HelloSchema,
  NackSchema,
  type Snapshot as SnapshotMessage,
} from '@turnpike/proto'
import {
  type ConfigEntities,
  createLogger,
  decodeEntities,
  type Snapshot,
  type SnapshotFeed,
  sealSnapshot,
} from '@turnpike/shared'
import { SNAPSHOT_ENCODING, type SyncServer, startSyncServer } from './grpc-server.ts'
import { connectRawDataPlane, until } from './test-dp-client.ts'

/** A feed the test publishes to by hand. */
function manualFeed() {
  let current: Snapshot | undefined
  const listeners = new Set<(s: Snapshot) => void>()
  const feed: SnapshotFeed & { publish(s: Snapshot): void } = {
    current: () => current,
    subscribe(l) {
      listeners.add(l)
      return () => listeners.delete(l)
    },
    publish(s) {
      current = s
      for (const l of listeners) l(s)
    },
  }
  return feed
}

const config = (host: string) =>
  ({
    services: [{ id: '00000000-0000-4000-8000-0000000000aa', host, port: 80 }],
    routes: [],
  }) as unknown as ConfigEntities

const testLogger = createLogger('silent')

function asSnapshot(m: ControlPlaneMessage): SnapshotMessage {
  assert.equal(m.kind.case, 'snapshot')
  return m.kind.value as SnapshotMessage
}

describe('gRPC sync server', { timeout: 30_000 }, () => {
  const feed = manualFeed()
  let server: SyncServer
  before(async () => {
    feed.publish(sealSnapshot(1, config('one.test')))
    server = await startSyncServer({
      feed,
      logger: testLogger,
      listen: { host: '127.0.0.1', port: 0, ssl: false, http2: false },
      credentials: grpc.ServerCredentials.createInsecure(),
    })
  })
  after(() => server?.close())

  it('binds a real port', () => {
    assert.match(server.address, /^127\.0\.0\.1:[1-9]\d*$/)
  })

  it('streams the current snapshot after Hello, then newer ones, and records Acks and Nacks', async () => {
    const dp = connectRawDataPlane(server.address)
    dp.send({
      kind: {
        case: 'hello',
        value: create(HelloSchema, { nodeId: 'dp-a', hostname: 'dp-a.local', version: '0.1.0', labels: { zone: 'a' } }),
      },
    })
    const first = asSnapshot(await dp.next())
    assert.equal(first.version, 1n)
    assert.equal(first.encoding, SNAPSHOT_ENCODING)
    assert.equal(first.hash, feed.current()!.hash)
    assert.deepEqual(first.partHashes, feed.current()!.part_hashes)
    assert.deepEqual(decodeEntities(first.payload), feed.current()!.entities)

    const listed = server.registry.get('dp-a')!
    assert.equal(listed.hostname, 'dp-a.local')
    assert.equal(listed.ip, '127.0.0.1')
    assert.deepEqual(listed.labels, { zone: 'a' })
    assert.equal(listed.pending?.nonce, first.nonce)

    dp.send({
      kind: { case: 'ack', value: create(AckSchema, { version: first.version, hash: first.hash, nonce: first.nonce }) },
    })
    await until(() => server.registry.get('dp-a')?.config_version === 1)
    assert.equal(server.registry.get('dp-a')?.sync_status, 'normal')

    feed.publish(sealSnapshot(2, config('two.test')))
    const second = asSnapshot(await dp.next())
    assert.equal(second.version, 2n)
    assert.notEqual(second.nonce, first.nonce)
    dp.send({
      kind: { case: 'nack', value: create(NackSchema, { version: 2n, nonce: second.nonce, error: 'bad config' }) },
    })
    await until(() => server.registry.get('dp-a')?.sync_status === 'config_rejected')
    assert.equal(server.registry.get('dp-a')?.last_error, 'bad config')
    assert.equal(server.registry.get('dp-a')?.config_version, 1)

    dp.send({ kind: { case: 'heartbeat', value: create(HeartbeatSchema, { configVersion: 1n }) } })
    dp.close()
    await until(() => server.registry.get('dp-a')?.connected === false)
  })

  it('skips the push when the DP already holds the current config', async () => {
    const current = feed.current()!
    const dp = connectRawDataPlane(server.address)
    dp.send({
      kind: {
        case: 'hello',
        value: create(HelloSchema, {
          nodeId: 'dp-b',
          configVersion: BigInt(current.version),
          configHash: current.hash,
        }),
      },
    })
    await until(() => server.registry.get('dp-b')?.sync_status === 'normal')
    assert.equal(server.registry.get('dp-b')?.pending, null)
    feed.publish(sealSnapshot(current.version + 1, config('three.test')))
    assert.equal(asSnapshot(await dp.next()).version, BigInt(current.version + 1))
    dp.close()
  })

  it('ends a stream that does not start with Hello', async () => {
    const dp = connectRawDataPlane(server.address)
    dp.send({ kind: { case: 'ack', value: create(AckSchema, { nonce: '1' }) } })
    const end = (await dp.ended) as grpc.StatusObject
    assert.equal(end.code, grpc.status.FAILED_PRECONDITION)
    dp.close()
  })

  it('ends open streams when it closes', async () => {
    const other = await startSyncServer({
      feed,
      logger: testLogger,
      listen: { host: '127.0.0.1', port: 0, ssl: false, http2: false },
      credentials: grpc.ServerCredentials.createInsecure(),
    })
    const dp = connectRawDataPlane(other.address)
    dp.send({ kind: { case: 'hello', value: create(HelloSchema, { nodeId: 'dp-c' }) } })
    await dp.next()
    await other.close()
    const end = (await dp.ended) as grpc.StatusObject
    assert.equal(end.code, grpc.status.OK)
    dp.close()
  })
})
