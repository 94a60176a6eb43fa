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
} from '@turnpike/proto'
import {
  type ClusterIdentity,
  type ConfigEntities,
  checkSharedServer,
  createLogger,
  generateSelfSigned,
  loadClusterIdentity,
  type SnapshotFeed,
  sealSnapshot,
} from '@turnpike/shared'
import { clusterCredentials, type SyncServer, type SyncServerOptions, startSyncServer } from './grpc-server.ts'
import { DELTA_CAPABILITY } from './stream-state.ts'
import { connectRawDataPlane, decodeConfig, manualFeed, nodeUuid, type RawDataPlane, until } from './test-dp-client.ts'

const config = (host: string, plugins: string[] = []) =>
  ({
    services: [{ id: '00000000-0000-4000-8000-0000000000aa', host, port: 80 }],
    routes: [],
    plugins: plugins.map((name, i) => ({ id: `00000000-0000-4000-8000-0000000001${i}0`, name })),
  }) as unknown as ConfigEntities

const testLogger = createLogger('silent')
const loopback = { host: '127.0.0.1', port: 0, ssl: false, http2: false }
const servers: SyncServer[] = []

async function server(feed: SnapshotFeed, over: Partial<SyncServerOptions> = {}): Promise<SyncServer> {
  const s = await startSyncServer({
    feed,
    logger: testLogger,
    listen: loopback,
    credentials: grpc.ServerCredentials.createInsecure(),
    plugins: new Map([['key-auth', '0.1.0']]),
    ...over,
  })
  servers.push(s)
  return s
}

/** The next message of one kind, skipping heartbeats. */
async function nextOf(dp: RawDataPlane, kind: ControlPlaneMessage['kind']['case']): Promise<ControlPlaneMessage> {
  for (;;) {
    const m = await dp.next()
    if (m.kind.case === kind) return m
    if (m.kind.case !== 'heartbeat') throw new Error(`expected ${kind}, got ${m.kind.case}`)
  }
}

function hello(dp: RawDataPlane, over: Parameters<typeof create<typeof HelloSchema>>[1] = {}) {
  dp.send({
    kind: {
      case: 'hello',
      value: create(HelloSchema, {
        nodeId: nodeUuid(1),
        version: '0.1.0',
        plugins: [{ name: 'key-auth', version: '0.1.0' }],
        capabilities: ['encoding:rows+zstd', 'encoding:rows+gzip'],
        ...over,
      }),
    },
  })
}

function ack(dp: RawDataPlane, m: ControlPlaneMessage) {
  const v = m.kind.value as { version?: bigint; toVersion?: bigint; hash: string; nonce: string }
  dp.send({
    kind: {
      case: 'ack',
      value: create(AckSchema, { version: v.version ?? v.toVersion, hash: v.hash, nonce: v.nonce }),
    },
  })
}

after(async () => {
  for (const s of servers) await s.close()
})

