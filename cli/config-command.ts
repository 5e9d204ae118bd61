import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CONFIG_SCHEMA_FILE, configJsonSchema, loadConfig } from '../shared/config.ts';
import { printResult } from './output.ts';
import { configOption, jsonOption } from './options.ts';

/**
 * `crm config`: the project config as the commands read it (every default filled in), and the JSON
 * Schema editors validate crm.config.yml with. A file that does not validate exits 2 naming each
 * field (ConfigError, like every other command).
 */
export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('Show the resolved project config, or the JSON Schema of the config file.');

  config
    .command('show')
    .description('Print the config the commands would use: the file (--config) validated, every default filled in.')
    .addOption(configOption())
    .addOption(jsonOption())
    .action((opts: { config: string; json?: boolean }) => {
      const resolved = loadConfig(opts.config);
      const exists = fs.existsSync(opts.config);
      printResult(Boolean(opts.json), { file: exists ? opts.config : null, config: resolved }, () =>
        [
          exists
            ? `# ${path.relative(process.cwd(), opts.config)}`
            : `# no config file (${path.relative(process.cwd(), opts.config)}): every default`,
          JSON.stringify(resolved, null, 2),
        ].join('\n'),
      );
    });

  config
    .command('schema')
    .description(
      `Print the JSON Schema of the config file (for editors), or write it with --write (${path.relative(process.cwd(), CONFIG_SCHEMA_FILE)}).`,
    )
    .option('--write', 'write the schema file instead of printing it')
    .action((opts: { write?: boolean }) => {
      const text = JSON.stringify(configJsonSchema(), null, 2) + '\n';
      if (opts.write) {
        fs.mkdirSync(path.dirname(CONFIG_SCHEMA_FILE), { recursive: true });
        fs.writeFileSync(CONFIG_SCHEMA_FILE, text);
      } else process.stdout.write(text);
    });
}
