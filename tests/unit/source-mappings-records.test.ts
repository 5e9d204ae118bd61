import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { mappedSource } from '../../pipelines/extract/sources.ts';
import { MappingError } from '../../pipelines/extract/mapped/mapping-schema.ts';
import { projectRoot } from '../../shared/paths.ts';
import { queryWarehouse } from '../support/warehouse-query.ts';

/**
 * Mappings beyond orders: a CRM's customer export, a help desk's ticket exports (tickets, their
 * histories, a call log) and a review export, each mapped into the canonical records (customers +
 * customer_versions, service_tickets, service_ticket_events, service_contacts, opinion_posts) with
 * the same quarantine guarantees as orders: file, line, field and reason.
 * The fixture files are written here, in the shapes such tools export.
 */

let dir: string;
let landing: string;
let warehousePath: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-mapping-records-'));
  landing = path.join(dir, 'landing');
  warehousePath = path.join(dir, 'wh.duckdb');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const query = (sql: string) => queryWarehouse(warehousePath, sql);

function drop(folder: string, name: string, text: string): void {
  fs.mkdirSync(path.join(landing, folder), { recursive: true });
  fs.writeFileSync(path.join(landing, folder, name), text);
}

function mappingFile(name: string, yaml: string): string {
  const file = path.join(dir, `${name}.yml`);
  fs.writeFileSync(file, yaml);
  return file;
}

