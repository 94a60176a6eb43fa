/** A bounded map that forgets the least recently used entry first; entries may also expire. */
export class Lru<K, V> {
  readonly #max: number
  readonly #ttlMs: number
  readonly #map = new Map<K, { value: V; expires: number }>()

  /** `ttlMs` 0 keeps entries until evicted. */
  constructor(max: number, ttlMs = 0) {
    this.#max = max
    this.#ttlMs = ttlMs
  }

  get size(): number {
    return this.#map.size
  }

  get(key: K): V | undefined {
    const e = this.#map.get(key)
    if (e === undefined) return undefined
    if (this.#ttlMs !== 0 && e.expires <= performance.now()) {
      this.#map.delete(key)
      return undefined
    }
    // Refresh recency: Map keeps insertion order, so re-inserting moves it last.
    this.#map.delete(key)
    this.#map.set(key, e)
    return e.value
  }

  set(key: K, value: V): void {
    this.#map.delete(key)
    this.#map.set(key, { value, expires: this.#ttlMs === 0 ? 0 : performance.now() + this.#ttlMs })
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as K)
  }

  delete(key: K): void {
    this.#map.delete(key)
  }
}
