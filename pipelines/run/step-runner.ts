import { Listr } from 'listr2';
import type { Logger } from 'pino';

export interface Step<T> {
  title: string;
  run: (report: (progress: string) => void) => Promise<T>;
}

/**
 * Runs steps in order. On a terminal they show as a live task list (listr2); otherwise each start,
 * progress note and finish is a structured log line, which is what schedulers and CI capture.
 */
export async function runSteps<T>(steps: Step<T>[], log: Logger, options: { interactive?: boolean } = {}): Promise<T[]> {
  const interactive = options.interactive ?? (Boolean(process.stderr.isTTY) && process.env.CI !== 'true');
  const results: T[] = [];
  if (!interactive) {
    for (const step of steps) {
      const started = Date.now();
      log.info({ step: step.title, event: 'step_started' }, `${step.title}: started`);
      try {
        results.push(
          await step.run((progress) => log.info({ step: step.title, event: 'step_progress', progress }, `${step.title}: ${progress}`)),
        );
      } catch (error) {
        log.error(
          { step: step.title, event: 'step_failed', seconds: (Date.now() - started) / 1000, err: String(error) },
          `${step.title}: failed`,
        );
        throw error;
      }
      log.info({ step: step.title, event: 'step_finished', seconds: (Date.now() - started) / 1000 }, `${step.title}: done`);
    }
    return results;
  }
  const list = new Listr(
    steps.map((step) => ({
      title: step.title,
      task: async (_ctx: unknown, task: { output: string; title: string }) => {
        const started = Date.now();
        results.push(await step.run((progress) => (task.output = progress)));
        task.title = `${step.title} (${((Date.now() - started) / 1000).toFixed(1)}s)`;
      },
    })),
    { concurrent: false, exitOnError: true, rendererOptions: { collapseErrors: false }, renderer: 'default', fallbackRenderer: 'simple' },
  );
  await list.run();
  return results;
}
