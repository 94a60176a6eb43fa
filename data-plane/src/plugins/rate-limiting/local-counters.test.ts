import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Worker } from 'node:worker_threads'
import {
  attachLocalCounters,
  clearLocalCounters,
  createLocalCountersBuffer,
  localCounterEvictions,
  localIncrement,
  localUsage,
} from './local-counters.ts'

const MODULE = new URL('./local-counters.ts', import.meta.url).href
const MINUTE = 60_000
/** A time at the start of a minute (and of a second). */
const T0 = Date.UTC(2026, 11, 2, 12, 0, 0)

/** Counts `n` requests for `key` on another thread, in the given table. */
function countOnThread(buffer: SharedArrayBuffer, key: string, n: number, now: number): Promise<void> {
  const code = `
    import { workerData, parentPort } from 'node:worker_threads'
    const { attachLocalCounters, localIncrement } = await import(${JSON.stringify(MODULE)})
    attachLocalCounters(workerData.buffer)
    for (let i = 0; i < workerData.n; i++) localIncrement(workerData.key, ['minute', 'hour'], workerData.now)
    parentPort.postMessage('done')
  `
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), {
    workerData: { buffer, key, n, now },
  })
  return new Promise((resolve, reject) => {
    worker.once('message', () => resolve())
    worker.once('error', reject)
  })
}

describe('local rate-limiting counters (shared by the node’s threads)', () => {
  it('counts exactly when threads count the same key at the same time', async () => {
    const buffer = createLocalCountersBuffer(64)
    await Promise.all([1, 2, 3, 4].map(() => countOnThread(buffer, 'ratelimit:r:s:1.2.3.4', 10_000, T0 + 5)))
    attachLocalCounters(buffer)
    assert.equal(localUsage('ratelimit:r:s:1.2.3.4', 'minute', false, T0 + 10), 40_000)
    assert.equal(localUsage('ratelimit:r:s:1.2.3.4', 'hour', false, T0 + 10), 40_000)
    assert.equal(localUsage('ratelimit:r:s:other', 'minute', false, T0 + 10), 0)
  })

  it('fixed windows start over; sliding windows weigh the previous one by its overlap', () => {
    attachLocalCounters(createLocalCountersBuffer(64))
    for (let i = 0; i < 10; i++) localIncrement('k', ['minute'], T0 + 1000)
    assert.equal(localUsage('k', 'minute', false, T0 + 59_000), 10)
    // A quarter into the next minute: fixed sees 0; sliding sees 3/4 of the previous 10.
    assert.equal(localUsage('k', 'minute', false, T0 + MINUTE + 15_000), 0)
    assert.equal(localUsage('k', 'minute', true, T0 + MINUTE + 15_000), 7.5)
    // Two minutes on, nothing of it is left.
    assert.equal(localUsage('k', 'minute', true, T0 + 3 * MINUTE), 0)
  })

  it('stays bounded when full: the key whose windows end soonest gives way, and it is counted', () => {
    attachLocalCounters(createLocalCountersBuffer(8))
    clearLocalCounters()
    for (let i = 0; i < 8; i++) localIncrement(`k${i}`, ['hour'], T0)
    localIncrement('short', ['second'], T0)
    assert.equal(localCounterEvictions(), 1)
    assert.equal(localUsage('short', 'second', false, T0), 1)
    const kept = [0, 1, 2, 3, 4, 5, 6, 7].filter((i) => localUsage(`k${i}`, 'hour', false, T0) === 1)
    assert.equal(kept.length, 7, 'one of the eight hour keys gave way')
    // Once windows have ended their slots are free again: no eviction.
    localIncrement('later', ['second'], T0 + 3 * 3_600_000)
    assert.equal(localCounterEvictions(), 1)
    clearLocalCounters()
    assert.equal(localUsage('short', 'second', false, T0), 0)
    assert.equal(localCounterEvictions(), 0)
  })

  it('refuses a buffer that is not a counter table', () => {
    assert.throws(() => attachLocalCounters(new SharedArrayBuffer(100)), /not a local rate-limiting counter table/)
  })
})