describe('gRPC sync server', { timeout: 30_000 }, () => {
  const feed = manualFeed()
  let sync: SyncServer
  before(async () => {
    feed.publish(sealSnapshot(1, config('one.test')))
    sync = await server(feed)
  })

  it('binds a real port', () => {
    assert.match(sync.address, /^127\.0\.0\.1:[1-9]\d*$/)
  })

  it('streams the current snapshot after Hello, then newer ones, and records Acks and Nacks', async () => {
    const dp = connectRawDataPlane(sync.address)
    const id = nodeUuid(10)
    hello(dp, { nodeId: id, hostname: 'dp-a.local', labels: { zone: 'a' } })
    const first = await nextOf(dp, 'snapshot')
    const s1 = first.kind.value as { version: bigint; encoding: string; hash: string; nonce: string }
    assert.equal(s1.version, 1n)
    assert.equal(s1.encoding, 'rows+zstd')
    const decoded = await decodeConfig(first)
    assert.equal(decoded.hash, feed.current()!.hash)
    assert.deepEqual(decoded.entities, feed.current()!.entities)

    const listed = sync.registry.get(id)!
    assert.equal(listed.hostname, 'dp-a.local')
    assert.equal(listed.ip, '127.0.0.1')
    assert.deepEqual(listed.labels, { zone: 'a' })
    assert.equal(listed.pending?.nonce, s1.nonce)

    ack(dp, first)
    await until(() => sync.registry.get(id)?.config_version === 1)
    assert.equal(sync.registry.get(id)?.sync_status, 'normal')

    feed.publish(sealSnapshot(2, config('two.test')))
    const second = await nextOf(dp, 'snapshot')
    const s2 = second.kind.value as { version: bigint; nonce: string }
    assert.equal(s2.version, 2n)
    assert.notEqual(s2.nonce, s1.nonce)
    dp.send({
      kind: { case: 'nack', value: create(NackSchema, { version: 2n, nonce: s2.nonce, error: 'bad config' }) },
    })
    await until(() => sync.registry.get(id)?.sync_status === 'config_rejected')
    assert.equal(sync.registry.get(id)?.last_error, 'bad config')
    assert.equal(sync.registry.get(id)?.config_version, 1)

    dp.send({ kind: { case: 'heartbeat', value: create(HeartbeatSchema, { configVersion: 1n }) } })
    dp.close()
    await until(() => sync.registry.get(id)?.connected === false)
  })

  it('skips the push when the DP already holds the current config', async () => {
    const current = feed.current()!
    const dp = connectRawDataPlane(sync.address)
    const id = nodeUuid(11)
    hello(dp, { nodeId: id, configVersion: BigInt(current.version), configHash: current.hash })
    await until(() => sync.registry.get(id)?.sync_status === 'normal')
    assert.equal(sync.registry.get(id)?.pending, null)
    feed.publish(sealSnapshot(current.version + 1, config('three.test')))
    const next = await nextOf(dp, 'snapshot')
    assert.equal((next.kind.value as { version: bigint }).version, BigInt(current.version + 1))
    dp.close()
  })

  it('sends a delta to a DP holding a logged version, and the whole config after it Nacks one', async () => {
    const base = feed.current()!
    const dp = connectRawDataPlane(sync.address)
    const id = nodeUuid(12)
    hello(dp, {
      nodeId: id,
      configVersion: BigInt(base.version),
      configHash: base.hash,
      capabilities: [DELTA_CAPABILITY, 'encoding:rows+gzip'],
    })
    await until(() => sync.registry.get(id)?.sync_status === 'normal')
    const next = sealSnapshot(base.version + 1, config('four.test'))
    feed.publish(next)
    const delta = await nextOf(dp, 'delta')
    const d = delta.kind.value as { fromVersion: bigint; toVersion: bigint; encoding: string; nonce: string }
    assert.deepEqual(
      [d.fromVersion, d.toVersion, d.encoding],
      [BigInt(base.version), BigInt(next.version), 'rows+gzip'],
    )
    assert.equal((await decodeConfig(delta, base)).hash, next.hash)
    dp.send({
      kind: { case: 'nack', value: create(NackSchema, { nonce: d.nonce, error: 'delta result hash mismatch' }) },
    })
    const full = await nextOf(dp, 'snapshot')
    assert.equal((await decodeConfig(full)).hash, next.hash)
    ack(dp, full)
    await until(() => sync.registry.get(id)?.config_hash === next.hash)
    dp.close()
  })

  it('refuses a DP of an incompatible version, and config using a plugin a DP lacks', async () => {
    const old = connectRawDataPlane(sync.address)
    hello(old, { nodeId: nodeUuid(13), version: '9.0.0' })
    const refusal = await nextOf(old, 'refusal')
    assert.equal((refusal.kind.value as { syncStatus: string }).syncStatus, 'kong_version_incompatible')
    assert.equal(((await old.ended) as grpc.StatusObject).code, grpc.status.FAILED_PRECONDITION)
    assert.equal(sync.registry.get(nodeUuid(13))?.sync_status, 'kong_version_incompatible')
    old.close()

    const current = feed.current()!
    const dp = connectRawDataPlane(sync.address)
    const id = nodeUuid(14)
    hello(dp, { nodeId: id, configVersion: BigInt(current.version), configHash: current.hash, plugins: [] })
    await until(() => sync.registry.get(id)?.sync_status === 'normal')
    feed.publish(sealSnapshot(current.version + 1, config('five.test', ['key-auth'])))
    const r = (await nextOf(dp, 'refusal')).kind.value as { syncStatus: string; message: string }
    assert.equal(r.syncStatus, 'plugin_set_incompatible')
    assert.match(r.message, /key-auth/)
    assert.equal(sync.registry.get(id)?.config_hash, current.hash, 'the DP keeps its config')
    dp.close()
  })

  it('ends a stream that does not start with Hello, or names itself with something other than a UUID', async () => {
    const dp = connectRawDataPlane(sync.address)
    dp.send({ kind: { case: 'ack', value: create(AckSchema, { nonce: '1' }) } })
    assert.equal(((await dp.ended) as grpc.StatusObject).code, grpc.status.FAILED_PRECONDITION)
    dp.close()
    const named = connectRawDataPlane(sync.address)
    hello(named, { nodeId: 'dp-1' })
    assert.equal(((await named.ended) as grpc.StatusObject).code, grpc.status.INVALID_ARGUMENT)
    named.close()
  })
})

