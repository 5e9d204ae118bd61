import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchScale } from './scales.ts';
import type { StageResult } from './stage-result.ts';

export interface BenchReport {
  scale: BenchScale;
  seed: number;
  startedAt: string;
  seconds: number;
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  dataset: { generatedSeconds: number | null; counts: unknown };
  stages: StageResult[];
}

export function machineInfo(): BenchReport['machine'] {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

const fmt = (n: number | undefined) => (n === undefined ? '' : n.toLocaleString('en-US', { maximumFractionDigits: 3 }));
const verdict = (met: boolean | null) => (met === null ? 'not judged at this scale' : met ? '**met**' : '**missed**');

export function toMarkdown(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `# Benchmark: ${report.scale.name} (${report.scale.orders.toLocaleString('en-US')} orders, ${report.scale.customers.toLocaleString('en-US')} customers)`,
    '',
    `Run ${report.startedAt} in ${report.seconds.toFixed(0)} s on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}.`,
    'Every figure stands beside a baseline measured in the same run; ratios are figure ÷ baseline.',
    '',
  ];
  for (const stage of report.stages) {
    lines.push(`## ${stage.title}`, '', `Goal: ${stage.goal}. Verdict: ${verdict(stage.met)}.`, '');
    lines.push('| measure | value | unit | baseline | ratio |', '| --- | ---: | --- | ---: | ---: |');
    for (const row of stage.rows) lines.push(`| ${row.label} | ${fmt(row.value)} | ${row.unit} | ${fmt(row.baseline)} | ${fmt(row.ratio)} |`);
    lines.push('', ...stage.notes.map((n) => `- ${n}`), '');
  }
  return lines.join('\n');
}

/** Writes the JSON (every run, under .bench/results) and the Markdown table (latest per scale). */
export function writeReport(report: BenchReport, jsonDir: string, markdownDir: string): { json: string; markdown: string } {
  fs.mkdirSync(jsonDir, { recursive: true });
  fs.mkdirSync(markdownDir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = path.join(jsonDir, `bench-${report.scale.name}-${stamp}.json`);
  fs.writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  const markdown = path.join(markdownDir, `${report.scale.name}.md`);
  const previous = fs.existsSync(markdown) ? fs.readFileSync(markdown, 'utf8') : undefined;
  fs.writeFileSync(markdown, mergeMarkdown(previous, toMarkdown(report)));
  return { json, markdown };
}

/**
 * The new table, keeping the sections of stages this run did not measure from the previous file
 * (a run of some stages must not erase the others' latest figures), each marked with the run it
 * came from. A stage measured now replaces its old section in place; new stages go at the end.
 */
export function mergeMarkdown(previous: string | undefined, current: string): string {
  if (!previous) return current;
  const split = (text: string) => {
    const [head, ...sections] = text.split(/^(?=## )/m);
    return { head: head!, sections: sections.map((body) => ({ title: body.slice(3, body.indexOf('\n')).trim(), body: body.replace(/\n*$/, '\n\n') })) };
  };
  const old = split(previous);
  const now = split(current);
  const oldRun = /^Run (\S+)/m.exec(old.head)?.[1];
  const fresh = new Map(now.sections.map((s) => [s.title, s.body]));
  const kept = old.sections.map((s) => {
    if (fresh.has(s.title)) {
      const body = fresh.get(s.title)!;
      fresh.delete(s.title);
      return body;
    }
    // Mark a kept section once with the run it came from.
    return oldRun && !s.body.includes('_From the run of ') ? s.body.replace(/\n\n/, `\n\n_From the run of ${oldRun}._\n\n`) : s.body;
  });
  return [now.head, ...kept, ...fresh.values()].join('').replace(/\n*$/, '\n');
}
