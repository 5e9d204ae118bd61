import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDevToken } from '../../api/auth.ts';
import { buildApiServer } from '../../api/server.ts';
import { rollupTimezones } from '../../cli/pipeline.ts';
import { shopDbtVars } from '../../pipelines/run/run-pipeline.ts';
import { utcOffsetMinutes } from '../../pipelines/transform/clv/summary-data.ts';
import { CONFIG_SCHEMA_FILE, ConfigError, configJsonSchema, configSchema, loadConfig } from '../../shared/config.ts';
import { projectRoot } from '../../shared/paths.ts';
import { createDecisionWarehouse } from '../support/decision-fixture.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-project-config-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('project config file', () => {
  it('reads YAML, and JSON for a .json file, with every default filled in', () => {
    const yml = write(
      'crm.config.yml',
      'shop:\n  timezone: Europe/London\n  reportingCurrency: GBP\nsources:\n  service: { optional: true }\n',
    );
    const fromYaml = loadConfig(yml);
    expect(fromYaml.shop).toEqual({ timezone: 'Europe/London', reportingCurrency: 'GBP' });
    expect(fromYaml.sources['service']?.optional).toBe(true);
    expect(fromYaml.publish.retention).toBe(3);
    const json = write('crm.config.json', JSON.stringify({ shop: { timezone: 'UTC' } }));
    expect(loadConfig(json).shop).toEqual({ timezone: 'UTC', reportingCurrency: 'CNY' });
    // An empty YAML file is every default, as a missing one is.
    expect(loadConfig(write('empty.yml', '')).shop).toEqual(loadConfig(path.join(tmp, 'absent.yml')).shop);
    expect(configSchema.parse({}).shop).toEqual({ timezone: 'Asia/Shanghai', reportingCurrency: 'CNY' });
  });

  it('refuses an unknown time zone, a currency that is not ISO 4217 and broken YAML, naming the field', () => {
    expect(() => loadConfig(write('bad-zone.yml', 'shop: { timezone: Beijing/Time }\n'))).toThrow(ConfigError);
    expect(() => loadConfig(write('bad-zone2.yml', 'shop: { timezone: Beijing/Time }\n'))).toThrow(/shop\.timezone: not an IANA time zone/);
    expect(() => loadConfig(write('bad-ccy.yml', 'shop: { reportingCurrency: pounds }\n'))).toThrow(
      /shop\.reportingCurrency: an ISO 4217 code/,
    );
    expect(() => loadConfig(write('bad.yml', 'shop: [unclosed\n'))).toThrow(/not valid YAML/);
    expect(() => loadConfig(write('typo.yml', 'shopp: {}\n'))).toThrow(/shopp/);
  });

  it('crm config show prints the resolved config as JSON (exit 0), and a bad file exits 2 naming the key', () => {
    const run = (configFile: string) =>
      spawnSync(path.join(projectRoot, 'node_modules', '.bin', 'tsx'), ['cli/crm.ts', 'config', 'show', '--json'], {
        cwd: projectRoot,
        encoding: 'utf8',
        env: { ...process.env, CRM_CONFIG: configFile, CRM_LOG_LEVEL: 'warn' },
      });
    const good = run(write('cli.yml', 'shop: { timezone: Europe/London }\n'));
    expect(good.status, good.stderr).toBe(0);
    const shown = JSON.parse(good.stdout) as { file: string; config: { shop: unknown; extract: { retries: number } } };
    expect(shown.config.shop).toEqual({ timezone: 'Europe/London', reportingCurrency: 'CNY' });
    expect(shown.config.extract.retries).toBe(2);
    const bad = run(write('cli-bad.yml', 'shop: { reportingCurrency: gbp }\n'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/shop\.reportingCurrency/);
  });

  it('ships the JSON Schema generated from the zod schema (run `crm config schema --write` after changing it)', () => {
    expect(JSON.parse(fs.readFileSync(CONFIG_SCHEMA_FILE, 'utf8'))).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
  });
});

describe('config shop reaches every place that needs the zone or the currency', () => {
  it("the CLV model's shop days: the zone's UTC offset at the calibration end", () => {
    const winter = Date.UTC(2025, 0, 15);
    const summer = Date.UTC(2025, 6, 15);
    expect([utcOffsetMinutes('Asia/Shanghai', winter), utcOffsetMinutes('Asia/Shanghai', summer)]).toEqual([480, 480]);
    expect([utcOffsetMinutes('Europe/London', winter), utcOffsetMinutes('Europe/London', summer)]).toEqual([0, 60]);
    expect([utcOffsetMinutes('America/New_York', winter), utcOffsetMinutes('America/New_York', summer)]).toEqual([-300, -240]);
    expect(utcOffsetMinutes('Asia/Kolkata', winter)).toBe(330);
    expect(utcOffsetMinutes('UTC', summer)).toBe(0);
  });

  it('dbt vars and rollup zones', () => {
    const shop = configSchema.parse({ shop: { timezone: 'Europe/London', reportingCurrency: 'GBP' } });
    expect(shopDbtVars(shop.shop)).toEqual({ reporting_currency: 'GBP', shop_timezone: 'Europe/London' });
    expect(rollupTimezones(shop)).toEqual(['UTC', 'Asia/Shanghai', 'Europe/London']);
    expect(rollupTimezones(configSchema.parse({}))).toEqual(['UTC', 'Asia/Shanghai']);
  });

  describe('the KPI scorecard reads days in the server default zone when the query names none', () => {
    const SECRET = 'project-config-secret-0123456789abcdef';
    let warehousePath = '';
    beforeAll(async () => {
      warehousePath = await createDecisionWarehouse(path.join(tmp, 'warehouse.duckdb'));
    });

    async function februaryRevenue(defaultTimezone: string | undefined, query = '') {
      const app = buildApiServer({ warehousePath, jwtSecret: SECRET, ...(defaultTimezone ? { defaultTimezone } : {}) });
      try {
        const token = await signDevToken(SECRET, { sub: 'exec@example.com', roles: ['executive'] });
        const response = await app.inject({
          method: 'GET',
          url: `/api/v1/kpis/scorecard?from=2025-02-01&to=2025-02-28&kpis=revenue${query}`,
          headers: { authorization: `Bearer ${token}` },
        });
        expect(response.statusCode).toBe(200);
        const body = response.json() as { timezone: string; kpis: { id: string; current: number }[] };
        return { timezone: body.timezone, revenue: body.kpis.find((k) => k.id === 'revenue')!.current };
      } finally {
        await app.close();
      }
    }

    it('UTC by default; the shop zone when the server is given it; the query zone wins', async () => {
      // o2 (50.00) at 2025-01-31 17:00 UTC is 1 Feb in Shanghai; o7 (25.25) at 2025-02-28 16:00 UTC is 1 Mar there.
      expect(await februaryRevenue(undefined)).toEqual({ timezone: 'UTC', revenue: 145.25 });
      expect(await februaryRevenue('Asia/Shanghai')).toEqual({ timezone: 'Asia/Shanghai', revenue: 170 });
      expect(await februaryRevenue('Asia/Shanghai', '&timezone=UTC')).toEqual({ timezone: 'UTC', revenue: 145.25 });
    });
  });
});