describe('gRPC sync server heartbeats and shutdown', { timeout: 30_000 }, () => {
  it('heartbeats every stream and ends one that stays silent past its deadline', async () => {
    const feed = manualFeed()
    feed.publish(sealSnapshot(1, config('one.test')))
    const sync = await server(feed, { heartbeatMs: 50, deadlineMs: 300 })
    const dp = connectRawDataPlane(sync.address)
    hello(dp, { nodeId: nodeUuid(20) })
    await nextOf(dp, 'snapshot')
    const beat = await dp.next()
    assert.equal(beat.kind.case, 'heartbeat')
    const end = (await dp.ended) as grpc.StatusObject
    assert.equal(end.code, grpc.status.UNAVAILABLE)
    assert.match(end.details, /no message from the data plane/)
    dp.close()
  })

  it('ends open streams when it closes', async () => {
    const feed = manualFeed()
    feed.publish(sealSnapshot(1, config('one.test')))
    const other = await startSyncServer({
      feed,
      logger: testLogger,
      listen: loopback,
      credentials: grpc.ServerCredentials.createInsecure(),
    })
    const dp = connectRawDataPlane(other.address)
    hello(dp, { nodeId: nodeUuid(21) })
    await nextOf(dp, 'snapshot')
    await other.close()
    const end = (await dp.ended) as grpc.StatusObject
    assert.equal(end.code, grpc.status.OK)
    dp.close()
  })
})

describe('gRPC sync server with cluster mTLS', { timeout: 30_000 }, () => {
  const pair = generateSelfSigned('turnpike_clustering', 30)
  const identity = loadClusterIdentity({
    cluster_mtls: 'shared',
    cluster_cert: pair.cert,
    cluster_cert_key: pair.key,
    cluster_ca_cert: '',
    cluster_server_name: '',
    cluster_allowed_common_names: [],
  }) as ClusterIdentity
  const feed = manualFeed()
  feed.publish(sealSnapshot(1, config('one.test')))
  let sync: SyncServer
  before(async () => {
    sync = await server(feed, {
      identity,
      credentials: clusterCredentials({ cluster_mtls: 'shared' }, identity, testLogger),
    })
  })

  const tlsOptions = { 'grpc.ssl_target_name_override': identity.serverName }
  const clientCredentials = (cert?: { cert: string; key: string }) =>
    grpc.credentials.createSsl(
      identity.cert,
      cert ? Buffer.from(cert.key) : null,
      cert ? Buffer.from(cert.cert) : null,
      { checkServerIdentity: (_host, peer) => checkSharedServer(identity, peer) },
    )

  it('serves a DP presenting the shared certificate and records its expiry', async () => {
    const dp = connectRawDataPlane(sync.address, clientCredentials(pair), tlsOptions)
    hello(dp, { nodeId: nodeUuid(30) })
    await nextOf(dp, 'snapshot')
    assert.equal(sync.registry.get(nodeUuid(30))?.cert_expiry, identity.expiry)
    dp.close()
  })

  it('refuses a DP without a certificate, or with another one', async () => {
    for (const cert of [undefined, generateSelfSigned('turnpike_clustering', 30)]) {
      const dp = connectRawDataPlane(sync.address, clientCredentials(cert), tlsOptions)
      hello(dp, { nodeId: nodeUuid(31) })
      const end = (await dp.ended) as grpc.StatusObject
      assert.equal(end.code, grpc.status.UNAUTHENTICATED, end.details)
      assert.match(end.details, /cluster certificate refused/)
      dp.close()
    }
    assert.equal(sync.registry.get(nodeUuid(31)), undefined)
  })
})
