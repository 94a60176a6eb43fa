/**
 * Runs an async handler over items one at a time; an item that arrives while one is being handled replaces any
 * item still waiting, because only the newest config is worth applying.
 */
export class LatestOnlyQueue<T> {
  readonly #handle: (item: T) => Promise<void>
  readonly #onError: (err: unknown, item: T) => void
  #waiting: { item: T } | null = null
  #running: Promise<void> | null = null

  constructor(handle: (item: T) => Promise<void>, onError: (err: unknown, item: T) => void) {
    this.#handle = handle
    this.#onError = onError
  }

  push(item: T): void {
    this.#waiting = { item }
    this.#running ??= this.#drain()
  }

  /** Resolves once nothing is running or waiting. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running
  }

  async #drain(): Promise<void> {
    for (let next = this.#waiting; next; next = this.#waiting) {
      this.#waiting = null
      try {
        await this.#handle(next.item)
      } catch (err) {
        this.#onError(err, next.item)
      }
    }
    this.#running = null
  }
}
