import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { normalizeContactPoint, normalizePhone, type ContactPointType } from '../../api/decision/contact-point.ts';
import { projectRoot } from '../../shared/paths.ts';

/**
 * The lookup's input normalisation against the dbt unit test's own cases: the same CSV fixtures
 * (tests/dbt/fixtures/contact_points_*.csv) feed int_identity__contact_points' unit test in dbt and
 * this test, so TypeScript and macros/contact_points.sql cannot disagree on a case either one has.
 */
const fixture = (name: string) =>
  parse(fs.readFileSync(path.join(projectRoot, 'tests', 'dbt', 'fixtures', `${name}.csv`)), { columns: true, trim: false }) as Record<
    string,
    string
  >[];

describe('contact-point normalisation shared with dbt', () => {
  it('gives exactly the points the dbt unit test expects, from the same input rows', () => {
    const seen = new Set<string>();
    const add = (id: string, type: ContactPointType, raw: string, source: string) => {
      // dbt reads an empty CSV cell as null.
      if (raw === '') return;
      const value = normalizeContactPoint(type, raw);
      if (value !== null) seen.add([id, type, value, source].join('|'));
    };
    const versions = fixture('contact_points_profile_versions');
    const contacts = fixture('contact_points_service_contacts');
    expect(versions.length).toBe(5);
    expect(contacts.length).toBe(5);
    for (const row of versions) {
      add(row.customer_id!, 'email', row.email!, 'profile');
      add(row.customer_id!, 'phone', row.phone!, 'profile');
      add(row.customer_id!, 'phone', row.mobile!, 'profile');
      add(row.customer_id!, 'wechat', row.wechat_id!, 'profile');
      add(row.customer_id!, 'qq', row.qq_id!, 'profile');
    }
    for (const row of contacts) {
      if (['phone', 'email', 'wechat', 'qq'].includes(row.channel!))
        add(row.customer_id!, row.channel as ContactPointType, row.contact_point!, 'service_contact');
    }
    const expected = fixture('contact_points_expected').map((r) =>
      [r.customer_id, r.point_type, r.point_value, r.evidence_source].join('|'),
    );
    expect(expected.length).toBe(17);
    expect([...seen].sort()).toEqual([...new Set(expected)].sort());
  });

  it('keeps the edge cases the macro documents', () => {
    expect(normalizePhone('+1 (415) 555-0100')).toBe('4155550100');
    expect(normalizePhone('8613812345678')).toBe('13812345678');
    expect(normalizePhone('0086 138 1234 5678')).toBe('13812345678');
    expect(normalizePhone('123456')).toBeNull();
    expect(normalizeContactPoint('email', 'a@b')).toBeNull();
    expect(normalizeContactPoint('wechat', '   ')).toBeNull();
  });
});
