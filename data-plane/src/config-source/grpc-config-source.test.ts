import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  type ConfigSyncStream,
  type ControlPlaneMessage,
  ControlPlaneMessageSchema,
  configSyncService,
  create,
  type DataPlaneMessage,
  DeltaSchema,
  grpc,
  HEALTH_CAPABILITY,
  SnapshotSchema,
} from '@turnpike/proto'
import {
  type ConfigChanges,
  type ConfigEntities,
  compressPayload,
  createLogger,
  diffSnapshots,
  encodeChangeLines,
  type HealthOverride,
  type LocalHealth,
  loadSettings,
  type RowEncoding,
  type Snapshot,
  sealSnapshot,
  snapshotAsChanges,
  type UpstreamHealth,
  upstreamsOfReport,
} from '@turnpike/shared'
import type { ApplyResult } from './config-source.ts'
import { CAPABILITIES, GrpcConfigSource, type GrpcSourceSettings } from './grpc-config-source.ts'

/** Source settings for a DP dialing `controlPlane` without TLS. */
function sourceSettings(controlPlane: string, prefix: string, over: Record<string, string> = {}): GrpcSourceSettings {
  return loadSettings({
    env: {},
    overrides: { role: 'data_plane', cluster_control_plane: controlPlane, cluster_mtls: 'off', prefix, ...over },
  })
}

const S1 = '00000000-0000-4000-8000-000000000001'
const R1 = '00000000-0000-4000-8000-0000000000a1'
const GOOD: ConfigEntities = {
  services: [{ id: S1, name: 'svc', host: 'upstream.test', port: 80, protocol: 'http' }],
  routes: [{ id: R1, paths: ['/'], service: { id: S1 } }],
}

/** A stream as seen by the test CP: messages are read in order, nothing is lost between reads. */
class Peer {
  readonly call: ConfigSyncStream
  readonly messages: AsyncIterator<DataPlaneMessage>
  constructor(call: ConfigSyncStream) {
    this.call = call
    this.messages = call[Symbol.asyncIterator]()
  }
  async next(): Promise<DataPlaneMessage['kind']> {
    for (;;) {
      const { value, done } = await this.messages.next()
      if (done) throw new Error('stream ended')
      // Periodic heartbeats are not what these tests wait for.
      if (value.kind.case !== 'heartbeat') return value.kind
    }
  }
  sendSnapshot(snapshot: Snapshot, nonce: string, hash = snapshot.hash): void {
    void encode(snapshotAsChanges(snapshot), 'rows+gzip').then(({ payload, rawSize }) =>
      this.call.write(
        create(ControlPlaneMessageSchema, {
          kind: {
            case: 'snapshot',
            value: create(SnapshotSchema, {
              version: BigInt(snapshot.version),
              hash,
              partHashes: snapshot.part_hashes,
              nonce,
              encoding: 'rows+gzip',
              payload,
              rawSize,
            }),
          },
        }),
      ),
    )
  }
  sendDelta(base: { version: number; hash: string }, next: Snapshot, changes: ConfigChanges, nonce: string): void {
    void encode(changes, 'rows+zstd').then(({ payload, rawSize }) =>
      this.call.write(
        create(ControlPlaneMessageSchema, {
          kind: {
            case: 'delta',
            value: create(DeltaSchema, {
              fromVersion: BigInt(base.version),
              fromHash: base.hash,
              toVersion: BigInt(next.version),
              hash: next.hash,
              partHashes: next.part_hashes,
              nonce,
              encoding: 'rows+zstd',
              payload,
              rawSize,
            }),
          },
        }),
      ),
    )
  }
  send(kind: ControlPlaneMessage['kind']): void {
    this.call.write(create(ControlPlaneMessageSchema, { kind }))
  }
}

