import { describe, expect, it } from 'vitest';
import { landingFilesSource, notLandingShaped } from '../../pipelines/extract/mapped/landing-executor.ts';
import { loadMapping, presetNames, type LoadedMapping } from '../../pipelines/extract/mapped/mapping-schema.ts';
import { fileSourceSettingsSchema } from '../../shared/source-settings.ts';

/**
 * Which mappings the warehouse's bulk path runs (landing-shaped: each field its own optional column
 * in the landing formats) and which stay in the sandbox. The loads themselves are compared in
 * landing-preset.test.ts and landing-family-presets.test.ts.
 */

const preset = (name: string) => loadMapping(`preset:${name}`, process.cwd());
const settings = fileSourceSettingsSchema.parse({});
const asSource = (mapping: LoadedMapping) => landingFilesSource({ name: 'x', mapping, folder: 'x', settings, description: '' }, 'orders');

describe('the landing executor', () => {
  it('takes the landing presets of orders, profiles and service, and no preset of a real export', () => {
    const taken = presetNames().filter((name) => preset(name).kinds.every((kind) => notLandingShaped(kind) === null));
    expect(taken).toEqual(['landing', 'landing-profiles', 'landing-service']);
    expect(notLandingShaped(preset('landing-opinion').kinds[0]!)).toBe('opinion posts');
    for (const name of ['cdnow', 'order-lines', 'shopify', 'taobao']) expect(asSource(preset(name)), name).toBeNull();
    expect(asSource(preset('landing'))).not.toBeNull();
  });

  it('leaves to the sandbox a landing mapping changed in any way a mapping can change it', () => {
    const landing = preset('landing');
    const orders = landing.kinds[0]!;
    const ordersSpec = orders.records.orders!;
    const variant = (change: Partial<typeof orders>, spec: Partial<typeof ordersSpec> = {}) => ({
      ...landing,
      kinds: [{ ...orders, ...change, records: { orders: { ...ordersSpec, ...spec } } }, ...landing.kinds.slice(1)],
    });
    const cases: [string, LoadedMapping][] = [
      ['a rename', variant({}, { fields: { ...ordersSpec.fields, customer_id: 'buyer' } })],
      ['an expression', variant({}, { fields: { ...ordersSpec.fields, status: 'lower(status)' } })],
      ['a quoted name', variant({}, { fields: { ...ordersSpec.fields, status: '"status"' } })],
      ['a constant', variant({}, { fields: { ...ordersSpec.fields, currency: { const: 'GBP' } } })],
      ['a filter', variant({}, { where: "status <> 'test'" })],
      ['a required column', variant({ format: { ...orders.format, optional_columns: ['order_id'] } })],
      ['a decimal comma', variant({ format: { ...orders.format, decimal: ',' } })],
      ['single quotes', variant({ format: { ...orders.format, quote: "'" } })],
      ['no header', variant({ format: { ...orders.format, header: false } })],
      ['another file name', variant({ match: ['orders.txt'] })],
      [
        'NDJSON read as text',
        { ...landing, kinds: landing.kinds.map((k) => ({ ...k, format: { ...k.format, json_values: 'text' as const } })) },
      ],
    ];
    for (const [what, mapping] of cases) expect(asSource(mapping), what).toBeNull();
    // Two delimiters in one folder: one file-drop reader cannot take both.
    const mixed = { ...landing, kinds: landing.kinds.map((k, i) => (i === 2 ? { ...k, format: { ...k.format, delimiter: ';' } } : k)) };
    expect(asSource(mixed)).toBeNull();
    // A declared delimiter for every CSV kind is still the landing format (the file drop reads it by row).
    const semicolon = {
      ...landing,
      kinds: landing.kinds.map((k) => (k.format.type === 'delimited' ? { ...k, format: { ...k.format, delimiter: ';' } } : k)),
    };
    expect(asSource(semicolon)).not.toBeNull();
  });
});
