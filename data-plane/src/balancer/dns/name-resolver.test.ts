import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { createLogger, loadSettings } from '@turnpike/shared'
import { createUDPServer, Packet } from 'dns2'
import { pino } from 'pino'
import type { DnsAnswer, NameResolver, ResolvedRecord } from '../types.ts'
import { createNameResolver, type DnsNameResolver, type NameResolverTuning } from './name-resolver.ts'

/** One resource record the test server answers with. */
interface Rr {
  readonly type: 'A' | 'AAAA' | 'CNAME' | 'SRV'
  readonly ttl: number
  readonly address?: string
  readonly target?: string
  readonly port?: number
  readonly priority?: number
  readonly weight?: number
}

const TYPE_CODES = { A: Packet.TYPE.A, AAAA: Packet.TYPE.AAAA, CNAME: Packet.TYPE.CNAME, SRV: Packet.TYPE.SRV } as const

/**
 * A real DNS server on 127.0.0.1 answering from `zone` (mutable): NXDOMAIN for unknown names, an empty answer for a
 * known name without the type asked, CNAMEs followed one level. Address answers come in rotating order, as round-robin
 * servers do, so "unchanged" has to mean "same records", not "same bytes".
 */
async function startDns(zone: Map<string, Rr[]>) {
  const queries: string[] = []
  let turn = 0
  const server = createUDPServer((request, send) => {
    const response = Packet.createResponseFromRequest(request)
    const question = request.questions[0]!
    const name = question.name.toLowerCase()
    const type = Packet.TYPE_NAME[question.type] ?? String(question.type)
    queries.push(`${type} ${name}`)
    const rrs = zone.get(name)
    if (rrs === undefined) response.header.rcode = Packet.RCODE.NXDOMAIN
    else {
      const add = (owner: string, rr: Rr) =>
        response.answers.push(
          Packet.createResourceFromQuestion(question, {
            name: owner,
            type: TYPE_CODES[rr.type],
            class: Packet.CLASS.IN,
            ttl: rr.ttl,
            ...(rr.type === 'CNAME' ? { domain: rr.target } : {}),
            ...(rr.type === 'SRV'
              ? { target: rr.target, port: rr.port, priority: rr.priority, weight: rr.weight }
              : {}),
            ...(rr.address ? { address: rr.address } : {}),
          }),
        )
      const matching = rrs.filter((rr) => TYPE_CODES[rr.type] === question.type)
      const rotated = [
        ...matching.slice(turn % (matching.length || 1)),
        ...matching.slice(0, turn % (matching.length || 1)),
      ]
      turn++
      for (const rr of rotated) add(question.name, rr)
      const alias = rrs.find((rr) => rr.type === 'CNAME')
      if (alias && question.type !== Packet.TYPE.CNAME) {
        add(question.name, alias)
        for (const rr of zone.get(alias.target!) ?? [])
          if (TYPE_CODES[rr.type] === question.type) add(alias.target!, rr)
      }
    }
    void send(response)
  })
  await server.listen(0, '127.0.0.1')
  const { port } = server.address() as AddressInfo
  return {
    port,
    /** How many queries of `type` for `name` arrived. */
    count: (type: string, name: string) => queries.filter((q) => q === `${type} ${name}`).length,
    queries,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tp-dns-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function hostsFile(text: string): string {
  const path = join(dir, `hosts-${Math.random().toString(36).slice(2)}`)
  writeFileSync(path, text)
  return path
}

const FAST: NameResolverTuning = { ttl0Interval: 0.05, queryTimeout: 500, tries: 1 }

function resolverFor(
  port: number,
  overrides: Record<string, string> = {},
  logger = createLogger('silent'),
): DnsNameResolver {
  const settings = loadSettings({
    env: {},
    overrides: { dns_resolver: `127.0.0.1:${port}`, dns_hostsfile: '', ...overrides },
  })
  return createNameResolver(settings, logger, FAST)
}

/** Watches `name`, keeping every answer the listener got; `until` waits (bounded) for one that matches. */
function record(resolver: NameResolver, name: string) {
  const answers: DnsAnswer[] = []
  let wake: (() => void) | undefined
  const unwatch = resolver.watch(name, (answer) => {
    answers.push(answer)
    wake?.()
  })
  async function until(match: (a: DnsAnswer) => boolean, what: string): Promise<DnsAnswer> {
    const deadline = Date.now() + 5000
    for (;;) {
      const hit = answers.findLast(match)
      if (hit) return hit
      const left = deadline - Date.now()
      if (left <= 0) assert.fail(`${name}: timed out waiting for ${what}; answers: ${JSON.stringify(answers)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }
  return { answers, unwatch, until }
}

/** Polls `cond` every 10 ms for at most 5 s. */
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const addresses = (a: DnsAnswer) => (a.ok ? a.records : (a.stale ?? [])).map((r) => r.address)
const plain = (address: string): ResolvedRecord => ({ address, port: undefined, weight: undefined, srvName: undefined })

test('a name with two A records gives both; unchanged answers stay quiet and LAST skips the SRV query', async () => {
  const dns = await startDns(
    new Map([
      [
        'two.test',
        [
          { type: 'A', ttl: 0, address: '10.0.0.2' },
          { type: 'A', ttl: 0, address: '10.0.0.1' },
        ],
      ],
    ]),
  )
  const resolver = resolverFor(dns.port)
  try {
    const w = record(resolver, 'Two.Test.')
    const answer = await w.until((a) => a.ok, 'an answer')
    assert.deepEqual(answer, { ok: true, records: [plain('10.0.0.1'), plain('10.0.0.2')] })
    assert.deepEqual(resolver.current('two.test'), answer)
    // TTL 0: re-resolved every ttl0Interval; the records come back rotated, which is no change.
    await waitFor(() => dns.count('A', 'two.test') >= 4, 'four A queries')
    assert.equal(w.answers.length, 1, 'the listener ran once: the answer never changed')
    assert.equal(dns.count('SRV', 'two.test'), 1, 'after A answered, LAST tries A first')
    // A second watcher of the same name hears the answer already there, without a query of its own.
    const late = record(resolver, 'two.test')
    assert.deepEqual(await late.until((a) => a.ok, 'the current answer'), answer)
    w.unwatch()
    late.unwatch()
    assert.equal(resolver.current('two.test'), undefined, 'the last unwatch forgets the name')
  } finally {
    resolver.close()
    await dns.stop()
  }
})

test('SRV: port, weight and target name from the lowest priority group, weight 0 counted as 1', async () => {
  // Each target ends in a label found nowhere else in the answer: dns2 would compress a shared suffix inside SRV
  // data, which RFC 2782 forbids and c-ares rejects (EBADRESP).
  const dns = await startDns(
    new Map<string, Rr[]>([
      [
        '_http._tcp.svc.test',
        [
          { type: 'SRV', ttl: 60, priority: 10, weight: 0, port: 8080, target: 't1.one' },
          { type: 'SRV', ttl: 60, priority: 10, weight: 5, port: 8081, target: 't2.two' },
          { type: 'SRV', ttl: 60, priority: 10, weight: 3, port: 7000, target: 'localhost' },
          { type: 'SRV', ttl: 60, priority: 20, weight: 100, port: 9090, target: 't3.three' },
        ],
      ],
      ['t1.one', [{ type: 'A', ttl: 60, address: '10.0.1.1' }]],
      ['t2.two', [{ type: 'A', ttl: 60, address: '10.0.1.2' }]],
      ['t3.three', [{ type: 'A', ttl: 60, address: '10.0.1.3' }]],
    ]),
  )
  const resolver = resolverFor(dns.port, { dns_hostsfile: hostsFile('127.0.0.1 localhost\n') })
  try {
    const w = record(resolver, '_http._tcp.svc.test')
    const answer = await w.until((a) => a.ok, 'an answer')
    assert.deepEqual(answer, {
      ok: true,
      records: [
        { address: '10.0.1.1', port: 8080, weight: 1, srvName: 't1.one' },
        { address: '10.0.1.2', port: 8081, weight: 5, srvName: 't2.two' },
        { address: '127.0.0.1', port: 7000, weight: 3, srvName: 'localhost' },
      ],
    })
    assert.equal(dns.count('A', 't3.three'), 0, 'a higher priority group is not even resolved')
    assert.equal(dns.count('A', 'localhost'), 0, 'an SRV target in the hosts file is not queried')
    w.unwatch()
  } finally {
    resolver.close()
    await dns.stop()
  }
})

test('when the TTL runs out the changed answer is picked up and the listener hears it', async () => {
  const zone = new Map<string, Rr[]>([['change.test', [{ type: 'A', ttl: 1, address: '10.0.2.1' }]]])
  const dns = await startDns(zone)
  const resolver = resolverFor(dns.port)
  try {
    const w = record(resolver, 'change.test')
    await w.until((a) => a.ok && addresses(a).includes('10.0.2.1'), 'the first answer')
    zone.set('change.test', [{ type: 'A', ttl: 1, address: '10.0.2.2' }])
    const changed = await w.until((a) => a.ok && addresses(a).includes('10.0.2.2'), 'the changed answer')
    assert.deepEqual(changed, { ok: true, records: [plain('10.0.2.2')] })
    assert.deepEqual(w.answers.map(addresses), [['10.0.2.1'], ['10.0.2.2']], 'one call per distinct answer')
    w.unwatch()
  } finally {
    resolver.close()
    await dns.stop()
  }
})

test('dns_valid_ttl replaces the records’ TTL', async () => {
  const zone = new Map<string, Rr[]>([['long.test', [{ type: 'A', ttl: 86400, address: '10.0.5.1' }]]])
  const dns = await startDns(zone)
  const resolver = resolverFor(dns.port, { dns_valid_ttl: '0' })
  try {
    const w = record(resolver, 'long.test')
    await w.until((a) => a.ok, 'the first answer')
    zone.set('long.test', [{ type: 'A', ttl: 86400, address: '10.0.5.2' }])
    await w.until((a) => a.ok && addresses(a).includes('10.0.5.2'), 'the changed answer despite a one-day TTL')
    w.unwatch()
  } finally {
    resolver.close()
    await dns.stop()
  }
})

test('server down: the last good answer is kept, flagged stale and logged; without dns_stale_ttl it goes', async () => {
  const dns = await startDns(new Map([['stale.test', [{ type: 'A', ttl: 0, address: '10.0.3.1' }]]]))
  const lines: string[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) })
  const keeping = resolverFor(dns.port, { dns_error_ttl: '0' }, logger)
  const strict = resolverFor(dns.port, { dns_error_ttl: '0', dns_stale_ttl: '0' })
  try {
    const kept = record(keeping, 'stale.test')
    const gone = record(strict, 'stale.test')
    await kept.until((a) => a.ok, 'a good answer')
    await gone.until((a) => a.ok, 'a good answer')
    await dns.stop()

    const stale = await kept.until((a) => !a.ok, 'a failure')
    assert.ok(!stale.ok)
    assert.deepEqual(stale.stale, [plain('10.0.3.1')])
    assert.match(stale.error, /stale\.test/)
    assert.match(stale.error, /ECONNREFUSED|ETIMEOUT/)
    assert.deepEqual(keeping.current('stale.test'), stale)
    const warned = lines.map((l) => JSON.parse(l)).find((l) => l.level === 40 && l.name === 'stale.test')
    assert.ok(warned, `a warning names the host: ${lines.join('')}`)
    assert.match(warned.msg, /stale/)
    assert.match(warned.error, /ECONNREFUSED|ETIMEOUT/)

    const none = await gone.until((a) => !a.ok, 'a failure')
    assert.ok(!none.ok)
    assert.equal(none.stale, undefined, 'a TTL-0 answer with dns_stale_ttl = 0 is not served stale')
    kept.unwatch()
    gone.unwatch()
  } finally {
    keeping.close()
    strict.close()
  }
})

test('a name that never resolved: ok false, no stale answer, retried only after dns_not_found_ttl', async () => {
  const dns = await startDns(new Map([['ticking.test', [{ type: 'A', ttl: 0, address: '10.0.7.1' }]]]))
  const resolver = resolverFor(dns.port, { dns_error_ttl: '0' })
  try {
    const w = record(resolver, 'missing.test')
    const answer = await w.until((a) => !a.ok, 'a failure')
    assert.ok(!answer.ok)
    assert.equal(answer.stale, undefined)
    assert.match(answer.error, /missing\.test.*ENOTFOUND/)
    // NXDOMAIN waits dns_not_found_ttl (30 s), not dns_error_ttl, while a TTL-0 name is re-resolved meanwhile.
    const ticking = record(resolver, 'ticking.test')
    await waitFor(() => dns.count('A', 'ticking.test') >= 5, 'five queries for the TTL-0 name')
    assert.deepEqual(
      dns.queries.filter((q) => q.endsWith(' missing.test')),
      ['SRV missing.test', 'A missing.test', 'CNAME missing.test'],
    )
    w.unwatch()
    ticking.unwatch()
  } finally {
    resolver.close()
    await dns.stop()
  }
})

test('hosts-file names resolve from the file first, with no DNS query', async () => {
  const dns = await startDns(
    new Map([
      ['pinned.test', [{ type: 'A', ttl: 60, address: '10.0.0.99' }]],
      ['commented.test', [{ type: 'A', ttl: 60, address: '10.0.4.4' }]],
    ]),
  )
  const path = hostsFile(
    '# 10.1.1.1 commented.test\n127.0.0.1 localhost\n10.9.9.9\tPinned.Test alias.pinned # trailing comment\n::1 six.test\n',
  )
  const resolver = resolverFor(dns.port, { dns_hostsfile: path })
  try {
    const got: Record<string, string[]> = {}
    for (const name of ['localhost', 'pinned.test', 'ALIAS.pinned.', 'six.test', 'commented.test']) {
      const w = record(resolver, name)
      got[name] = addresses(await w.until((a) => a.ok, 'an answer'))
      w.unwatch()
    }
    assert.deepEqual(got, {
      localhost: ['127.0.0.1'],
      'pinned.test': ['10.9.9.9'],
      'ALIAS.pinned.': ['10.9.9.9'],
      'six.test': ['::1'],
      'commented.test': ['10.0.4.4'],
    })
    assert.deepEqual(
      dns.queries.filter((q) => !q.endsWith(' commented.test')),
      [],
      'only the commented-out name went to DNS',
    )
  } finally {
    resolver.close()
    await dns.stop()
  }
})

test('dns_order: CNAME follows to AAAA records; AAAA alone asks only for AAAA', async () => {
  const dns = await startDns(
    new Map<string, Rr[]>([
      ['alias.test', [{ type: 'CNAME', ttl: 60, target: 'v6.test' }]],
      ['v6.test', [{ type: 'AAAA', ttl: 60, address: 'fd00::1' }]],
    ]),
  )
  const viaCname = resolverFor(dns.port, { dns_order: 'srv,A,CNAME' })
  const onlyAaaa = resolverFor(dns.port, { dns_order: 'AAAA' })
  try {
    const a = record(viaCname, 'alias.test')
    assert.deepEqual(await a.until((x) => x.ok, 'an answer'), { ok: true, records: [plain('fd00::1')] })
    const b = record(onlyAaaa, 'v6.test')
    assert.deepEqual(await b.until((x) => x.ok, 'an answer'), { ok: true, records: [plain('fd00::1')] })
    assert.deepEqual(
      dns.queries.filter((q) => q.endsWith(' v6.test')),
      ['A v6.test', 'AAAA v6.test', 'AAAA v6.test'],
    )
    a.unwatch()
    b.unwatch()
  } finally {
    viaCname.close()
    onlyAaaa.close()
    await dns.stop()
  }
})

test('unwatching the last watcher stops re-resolving', async () => {
  const dns = await startDns(
    new Map([
      ['gone.test', [{ type: 'A', ttl: 0, address: '10.0.6.1' }]],
      ['kept.test', [{ type: 'A', ttl: 0, address: '10.0.6.2' }]],
    ]),
  )
  const resolver = resolverFor(dns.port)
  try {
    const gone = record(resolver, 'gone.test')
    await gone.until((a) => a.ok, 'an answer')
    gone.unwatch()
    gone.unwatch() // twice is harmless
    const before = dns.count('A', 'gone.test')
    const kept = record(resolver, 'kept.test')
    await waitFor(() => dns.count('A', 'kept.test') >= 5, 'five queries for the watched name')
    // One query may have been on the wire when unwatch ran; none after.
    assert.ok(dns.count('A', 'gone.test') <= before + 1, `gone.test queried ${dns.count('A', 'gone.test')} times`)
    assert.equal(resolver.current('gone.test'), undefined)
    kept.unwatch()
  } finally {
    resolver.close()
    await dns.stop()
  }
})

test("DNS settings: Kong's names and defaults, validated", () => {
  const d = loadSettings({ env: {} })
  assert.deepEqual(d.dns_resolver, [])
  assert.equal(d.dns_hostsfile, '/etc/hosts')
  assert.deepEqual(d.dns_order, ['LAST', 'SRV', 'A', 'CNAME'])
  assert.equal(d.dns_valid_ttl, undefined)
  assert.equal(d.dns_stale_ttl, 3600)
  assert.equal(d.dns_not_found_ttl, 30)
  assert.equal(d.dns_error_ttl, 1)
  assert.equal(d.dns_no_sync, false)
  const s = loadSettings({
    env: {
      TURNPIKE_DNS_RESOLVER: '10.0.0.53, 10.0.0.54:5353, ::1, [fd00::53]:53',
      TURNPIKE_DNS_ORDER: 'last, aaaa, A',
      TURNPIKE_DNS_VALID_TTL: '5',
      TURNPIKE_DNS_NO_SYNC: 'on',
    },
  })
  assert.deepEqual(s.dns_resolver, ['10.0.0.53', '10.0.0.54:5353', '[::1]', '[fd00::53]:53'])
  assert.deepEqual(s.dns_order, ['LAST', 'AAAA', 'A'])
  assert.equal(s.dns_valid_ttl, 5)
  assert.equal(s.dns_no_sync, true)
  assert.throws(() => loadSettings({ env: { TURNPIKE_DNS_ORDER: 'SRV,MX' } }), /'dns_order'.*MX/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_DNS_RESOLVER: 'dns.example:53' } }), /'dns_resolver'/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_DNS_RESOLVER: '10.0.0.1:70000' } }), /'dns_resolver'/)
  assert.throws(() => loadSettings({ env: { TURNPIKE_DNS_STALE_TTL: '-1' } }), /'dns_stale_ttl'/)
})