async function encode(changes: ConfigChanges, encoding: RowEncoding): Promise<{ payload: Buffer; rawSize: bigint }> {
  const raw = await encodeChangeLines(changes)
  return { payload: await compressPayload(raw, encoding), rawSize: BigInt(raw.length) }
}

/** A control plane stub: hands every new stream to the test. */
class TestControlPlane {
  readonly server = new grpc.Server()
  readonly #waiting: ((peer: Peer) => void)[] = []
  readonly #ready: Peer[] = []
  port = 0

  async start(port = 0): Promise<void> {
    this.server.addService(configSyncService, {
      stream: (call: ConfigSyncStream) => {
        const peer = new Peer(call)
        const waiter = this.#waiting.shift()
        if (waiter) waiter(peer)
        else this.#ready.push(peer)
      },
    })
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    )
  }

  nextPeer(): Promise<Peer> {
    const ready = this.#ready.shift()
    if (ready) return Promise.resolve(ready)
    return new Promise((resolve) => this.#waiting.push(resolve))
  }
}

describe('GrpcConfigSource', () => {
  let prefix: string
  let cp: TestControlPlane
  let source: GrpcConfigSource
  let served: Snapshot | undefined
  const applied: Snapshot[] = []
  /** Stands in for the applier: rejects routes without paths, as a real validation failure would. */
  const onSnapshot = async (s: Snapshot): Promise<ApplyResult> => {
    if (s.entities.routes!.some((r) => !r.paths)) return { ok: false, error: 'invalid snapshot: routes need paths' }
    applied.push(s)
    served = s
    return { ok: true }
  }

  before(async () => {
    prefix = await mkdtemp(join(tmpdir(), 'turnpike-grpc-'))
    cp = new TestControlPlane()
    await cp.start()
    source = new GrpcConfigSource({
      settings: sourceSettings(`127.0.0.1:${cp.port}`, prefix, {
        cluster_dp_labels: 'region:eu-west,tier:edge',
        plugins: 'key-auth,cors',
      }),
      logger: createLogger('silent'),
      backoff: { initialMs: 20, maxMs: 200 },
    })
    source.start(onSnapshot, () => served)
  })

  after(async () => {
    await source?.stop()
    cp?.server.forceShutdown()
    await rm(prefix, { recursive: true, force: true })
  })

  let first: Peer
  let good: Snapshot

  it('says Hello with a persisted node id, its plugins, labels and capabilities, and nothing served yet', async () => {
    first = await cp.nextPeer()
    const hello = await first.next()
    assert.equal(hello.case, 'hello')
    const nodeId = (await readFile(join(prefix, 'node_id'), 'utf8')).trim()
    assert.equal(hello.value.nodeId, nodeId)
    assert.match(nodeId, /^[0-9a-f-]{36}$/)
    assert.equal(hello.value.configHash, '')
    assert.equal(hello.value.configVersion, 0n)
    assert.ok(hello.value.hostname)
    assert.deepEqual(hello.value.plugins.map((p) => p.name).sort(), ['cors', 'key-auth'])
    assert.deepEqual(hello.value.labels, { region: 'eu-west', tier: 'edge' })
    assert.deepEqual(hello.value.capabilities, CAPABILITIES)
  })

  it('applies a snapshot and Acks it with version, hash and nonce', async () => {
    good = sealSnapshot(7, GOOD)
    first.sendSnapshot(good, 'nonce-1')
    const ack = await first.next()
    assert.equal(ack.case, 'ack')
    assert.equal(ack.value.version, 7n)
    assert.equal(ack.value.hash, good.hash)
    assert.equal(ack.value.nonce, 'nonce-1')
    assert.equal(applied.length, 1)
    assert.deepEqual(applied[0]!.entities, good.entities)
    assert.equal(source.status().state, 'connected')
  })

  it('Nacks a snapshot whose content does not match its hash, without applying it', async () => {
    const tampered = sealSnapshot(8, { ...GOOD, routes: [{ ...GOOD.routes![0]!, paths: ['/evil'] }] })
    first.sendSnapshot(tampered, 'nonce-2', good.hash)
    const nack = await first.next()
    assert.equal(nack.case, 'nack')
    assert.equal(nack.value.version, 8n)
    assert.equal(nack.value.nonce, 'nonce-2')
    assert.match(nack.value.error, /hash mismatch/)
    assert.equal(applied.length, 1)
  })

  it("Nacks a snapshot the applier rejects, with the applier's error", async () => {
    const invalid = sealSnapshot(9, { ...GOOD, routes: [{ id: R1, hosts: ['x.test'], service: { id: S1 } }] })
    first.sendSnapshot(invalid, 'nonce-3')
    const nack = await first.next()
    assert.equal(nack.case, 'nack')
    assert.equal(nack.value.error, 'invalid snapshot: routes need paths')
    assert.match(source.status().last_error ?? '', /routes need paths/)
  })

  it('applies a delta to the config it serves, and Nacks one from another base', async () => {
    const next = sealSnapshot(10, { ...GOOD, routes: [{ ...GOOD.routes![0]!, paths: ['/v10'] }] })
    const before = served
    first.sendDelta(good, next, diffSnapshots(good, next), 'nonce-d1')
    const ack = await first.next()
    assert.equal(ack.case, 'ack')
    assert.equal(ack.value.version, 10n)
    assert.equal(served?.hash, next.hash)
    assert.deepEqual(served?.entities.routes?.[0]?.paths, ['/v10'])
    assert.equal(served?.entities.services, before?.entities.services, 'untouched collections are shared')

    first.sendDelta(good, sealSnapshot(11, GOOD), {}, 'nonce-d2')
    const nack = await first.next()
    assert.equal(nack.case, 'nack')
    assert.match(nack.value.error, /delta base mismatch: this node serves version 10/)
    good = next
  })

  it('Nacks config using a plugin it does not run, and shows a refusal in its status', async () => {
    const withPlugin = sealSnapshot(12, { ...GOOD, plugins: [{ id: R1, name: 'rate-limiting' }] })
    first.sendSnapshot(withPlugin, 'nonce-5')
    const nack = await first.next()
    assert.equal(nack.case, 'nack')
    assert.match(nack.value.error, /plugins not available on this data plane: rate-limiting/)

    first.send({
      case: 'refusal',
      value: { syncStatus: 'plugin_set_incompatible', message: 'missing: rate-limiting', version: 12n } as never,
    })
    await waitFor(() => source.status().refusal != null, 'refusal')
    assert.deepEqual(source.status().refusal, {
      sync_status: 'plugin_set_incompatible',
      message: 'missing: rate-limiting',
    })
    assert.equal(served?.hash, good.hash, 'the config it had keeps serving')
  })

  it('answers control plane heartbeats with what it serves', async () => {
    first.send({ case: 'heartbeat', value: { configVersion: 10n, configHash: '', sentAtMs: 1n } as never })
    for (;;) {
      const { value, done } = await first.messages.next()
      assert.ok(!done)
      if (value.kind.case !== 'heartbeat') continue
      assert.equal(value.kind.value.configHash, good.hash)
      break
    }
  })

  it('reconnects when the control plane ends the stream, announcing what it serves', async () => {
    first.call.end()
    const second = await cp.nextPeer()
    const hello = await second.next()
    assert.equal(hello.case, 'hello')
    assert.equal(hello.value.configHash, good.hash)
    assert.equal(hello.value.configVersion, 10n)
    assert.equal(hello.value.nodeId, (await readFile(join(prefix, 'node_id'), 'utf8')).trim())
    second.sendSnapshot(good, 'nonce-4')
    assert.equal((await second.next()).case, 'ack')
  })

  it('keeps redialing while the control plane is down and resumes when it is back', async () => {
    const port = cp.port
    cp.server.forceShutdown()
    await waitFor(() => source.status().state !== 'connected', 'disconnect')
    assert.equal(source.status().control_plane, `127.0.0.1:${port}`)
    assert.ok(source.status().last_error)

    cp = new TestControlPlane()
    await cp.start(port)
    const peer = await cp.nextPeer()
    const hello = await peer.next()
    assert.equal(hello.case, 'hello')
    assert.equal(hello.value.configHash, good.hash)
    await waitFor(() => source.status().state === 'connected', 'reconnect')
  })

  it('keeps the same node id across instances', async () => {
    const again = new GrpcConfigSource({
      settings: sourceSettings('127.0.0.1:1', prefix),
      logger: createLogger('silent'),
    })
    assert.equal(await again.nodeId(), await source.nodeId())
  })

  it('needs a cluster certificate unless mTLS is off, and says how to make one', () => {
    assert.throws(
      () =>
        new GrpcConfigSource({
          settings: sourceSettings('127.0.0.1:1', prefix, { cluster_mtls: 'shared' }),
          logger: createLogger('silent'),
        }),
      /cluster_mtls=shared needs cluster_cert and cluster_cert_key.*turnpike cert gen/,
    )
  })
})

