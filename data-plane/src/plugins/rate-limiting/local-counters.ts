/**
 * Counters for the `local` policy, per (route, service, identifier) and period. One table in a SharedArrayBuffer
 * holds them for the whole node: the main thread creates it (`localCountersBuffer()`), each proxy worker attaches it
 * (`attachLocalCounters`) before serving, so "10/minute" means 10 per node as with Kong's shared dictionary, however
 * many workers serve. Counters survive config changes. Fixed windows count requests since the window started;
 * sliding windows also keep the previous window's count and weigh it by how much of it still overlaps the last period.
 *
 * Table: open addressing with linear probing over a power-of-two number of slots, each 192 bytes (three cache lines,
 * so slots never share a line), laid out as
 *   Int32  lock, claim lock, key hash 1, key hash 2 (both 0: never used since the table was made or cleared)
 *   Float64 ends: the time after which no window of the slot matters any more, sliding or not
 *   Float64 × 3 per period (second … year): window start (epoch ms), count in it, count of the window before it
 * A key is stored only as two independently seeded 32-bit MurmurHash3 values: 64 bits, so two given keys share a
 * slot with probability 2^-64, and a full table of 65,536 live keys has any pair merged with probability about
 * n²/2^65 ≈ 1.2·10^-10 (seeds are random per table; an identifier an attacker chooses — `limit_by: header` — can be
 * any value anyway, so colliding with someone buys nothing it could not get by sending their value).
 *
 * Concurrency: every read and write of a slot's fields happens under its lock (Atomics.compareExchange 0 → 1, release
 * by Atomics.store), so two threads counting one key at once both count, and a window rolls over exactly once. The
 * lock is held for a few dozen typed-array operations: no allocation, call out or await inside. Finding a key's slot
 * reads hashes without the lock and re-checks them under it. Claiming a slot for a new key happens under the claim
 * lock of the key's home slot, so two threads seeing the same new key at once cannot give it two slots (threads
 * claiming different keys only meet on slot locks, always taken after claim locks: no deadlock).
 *
 * Rollover races: a thread reads the clock, then takes the lock; meanwhile another may have rolled the window on.
 * A count whose window is exactly one behind the slot's goes to the slot's previous-window count — where it belongs —
 * and a usage read one window behind answers that count; so a boundary neither loses nor doubles a count. A caller
 * two or more windows behind means the clock stepped back (all threads share it): the slot follows it, as the
 * single-threaded counters did.
 *
 * Bounded: nothing grows. A slot whose windows have all ended is reused in place; when a new key's probe run
 * (16 slots) holds neither a free nor an ended slot, the slot whose windows end soonest is taken over and counted
 * (`localCounterEvictions()`). A lock held for 100 ms means its holder died in it (a worker terminated mid-update):
 * the waiter takes it over and counts it (`localCountersStats().lockSteals`), rather than wedging the node.
 */
import type { RateLimitPeriod } from '@turnpike/shared'
import { hashString } from '../../balancer/algorithms/hash32.ts'
import { PERIOD_SECONDS, windowStart } from './windows.ts'

const PERIOD_INDEX: Record<RateLimitPeriod, number> = { second: 0, minute: 1, hour: 2, day: 3, month: 4, year: 5 }
const PERIODS = 6

/**
 * 65,536 keys by default: 192 B × 65,536 = 12 MiB per node (+64 B header), the size of Kong's default
 * `kong_rate_limiting_counters` dictionary (12m). The buffer is zeroed memory, so untouched slots stay unbacked.
 */
export const DEFAULT_COUNTER_SLOTS = 65_536
const MAX_SLOTS = 1 << 24

// Header: Int32 [magic, layout, slots, seed 1, seed 2], then BigInt64 stats from byte 32.
const MAGIC = 0x54504b43
const LAYOUT = 1
const HEADER_BYTES = 64
const STAT_EVICTIONS = 4
const STAT_STEALS = 5
const STAT_DROPPED = 6
// A slot: Int32 fields from slot × 48, Float64 fields from slot × 24 (offsets past the header).
const SLOT_BYTES = 192
const SLOT_I32 = SLOT_BYTES / 4
const SLOT_F64 = SLOT_BYTES / 8
const I32_BASE = HEADER_BYTES / 4
const F64_BASE = HEADER_BYTES / 8
const LOCK = 0
const CLAIM = 1
const H1 = 2
const H2 = 3
const ENDS = 2
const WINDOWS = 3

