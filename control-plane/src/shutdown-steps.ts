import type { Logger } from '@turnpike/shared'

/** Shutdown steps, run in reverse order of registration; a failing step is logged and the others still run. */
export function shutdownSteps(log: Logger): { push(step: () => Promise<void>): void; closeAll(): Promise<void> } {
  const steps: (() => Promise<void>)[] = []
  return {
    push: (step) => {
      steps.push(step)
    },
    async closeAll() {
      for (const step of steps.splice(0).reverse()) {
        try {
          await step()
        } catch (err) {
          log.error({ err }, 'shutdown step failed')
        }
      }
    },
  }
}
