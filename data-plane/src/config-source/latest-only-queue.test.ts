import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { backoffDelay } from './backoff.ts'
import { LatestOnlyQueue } from './latest-only-queue.ts'

describe('LatestOnlyQueue', () => {
  it('handles one item at a time and skips items superseded while busy', async () => {
    const handled: number[] = []
    let release: () => void = () => {}
    const queue = new LatestOnlyQueue<number>(
      async (n) => {
        handled.push(n)
        if (n === 1) await new Promise<void>((r) => (release = r))
      },
      () => assert.fail('no errors expected'),
    )
    queue.push(1)
    queue.push(2)
    queue.push(3)
    release()
    await queue.idle()
    assert.deepEqual(handled, [1, 3])
  })

  it('reports a failing handler and keeps going', async () => {
    const errors: unknown[] = []
    const handled: number[] = []
    const queue = new LatestOnlyQueue<number>(
      async (n) => {
        if (n === 1) throw new Error('boom')
        handled.push(n)
      },
      (err) => errors.push(err),
    )
    queue.push(1)
    await queue.idle()
    queue.push(2)
    await queue.idle()
    assert.equal(errors.length, 1)
    assert.deepEqual(handled, [2])
  })
})

describe('backoffDelay', () => {
  const opts = { initialMs: 500, maxMs: 15_000 }
  it('doubles from the initial delay up to the cap, jittered to half–full', () => {
    assert.equal(
      backoffDelay(0, opts, () => 0),
      250,
    )
    assert.equal(
      backoffDelay(0, opts, () => 1),
      500,
    )
    assert.equal(
      backoffDelay(3, opts, () => 1),
      4000,
    )
    assert.equal(
      backoffDelay(10, opts, () => 1),
      15_000,
    )
    assert.equal(
      backoffDelay(1000, opts, () => 0),
      7500,
    )
  })
})