/** Slots looked at for a key before one is taken over. */
const PROBES = 16
/** Times a slot changing hands under us is retried (another thread reusing it between our look and our lock). */
const ATTEMPTS = 4
const SPINS = 256
const WAIT_MS = 0.05
const STEAL_MS = 100

/**
 * Per thread, the window `now` last fell in for each period: start, end, start of the one before, end of the one
 * after (for sliding windows, a count matters until then). Computed once a window, so the hot path neither
 * allocates windowStart's Date for months and years nor does date arithmetic under a lock.
 */
const win = new Float64Array(PERIODS * 4)

function windowOf(p: number, period: RateLimitPeriod, now: number): number {
  const at = p * 4
  if (!(now >= win[at] && now < win[at + 1])) {
    // A period and a half past a window's start is inside the next window, for months (28–31 days) and years too.
    const half = PERIOD_SECONDS[period] * 1500
    const lo = windowStart(period, now)
    const hi = windowStart(period, lo + half)
    win[at] = lo
    win[at + 1] = hi
    win[at + 2] = windowStart(period, lo - 1)
    win[at + 3] = windowStart(period, hi + half)
  }
  return at
}

class CounterTable {
  readonly buffer: SharedArrayBuffer
  readonly slots: number
  readonly #i32: Int32Array
  readonly #f64: Float64Array
  readonly #stats: BigInt64Array
  readonly #mask: number
  readonly #probes: number
  readonly #seed1: number
  readonly #seed2: number
  // The last key's hash: the handler reads each period's usage, then counts, with one key string.
  #key: string | undefined
  #h1 = 0
  #h2 = 0

  constructor(buffer: SharedArrayBuffer) {
    this.slots = slotsIn(buffer)
    this.buffer = buffer
    this.#i32 = new Int32Array(buffer)
    this.#f64 = new Float64Array(buffer)
    this.#stats = new BigInt64Array(buffer, 0, HEADER_BYTES / 8)
    this.#mask = this.slots - 1
    this.#probes = Math.min(PROBES, this.slots)
    this.#seed1 = this.#i32[3]
    this.#seed2 = this.#i32[4]
  }