describe('mapped sources of profiles, tickets and posts', () => {
  it('maps a CRM customer export into customers and their versions; a bad tier and a bad date are quarantined with file, line, field and reason', async () => {
    drop(
      'crm',
      'contacts_2025.csv',
      [
        'Contact ID,Name,E-mail,Created,Tier,Opt-in,Modified',
        'K-1,Li Na,LI.NA@Example.com ,2025-01-05 10:00,Gold,yes,2025-02-01 09:00',
        'K-2,Tom Lee,tom@example.com,2025-01-06 11:30,Diamond,no,2025-02-01 09:00',
        'K-3,Ann Wu,ann@example.com,06/01/2025,Silver,yes,2025-02-01 09:00',
        'K-1,Li Na,li.na@example.com,2025-01-05 10:00,Platinum,yes,2025-03-01 09:00',
      ].join('\n') + '\n',
    );
    const source = mappedSource(
      'crm',
      mappingFile(
        'crm',
        `
name: crm
match: ["contacts_*.csv"]
format: { timezone: Asia/Shanghai }
records:
  customers:
    fields:
      customer_id: '"Contact ID"'
      full_name: Name
      email: "lower(trim(\\"E-mail\\"))"
      signup_at: { timestamp: Created, format: "%Y-%m-%d %H:%M" }
      membership_tier: lower(Tier)
      marketing_consent: "\\"Opt-in\\" = 'yes'"
      updated_at: { timestamp: Modified, format: "%Y-%m-%d %H:%M" }
`,
      ),
    );
    expect(source.family).toBe('profiles');
    const summary = await extractSource(source, { warehousePath, landingDir: landing, batchId: 'p1' });
    expect(summary.notes[0]).toBe('1 file(s) loaded through mapping crm');
    // The newest version per customer; every version kept.
    expect(
      await query(
        `SELECT customer_id, email, membership_tier, marketing_consent, strftime(signup_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM raw.customers ORDER BY 1`,
      ),
    ).toEqual([['K-1', 'li.na@example.com', 'platinum', true, '2025-01-05 02:00']]);
    expect(await query(`SELECT customer_id, membership_tier FROM raw.customer_versions ORDER BY updated_at`)).toEqual([
      ['K-1', 'gold'],
      ['K-1', 'platinum'],
    ]);
    const quarantine = await query(
      `SELECT raw_table, location, reason FROM raw._quarantine WHERE raw_table = 'customers' ORDER BY location`,
    );
    expect(quarantine.map((r) => r[1])).toEqual(['crm/contacts_2025.csv:3', 'crm/contacts_2025.csv:4']);
    expect(String(quarantine[0]![2])).toContain('membership_tier');
    expect(String(quarantine[0]![2])).toContain('diamond');
    expect(String(quarantine[1]![2])).toContain('signup_at');
    expect(String(quarantine[1]![2])).toContain('06/01/2025');
  });

  it('maps a help-desk ticket export (NDJSON) into service_tickets; an unknown channel is quarantined naming the field and value', async () => {
    const tickets = [
      {
        id: 9001,
        requester: 'c1',
        via: 'Email',
        type: 'Complaint',
        subject: 'late parcel',
        created: '2025-04-01T09:00:00+08:00',
        state: 'solved',
        csat: 2,
        updated: '2025-04-02T10:00:00+08:00',
      },
      {
        id: 9002,
        requester: 'c2',
        via: 'Chat',
        type: 'Return',
        subject: 'wrong size',
        created: '2025-04-01T23:30:00Z',
        state: 'open',
        csat: null,
        updated: '2025-04-01T23:30:00Z',
      },
      {
        id: 9003,
        requester: 'c3',
        via: 'Pigeon',
        type: 'Complaint',
        subject: '?',
        created: '2025-04-03T08:00:00+08:00',
        state: 'open',
        csat: null,
        updated: '2025-04-03T08:00:00+08:00',
      },
    ];
    drop('helpdesk', 'tickets.ndjson', tickets.map((t) => JSON.stringify(t)).join('\n') + '\n');
    const source = mappedSource(
      'helpdesk',
      mappingFile(
        'helpdesk',
        `
name: helpdesk
match: ["*.ndjson"]
format: { type: ndjson }
records:
  service_tickets:
    fields:
      ticket_id: "'Z' || id"
      customer_id: requester
      channel: "CASE lower(via) WHEN 'chat' THEN 'web_chat' ELSE lower(via) END"
      category: lower(type)
      subject: subject
      created_at: created
      status: "CASE state WHEN 'solved' THEN 'resolved' ELSE state END"
      satisfaction: csat
      updated_at: updated
`,
      ),
    );
    expect(source.family).toBe('service');
    await extractSource(source, { warehousePath, landingDir: landing, batchId: 't1' });
    expect(
      await query(
        `SELECT ticket_id, channel, category, status, satisfaction::INT, strftime(created_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM raw.service_tickets ORDER BY 1`,
      ),
    ).toEqual([
      ['Z9001', 'email', 'complaint', 'resolved', 2, '2025-04-01 01:00'],
      ['Z9002', 'web_chat', 'return', 'open', null, '2025-04-01 23:30'],
    ]);
    const quarantine = await query(`SELECT raw_table, location, reason FROM raw._quarantine`);
    expect(quarantine.map((r) => [r[0], r[1]])).toEqual([['service_tickets', 'helpdesk/tickets.ndjson:3']]);
    expect(String(quarantine[0]![2])).toContain('channel');
    expect(String(quarantine[0]![2])).toContain('pigeon');
  });

  it('maps a help desk with ticket histories (one event per element of a JSON array) and a call log into tickets, ticket events and contacts; a bad event type and a negative call length are quarantined', async () => {
    const at = (h: number) => `2025-05-0${1 + Math.floor(h / 24)}T${String(h % 24).padStart(2, '0')}:00:00+08:00`;
    drop(
      'desk',
      'tickets_2025-05.ndjson',
      [
        {
          id: 71,
          requester: 'c1',
          via: 'phone',
          type: 'after_sale',
          subject: 'broken zip',
          created: at(1),
          state: 'resolved',
          updated: at(30),
          audits: [
            { audit_id: 'a1', kind: 'created', when: at(1), by: 'ag1' },
            { audit_id: 'a2', kind: 'first_reply', when: at(2), by: 'ag1' },
            { audit_id: 'a3', kind: 'resolved', when: at(30), by: 'ag2' },
          ],
        },
        {
          id: 72,
          requester: 'c2',
          via: 'email',
          type: 'complaint',
          subject: 'late',
          created: at(3),
          state: 'open',
          updated: at(3),
          audits: [
            { audit_id: 'b1', kind: 'created', when: at(3), by: null },
            { audit_id: 'b2', kind: 'escalated', when: at(4), by: 'ag3' },
          ],
        },
      ]
        .map((t) => JSON.stringify(t))
        .join('\n') + '\n',
    );
    drop(
      'desk',
      'calls_2025-05.csv',
      [
        'Call ID,Ticket,Customer,Direction,Started,Seconds,Agent,Number',
        `K1,71,c1,in,${at(1)},312,ag1,+86 138 0000 1111`,
        `K2,,c3,out,${at(5)},-4,ag2,+86 139 0000 2222`,
        `K3,,c4,in,${at(6)},45,ag2,+86 137 0000 3333`,
      ].join('\n') + '\n',
    );
    const source = mappedSource(
      'desk',
      mappingFile(
        'desk',
        `
name: desk
files:
  - match: ["tickets_*.ndjson"]
    format: { type: ndjson }
    records:
      service_tickets:
        fields:
          ticket_id: "'T' || id"
          customer_id: requester
          channel: via
          category: type
          subject: subject
          created_at: created
          status: state
          updated_at: updated
      service_ticket_events:
        each: audits
        fields:
          event_id: "item ->> 'audit_id'"
          ticket_id: "'T' || id"
          event_type: "item ->> 'kind'"
          occurred_at: "item ->> 'when'"
          agent_id: "item ->> 'by'"
  - match: ["calls_*.csv"]
    records:
      service_contacts:
        fields:
          contact_id: '"Call ID"'
          ticket_id: "CASE WHEN Ticket <> '' THEN 'T' || Ticket END"
          customer_id: Customer
          channel: { const: phone }
          direction: "CASE Direction WHEN 'in' THEN 'inbound' ELSE 'outbound' END"
          category: { const: after_sale }
          started_at: Started
          handle_seconds: Seconds
          agent_id: Agent
          contact_point: Number
          updated_at: Started
`,
      ),
    );
    expect(source.family).toBe('service');
    expect(source.records.map((r) => r.table).sort()).toEqual(['service_contacts', 'service_ticket_events', 'service_tickets']);
    await extractSource(source, { warehousePath, landingDir: landing, batchId: 'd1' });
    expect(await query(`SELECT ticket_id, status FROM raw.service_tickets ORDER BY 1`)).toEqual([
      ['T71', 'resolved'],
      ['T72', 'open'],
    ]);
    expect(
      await query(
        `SELECT event_id, ticket_id, event_type, agent_id, strftime(occurred_at AT TIME ZONE 'UTC', '%d %H:%M') FROM raw.service_ticket_events ORDER BY 1`,
      ),
    ).toEqual([
      ['a1', 'T71', 'created', 'ag1', '30 17:00'],
      ['a2', 'T71', 'first_reply', 'ag1', '30 18:00'],
      ['a3', 'T71', 'resolved', 'ag2', '01 22:00'],
      ['b1', 'T72', 'created', null, '30 19:00'],
    ]);
    expect(
      await query(`SELECT contact_id, ticket_id, direction, handle_seconds::INT, contact_point FROM raw.service_contacts ORDER BY 1`),
    ).toEqual([
      ['K1', 'T71', 'inbound', 312, '+86 138 0000 1111'],
      ['K3', null, 'inbound', 45, '+86 137 0000 3333'],
    ]);
    const quarantine = await query(`SELECT raw_table, location, reason FROM raw._quarantine ORDER BY 1, 2`);
    expect(quarantine.map((r) => [r[0], r[1]])).toEqual([
      ['service_contacts', 'desk/calls_2025-05.csv:3'],
      ['service_ticket_events', 'desk/tickets_2025-05.ndjson:2'],
    ]);
    expect(String(quarantine[0]![2])).toContain('handle_seconds');
    expect(String(quarantine[1]![2])).toContain('event_type');
    expect(String(quarantine[1]![2])).toContain('escalated');
  });

  it('maps a review export into opinion_posts scored at load; a post without text is quarantined', async () => {
    drop(
      'reviews',
      'reviews.csv',
      [
        'review_id,stars,body,language,date,product',
        'R1,1,"Terrible quality, it broke after one day. Never again.",en,2025-05-01,Jacket',
        'R2,5,"Excellent, I love it, great value",en,2025-05-02,Jacket',
        'R3,3,,en,2025-05-03,Jacket',
      ].join('\n') + '\n',
    );
    const source = mappedSource(
      'reviews',
      mappingFile(
        'reviews',
        `
name: reviews
match: ["reviews*.csv"]
records:
  opinion_posts:
    fields:
      post_id: review_id
      platform: { const: shop_reviews }
      published_at: { timestamp: date, format: "%Y-%m-%d" }
      lang: language
      text: "nullif(body, '')"
      rating: stars
      product: product
`,
      ),
    );
    expect(source.family).toBe('opinion');
    await extractSource(source, { warehousePath, landingDir: landing, batchId: 'o1' });
    const posts = await query(`SELECT post_id, sentiment_label, source_feed, scorer IS NOT NULL FROM raw.opinion_posts ORDER BY 1`);
    expect(posts).toEqual([
      ['R1', 'negative', 'reviews', true],
      ['R2', 'positive', 'reviews', true],
    ]);
    const quarantine = await query(`SELECT raw_table, location, reason FROM raw._quarantine`);
    expect(quarantine.map((r) => [r[0], r[1]])).toEqual([['opinion_posts', 'reviews/reviews.csv:4']]);
    expect(String(quarantine[0]![2])).toContain('text');
  });

  it('reads ="..." id cells literally, and rejects a file the CSV parser gives up on as a whole while the others load', async () => {
    drop('crm', 'contacts_a.csv', 'id,tier,created\n="3780000000000000001",gold,2025-01-05 10:00\n');
    // An unclosed quote: csv-parse cannot find the end of the field.
    drop('crm', 'contacts_b.csv', 'id,tier,created\n"K-2,gold,2025-01-05 10:00\n');
    const source = mappedSource(
      'crm',
      mappingFile(
        'crm',
        `
name: crm
match: ["contacts_*.csv"]
records:
  customers:
    fields:
      customer_id: >-
        regexp_replace(id, '[="]', '', 'g')
      membership_tier: tier
      marketing_consent: "false"
      signup_at: { timestamp: created, format: "%Y-%m-%d %H:%M" }
      updated_at: { timestamp: created, format: "%Y-%m-%d %H:%M" }
`,
      ),
    );
    const summary = await extractSource(source, { warehousePath, landingDir: landing, batchId: 'q1' });
    expect(summary.notes[0]).toBe('1 file(s) loaded through mapping crm');
    expect(await query(`SELECT customer_id FROM raw.customers`)).toEqual([['3780000000000000001']]);
    const quarantine = await query(`SELECT raw_table, location, reason FROM raw._quarantine`);
    expect(quarantine.map((r) => [r[0], r[1]])).toEqual([['customers', 'crm/contacts_b.csv']]);
    expect(String(quarantine[0]![2])).toMatch(/^file rejected: not readable as CSV with delimiter ",": /);
  });

  it("reads dates without a time as the start of the shop's day when the mapping says timezone: shop (the cdnow preset)", async () => {
    drop('cdnow', 'log.txt', ' customer_id  date number_of_cds  dollar_value\n 00001 20250105  1   11.77\n');
    const at = `SELECT strftime(ordered_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM raw.orders`;
    await extractSource(mappedSource('cdnow', 'preset:cdnow', { shopTimezone: 'America/New_York' }), {
      warehousePath,
      landingDir: landing,
      batchId: 'c1',
    });
    expect(await query(at)).toEqual([['2025-01-05 05:00']]); // midnight in New York
    fs.rmSync(warehousePath);
    await extractSource(mappedSource('cdnow', 'preset:cdnow'), { warehousePath, landingDir: landing, batchId: 'c2' });
    expect(await query(at)).toEqual([['2025-01-04 16:00']]); // midnight in Shanghai, the default shop zone
  });

  it('refuses a mapping whose records span two families (one mapped source writes one family)', () => {
    const file = mappingFile(
      'mixed',
      `
name: mixed
records:
  orders:
    fields: { order_id: id, ordered_at: at, updated_at: at, status: { const: completed }, currency: { const: EUR } }
  customers:
    fields: { customer_id: id, updated_at: at }
`,
    );
    expect(() => mappedSource('mixed', file)).toThrow(MappingError);
    expect(() => mappedSource('mixed', file)).toThrow(/several source families \(orders, profiles\)/);

    // The CLI says so in one line and exits 2 (a config error), whatever the command.
    const configPath = path.join(dir, 'crm.config.yml');
    fs.writeFileSync(configPath, `sources:\n  mixed: { mapping: ${file} }\n`);
    const result = spawnSync(
      path.join(projectRoot, 'node_modules', '.bin', 'tsx'),
      ['cli/crm.ts', 'sources', 'check', 'mixed', '--landing', landing],
      {
        cwd: projectRoot,
        env: { ...process.env, CRM_CONFIG: configPath },
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^crm: mapping mixed: .*several source families \(orders, profiles\)/),
    ]);
  });
});