describe('GrpcConfigSource failover', () => {
  it('rotates through several control planes and drops one that falls silent', async () => {
    const prefix = await mkdtemp(join(tmpdir(), 'turnpike-grpc-'))
    const silent = new TestControlPlane()
    await silent.start()
    const live = new TestControlPlane()
    await live.start()
    const source = new GrpcConfigSource({
      // A dead address first, then one that accepts and never speaks, then a live one.
      settings: sourceSettings(`127.0.0.1:1,127.0.0.1:${silent.port},127.0.0.1:${live.port}`, prefix),
      logger: createLogger('silent'),
      backoff: { initialMs: 20, maxMs: 100 },
      deadlineMs: 300,
    })
    source.start(
      async () => ({ ok: true }),
      () => undefined,
    )
    try {
      const quiet = await silent.nextPeer()
      assert.equal((await quiet.next()).case, 'hello')
      const peer = await live.nextPeer()
      assert.equal((await peer.next()).case, 'hello')
      peer.sendSnapshot(sealSnapshot(1, GOOD), 'n1')
      assert.equal((await peer.next()).case, 'ack')
      assert.equal(source.status().control_plane, `127.0.0.1:${live.port}`)
    } finally {
      await source.stop()
      silent.server.forceShutdown()
      live.server.forceShutdown()
      await rm(prefix, { recursive: true, force: true })
    }
  })
})