  usage(key: string, period: RateLimitPeriod, sliding: boolean, now: number): number {
    this.#hash(key)
    const p = PERIOD_INDEX[period]
    const w = windowOf(p, period, now)
    const i32 = this.#i32
    const f = this.#f64
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const s = this.#find()
      if (s < 0) return 0
      const lock = I32_BASE + s * SLOT_I32
      this.#lock(lock)
      if (i32[lock + H1] !== this.#h1 || i32[lock + H2] !== this.#h2) {
        this.#unlock(lock)
        continue
      }
      const at = F64_BASE + s * SLOT_F64 + WINDOWS + 3 * p
      const start = f[at]
      const count = f[at + 1]
      const prev = f[at + 2]
      this.#unlock(lock)
      const lo = win[w]
      const weight = 1 - (now - lo) / (win[w + 1] - lo)
      if (start === lo) return sliding ? count + prev * weight : count
      if (start === win[w + 2]) return sliding ? count * weight : 0
      // Rolled on by a thread that read the clock just after us: our window is its previous one.
      if (start === win[w + 1]) return prev
      return 0
    }
    return 0
  }

  increment(key: string, periods: readonly RateLimitPeriod[], now: number): void {
    this.#hash(key)
    for (let i = 0; i < periods.length; i++) windowOf(PERIOD_INDEX[periods[i]], periods[i], now)
    const s = this.#acquire(now)
    if (s < 0) {
      Atomics.add(this.#stats, STAT_DROPPED, 1n)
      return
    }
    const f = this.#f64
    const base = F64_BASE + s * SLOT_F64
    for (let i = 0; i < periods.length; i++) {
      const p = PERIOD_INDEX[periods[i]]
      const w = p * 4
      const at = base + WINDOWS + 3 * p
      const start = f[at]
      const lo = win[w]
      if (start === lo) f[at + 1]++
      else if (start === win[w + 1]) f[at + 2]++
      else {
        f[at + 2] = start === win[w + 2] ? f[at + 1] : 0
        f[at + 1] = 1
        f[at] = lo
        if (win[w + 3] > f[base + ENDS]) f[base + ENDS] = win[w + 3]
      }
    }
    this.#unlock(I32_BASE + s * SLOT_I32)
  }

  stats(): LocalCountersStats {
    return {
      slots: this.slots,
      evictions: Number(Atomics.load(this.#stats, STAT_EVICTIONS)),
      lockSteals: Number(Atomics.load(this.#stats, STAT_STEALS)),
      dropped: Number(Atomics.load(this.#stats, STAT_DROPPED)),
    }
  }

  /** Zeroes every slot and the stats: only while no other thread counts (tests). */
  clear(): void {
    this.#f64.fill(0, F64_BASE)
    for (const i of [STAT_EVICTIONS, STAT_STEALS, STAT_DROPPED]) Atomics.store(this.#stats, i, 0n)
  }

  #hash(key: string): void {
    if (key === this.#key) return
    this.#key = key
    this.#h1 = hashString(key, this.#seed1) | 0
    const h2 = hashString(key, this.#seed2) | 0
    // (0, 0) marks a slot never used.
    this.#h2 = (this.#h1 | h2) === 0 ? 1 : h2
  }

  /** The key's slot (not locked, so to be checked again under its lock), or -1. */
  #find(): number {
    const i32 = this.#i32
    const h1 = this.#h1
    const h2 = this.#h2
    let s = h1 & this.#mask
    for (let n = 0; n < this.#probes; n++) {
      const at = I32_BASE + s * SLOT_I32
      const a = Atomics.load(i32, at + H1)
      const b = Atomics.load(i32, at + H2)
      if (a === h1 && b === h2) return s
      // Slots are never emptied (only reused), so a key is never found past a never-used slot.
      if ((a | b) === 0) return -1
      s = (s + 1) & this.#mask
    }
    return -1
  }

  /** The key's slot, locked, claimed for it when it has none; -1 when it kept changing hands under us. */
  #acquire(now: number): number {
    const i32 = this.#i32
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const found = this.#find()
      if (found >= 0) {
        const lock = I32_BASE + found * SLOT_I32
        this.#lock(lock)
        if (i32[lock + H1] === this.#h1 && i32[lock + H2] === this.#h2) return found
        this.#unlock(lock)
        continue
      }
      const guard = I32_BASE + (this.#h1 & this.#mask) * SLOT_I32 + CLAIM
      this.#lock(guard)
      const s = this.#claim(now)
      this.#unlock(guard)
      if (s >= 0) return s
    }
    return -1
  }

  /**
   * Under the home slot's claim lock: the key's slot if another thread claimed it meanwhile, else the first ended
   * slot of the run, else its first never-used one, else the one whose windows end soonest — locked and given to the
   * key; -1 when the slot chosen changed before we locked it.
   */
  #claim(now: number): number {
    const i32 = this.#i32
    const f = this.#f64
    const h1 = this.#h1
    const h2 = this.#h2
    let target = -1
    let kind = 0 // 1 the key's own, 2 never used, 3 ended, 4 soonest to end
    let seenA = 0
    let seenB = 0
    let victim = -1
    let victimA = 0
    let victimB = 0
    let soonest = Number.POSITIVE_INFINITY
    let s = h1 & this.#mask
    for (let n = 0; n < this.#probes; n++) {
      const at = I32_BASE + s * SLOT_I32
      const a = Atomics.load(i32, at + H1)
      const b = Atomics.load(i32, at + H2)
      if (a === h1 && b === h2) {
        target = s
        kind = 1
        break
      }
      if ((a | b) === 0) {
        if (target < 0) {
          target = s
          kind = 2
        }
        break
      }
      // Unlocked read: only a hint, checked again under the lock.
      const ends = f[F64_BASE + s * SLOT_F64 + ENDS]
      if (ends <= now) {
        if (target < 0) {
          target = s
          kind = 3
          seenA = a
          seenB = b
        }
      } else if (ends < soonest || victim < 0) {
        soonest = ends
        victim = s
        victimA = a
        victimB = b
      }
      s = (s + 1) & this.#mask
    }
    if (target < 0) {
      target = victim
      kind = 4
      seenA = victimA
      seenB = victimB
    }
    const lock = I32_BASE + target * SLOT_I32
    this.#lock(lock)
    const a = i32[lock + H1]
    const b = i32[lock + H2]
    const base = F64_BASE + target * SLOT_F64
    if (a === h1 && b === h2) return target
    const unchanged =
      kind === 2 ? (a | b) === 0 : a === seenA && b === seenB && (kind === 4 || f[base + ENDS] <= now)
    if (!unchanged) {
      this.#unlock(lock)
      return -1
    }
    if (kind === 4 && f[base + ENDS] > now) Atomics.add(this.#stats, STAT_EVICTIONS, 1n)
    Atomics.store(i32, lock + H1, h1)
    Atomics.store(i32, lock + H2, h2)
    f.fill(0, base + ENDS, base + SLOT_F64)
    return target
  }

  #lock(at: number): void {
    if (Atomics.compareExchange(this.#i32, at, 0, 1) !== 0) this.#lockSlow(at)
  }

  #lockSlow(at: number): void {
    const i32 = this.#i32
    for (let n = 0; n < SPINS; n++)
      if (Atomics.load(i32, at) === 0 && Atomics.compareExchange(i32, at, 0, 1) === 0) return
    // The holder is off the CPU: sleep in short waits (unlock does not notify, keeping it one store).
    const since = performance.now()
    for (;;) {
      Atomics.wait(i32, at, 1, WAIT_MS)
      if (Atomics.compareExchange(i32, at, 0, 1) === 0) return
      if (performance.now() - since > STEAL_MS) {
        // Its holder died holding it: the lock (still 1) is ours now.
        Atomics.add(this.#stats, STAT_STEALS, 1n)
        return
      }
    }
  }

  #unlock(at: number): void {
    Atomics.store(this.#i32, at, 0)
  }
}

function slotsIn(buffer: SharedArrayBuffer): number {
  if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_BYTES)
    throw new Error('not a local rate-limiting counter table')
  const h = new Int32Array(buffer, 0, 3)
  const slots = h[2]
  if (
    h[0] !== MAGIC ||
    h[1] !== LAYOUT ||
    !(slots > 0 && slots <= MAX_SLOTS) ||
    (slots & (slots - 1)) !== 0 ||
    buffer.byteLength !== HEADER_BYTES + slots * SLOT_BYTES
  )
    throw new Error('not a local rate-limiting counter table')
  return slots
}

/** A table for `slots` keys (rounded up to a power of two; 192 bytes each), to share between the node's threads. */
export function createLocalCountersBuffer(slots = DEFAULT_COUNTER_SLOTS): SharedArrayBuffer {
  if (!Number.isInteger(slots) || slots < 1 || slots > MAX_SLOTS)
    throw new RangeError(`local rate-limiting counter slots must be an integer from 1 to ${MAX_SLOTS}`)
  let n = 1
  while (n < slots) n *= 2
  const buffer = new SharedArrayBuffer(HEADER_BYTES + n * SLOT_BYTES)
  const h = new Int32Array(buffer, 0, 5)
  const seeds = crypto.getRandomValues(new Int32Array(2))
  h[0] = MAGIC
  h[1] = LAYOUT
  h[2] = n
  h[3] = seeds[0]
  h[4] = seeds[1] === seeds[0] ? ~seeds[1] : seeds[1]
  return buffer
}

let table: CounterTable | undefined

function current(): CounterTable {
  table ??= new CounterTable(createLocalCountersBuffer())
  return table
}

/** The table this thread counts in (made with the default size if none was attached): hand it to each worker. */
export function localCountersBuffer(): SharedArrayBuffer {
  return current().buffer
}

/**
 * Counts in `buffer` from now on (a worker, at startup, with the main thread's table): every thread attached to one
 * buffer shares its counters. What this thread counted in another table stays there.
 */
export function attachLocalCounters(buffer: SharedArrayBuffer): void {
  table = new CounterTable(buffer)
}

/** Requests counted in the current window (sliding: plus the previous window's share). */
export function localUsage(key: string, period: RateLimitPeriod, sliding: boolean, now: number): number {
  return (table ?? current()).usage(key, period, sliding, now)
}

/** Counts one request in each listed period. */
export function localIncrement(key: string, periods: readonly RateLimitPeriod[], now: number): void {
  ;(table ?? current()).increment(key, periods, now)
}

export interface LocalCountersStats {
  /** Keys the table holds. */
  slots: number
  /** Keys whose windows had not ended, pushed out for a new key because their probe run was full. */
  evictions: number
  /** Locks taken over from a holder that kept them 100 ms (a thread that died holding one). */
  lockSteals: number
  /** Requests not counted because the slot for their key kept changing hands (not expected to happen). */
  dropped: number
}

/** The node's table: its size and what it had to give up, since it was made or cleared. */
export function localCountersStats(): LocalCountersStats {
  return current().stats()
}

/** Keys pushed out of the full table (see `localCountersStats`). */
export function localCounterEvictions(): number {
  return current().stats().evictions
}

/** Forgets every counter, in every thread attached to this table (tests: while no other thread counts). */
export function clearLocalCounters(): void {
  current().clear()
}