/** Balancers whose report the test sets, which record the overrides they are given. */
class FakeBalancers implements LocalHealth {
  upstreams: UpstreamHealth[] = []
  readonly overrides: HealthOverride[] = []
  reads = 0
  readonly #listeners: (() => void)[] = []
  report(): UpstreamHealth[] {
    this.reads++
    return structuredClone(this.upstreams)
  }
  override(o: HealthOverride): boolean {
    this.overrides.push(o)
    return o.upstream_id === UP
  }
  onChange(listener: () => void): void {
    this.#listeners.push(listener)
  }
  changed(): void {
    for (const l of this.#listeners) l()
  }
}

const UP = '00000000-0000-4000-8000-0000000000b1'
const T1 = '00000000-0000-4000-8000-0000000000b2'

function upstreamReport(health: 'HEALTHY' | 'UNHEALTHY'): UpstreamHealth {
  const unavailable = health === 'HEALTHY' ? 0 : 100
  return {
    upstream_id: UP,
    upstream_name: 'backend.test',
    health,
    weight: { total: 100, available: 100 - unavailable, unavailable },
    targets: [
      {
        target_id: T1,
        target: 'svc.test:80',
        weight: 100,
        health,
        addresses: [{ ip: '10.0.0.1', port: 80, health, weight: 100 }],
      },
    ],
  }
}

/** A report message back in the contract's shape. */
function reported(kind: DataPlaneMessage['kind']): UpstreamHealth[] {
  assert.equal(kind.case, 'healthReport')
  return upstreamsOfReport(kind.value)
}

describe('GrpcConfigSource health', () => {
  let prefix: string
  let cp: TestControlPlane
  let source: GrpcConfigSource
  const balancers = new FakeBalancers()
  let peer: Peer

  before(async () => {
    prefix = await mkdtemp(join(tmpdir(), 'turnpike-grpc-'))
    cp = new TestControlPlane()
    await cp.start()
    balancers.upstreams = [upstreamReport('HEALTHY')]
    source = new GrpcConfigSource({
      settings: sourceSettings(`127.0.0.1:${cp.port}`, prefix),
      logger: createLogger('silent'),
      backoff: { initialMs: 20, maxMs: 200 },
      health: balancers,
      healthReportMs: 50,
    })
    source.start(
      async () => ({ ok: true }),
      () => undefined,
    )
  })

  after(async () => {
    await source?.stop()
    cp?.server.forceShutdown()
    await rm(prefix, { recursive: true, force: true })
  })

  it('announces the health capability and reports right after Hello', async () => {
    peer = await cp.nextPeer()
    const hello = await peer.next()
    assert.equal(hello.case, 'hello')
    assert.deepEqual(hello.value.capabilities, [...CAPABILITIES, HEALTH_CAPABILITY])
    const report = await peer.next()
    assert.deepEqual(reported(report), [upstreamReport('HEALTHY')])
  })

  it('sends one report for a burst of changes, with the state after the last', async () => {
    const reads = balancers.reads
    balancers.upstreams = [upstreamReport('UNHEALTHY')]
    for (let i = 0; i < 5; i++) balancers.changed()
    balancers.upstreams = [upstreamReport('UNHEALTHY'), { ...upstreamReport('HEALTHY'), upstream_id: T1 }]
    balancers.changed()
    const report = await peer.next()
    assert.deepEqual(reported(report), balancers.upstreams)
    assert.equal(balancers.reads - reads, 1, 'the balancers were read once for the burst')
    // Nothing else is pending: the next thing it says is its answer to a heartbeat.
    peer.send({ case: 'heartbeat', value: { configVersion: 0n, configHash: '', sentAtMs: 1n } as never })
    const { value } = await peer.messages.next()
    assert.equal(value.kind.case, 'heartbeat')
    assert.equal(balancers.reads - reads, 1)
  })

  it('applies the control plane’s overrides to its balancers', async () => {
    peer.send({
      case: 'healthOverride',
      value: { upstreamId: UP, target: 'svc.test:80', address: '10.0.0.1:80', healthy: false } as never,
    })
    peer.send({
      case: 'healthOverride',
      value: { upstreamId: UP, target: 'svc.test:80', address: '', healthy: true } as never,
    })
    // An unknown upstream is logged and ignored; the stream goes on.
    peer.send({ case: 'healthOverride', value: { upstreamId: T1, target: 'x:1', address: '', healthy: true } as never })
    await waitFor(() => balancers.overrides.length === 3, 'overrides')
    assert.deepEqual(balancers.overrides, [
      { upstream_id: UP, target: 'svc.test:80', address: '10.0.0.1:80', healthy: false },
      { upstream_id: UP, target: 'svc.test:80', healthy: true },
      { upstream_id: T1, target: 'x:1', healthy: true },
    ])
    assert.equal(source.status().state, 'connected')
  })

  it('reports in full again on every new stream', async () => {
    balancers.upstreams = [upstreamReport('HEALTHY')]
    peer.call.end()
    const next = await cp.nextPeer()
    assert.equal((await next.next()).case, 'hello')
    assert.deepEqual(reported(await next.next()), [upstreamReport('HEALTHY')])
  })
})

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10))
  assert.ok(check(), `timed out waiting for ${what}`)
}
