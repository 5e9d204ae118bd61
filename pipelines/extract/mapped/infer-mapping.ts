import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { stringify as stringifyYaml } from 'yaml';
import { CANDIDATE_DELIMITERS, inspectFile } from '../files/file-intake.ts';
import { MAPPING_SCHEMA_FILE, type FieldValue, type SourceMapping } from './mapping-schema.ts';

/**
 * `crm sources infer <file>`: a first draft of a mapping from a file's header and sample rows, for a
 * data engineer to correct, never to load blindly: the encoding and delimiter the intake finds, each
 * column's type and date format from its sample values, and the canonical field each column most
 * likely feeds (by name, in English and Chinese, as the platforms' exports spell them).
 */

const SAMPLE_ROWS = 200;

/** Canonical fields and the column names real exports give them (lower case, spaces and underscores removed). */
const FIELD_NAMES: Record<string, { record: 'orders' | 'order_items'; names: string[] }> = {
  order_id: {
    record: 'orders',
    names: ['orderid', 'orderno', 'ordernumber', 'invoiceno', 'invoice', 'name', '订单编号', '订单号', '主订单编号'],
  },
  customer_id: {
    record: 'orders',
    names: ['customerid', 'customer', 'buyerid', 'userid', 'memberid', 'email', '买家会员名', '买家昵称', '会员名', '客户编号'],
  },
  ordered_at: {
    record: 'orders',
    names: [
      'orderedat',
      'orderdate',
      'invoicedate',
      'createdat',
      'date',
      'orderdatetime',
      'ordertime',
      '订单创建时间',
      '下单时间',
      '创建时间',
    ],
  },
  status: { record: 'orders', names: ['status', 'orderstatus', 'financialstatus', '订单状态', '交易状态'] },
  currency: { record: 'orders', names: ['currency', 'currencycode', '币种'] },
  ship_name: { record: 'orders', names: ['shipname', 'shippingname', 'recipient', '收货人姓名', '收货人'] },
  ship_phone: { record: 'orders', names: ['shipphone', 'shippingphone', 'phone', '联系手机', '联系电话', '手机'] },
  ship_city: { record: 'orders', names: ['shipcity', 'shippingcity', 'city', '城市', '收货城市'] },
  ship_address: { record: 'orders', names: ['shipaddress', 'shippingaddress1', 'address', '收货地址'] },
  sku: { record: 'order_items', names: ['sku', 'stockcode', 'lineitemsku', 'productcode', 'itemcode', '商家编码', '宝贝编号', '商品编码'] },
  product_name: {
    record: 'order_items',
    names: ['productname', 'description', 'lineitemname', 'title', 'itemname', '宝贝标题', '商品名称', '商品标题'],
  },
  quantity: {
    record: 'order_items',
    names: ['quantity', 'qty', 'lineitemquantity', 'numberofcds', 'units', '宝贝总数量', '宝贝数量', '购买数量', '数量'],
  },
  unit_price: {
    record: 'order_items',
    names: ['unitprice', 'price', 'lineitemprice', 'dollarvalue', 'amount', '价格', '单价', '商品价格'],
  },
};

const normalise = (name: string) => name.toLowerCase().replace(/[\s_\-.]/g, '');

export interface ColumnProfile {
  name: string;
  type: 'integer' | 'decimal' | 'date' | 'timestamp' | 'text' | 'empty';
  /** strptime format of a date or time column. */
  format?: string;
  /** How a decimal column writes its numbers, when not plainly (1.234,56 or 1,234.56). */
  notation?: { decimal: ',' | '.'; thousands: '' | '.' | ',' };
  examples: string[];
  /** The canonical field it most likely feeds. */
  field?: string;
}

export interface InferredMapping {
  file: string;
  encoding: string;
  delimiter: string;
  header: boolean;
  rows: number;
  columns: ColumnProfile[];
  /** The draft as YAML, with a comment on each guess. */
  draft: string;
}

const DATE_FORMATS: [RegExp, string, 'date' | 'timestamp'][] = [
  [/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/, '', 'timestamp'],
  [/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$/, '%Y-%m-%d %H:%M:%S %z', 'timestamp'],
  [/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, '%Y-%m-%d %H:%M:%S', 'timestamp'],
  [/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/, '%Y-%m-%d %H:%M', 'timestamp'],
  [/^\d{4}\/\d{1,2}\/\d{1,2} \d{1,2}:\d{2}(:\d{2})?$/, '%Y/%m/%d %H:%M:%S', 'timestamp'],
  [/^\d{1,2}\/\d{1,2}\/\d{4} \d{1,2}:\d{2}$/, '%m/%d/%Y %H:%M', 'timestamp'],
  [/^\d{4}-\d{2}-\d{2}$/, '%Y-%m-%d', 'date'],
  [/^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/, '%Y%m%d', 'date'],
  [/^\d{1,2}\/\d{1,2}\/\d{4}$/, '%m/%d/%Y', 'date'],
];

function profile(name: string, values: string[]): ColumnProfile {
  const present = values.map((v) => v.trim()).filter((v) => v !== '');
  const examples = [...new Set(present)].slice(0, 3);
  if (present.length === 0) return { name, type: 'empty', examples };
  for (const [pattern, format, type] of DATE_FORMATS) {
    if (present.every((v) => pattern.test(v))) {
      // d/m/Y or m/d/Y: a first part above 12 settles it.
      const dayFirst = format.startsWith('%m/%d') && present.some((v) => Number(v.split('/')[0]) > 12);
      const fixed = dayFirst ? format.replace('%m/%d', '%d/%m') : format;
      // %Y%m%d digits are also integers: a date only when the name or every value says so.
      if (fixed === '%Y%m%d' && !/date|time|日期|时间/i.test(name) && present.some((v) => !/^(19|20)/.test(v))) break;
      return { name, type, ...(fixed ? { format: fixed } : {}), examples };
    }
  }
  if (present.every((v) => /^-?\d+$/.test(v))) return { name, type: 'integer', examples };
  if (present.every((v) => /^-?\d+(\.\d+)?$/.test(v))) return { name, type: 'decimal', examples };
  // Decimal commas (1.234,56 / 12,5), or thousands commas beside a decimal point (1,234.56): a
  // lone "1,234" says neither, so a column is read so only when some value settles it.
  const settlesComma = (v: string) => /\.\d{3}/.test(v) || /,(\d{1,2}|\d{4,})$/.test(v);
  if (present.some(settlesComma) && present.every((v) => /^-?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$/.test(v)))
    return { name, type: 'decimal', notation: { decimal: ',', thousands: present.some((v) => /\.\d{3}/.test(v)) ? '.' : '' }, examples };
  if (present.some((v) => v.includes('.')) && present.every((v) => /^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$/.test(v)))
    return { name, type: 'decimal', notation: { decimal: '.', thousands: ',' }, examples };
  return { name, type: 'text', examples };
}

function guessField(column: string, taken: Set<string>): string | undefined {
  const key = normalise(column);
  for (const [field, { names }] of Object.entries(FIELD_NAMES)) {
    if (!taken.has(field) && names.includes(key)) return field;
  }
  return undefined;
}

function splitRows(text: string, delimiter: string): string[][] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (delimiter === 'whitespace') return lines.map((l) => l.trim().split(/\s+/));
  try {
    return parseCsv(lines.join('\n'), { delimiter, relax_column_count: true, relax_quotes: true, bom: true }) as string[][];
  } catch {
    return lines.map((l) => l.split(delimiter));
  }
}

/** The delimiter under which the sample lines have the same number of columns (more than one). */
function guessDelimiter(lines: string[]): string {
  let best = ',';
  let bestScore = 0;
  for (const d of [...CANDIDATE_DELIMITERS, 'whitespace']) {
    const counts = splitRows(lines.join('\n'), d).map((r) => r.length);
    const first = counts[0] ?? 0;
    if (first < 2) continue;
    const same = counts.filter((c) => c === first).length / counts.length;
    const score = same * (d === 'whitespace' ? 0.9 : 1) * Math.min(first, 50);
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

export function inferMapping(filePath: string): InferredMapping {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-infer-'));
  try {
    const intake = inspectFile(filePath, {
      format: 'csv',
      encoding: 'auto',
      delimiter: ',',
      requireFinalNewline: false,
      expectedFields: [],
      workDir: () => workDir,
    });
    if (intake.status !== 'ready') throw new Error(`${filePath}: ${intake.status === 'rejected' ? intake.reason : intake.reason}`);
    const text = fs.readFileSync(intake.readPath, 'utf8').slice(0, 1 << 20);
    const lines = text
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '')
      .slice(0, SAMPLE_ROWS + 1);
    const delimiter = guessDelimiter(lines.slice(0, 50));
    const rows = splitRows(lines.join('\n'), delimiter);
    const first = rows[0] ?? [];
    // A header when the first row has no number or date where the rows below have them.
    const body = rows.slice(1);
    const header =
      first.some((cell, i) => {
        const below = profile(
          '',
          body.map((r) => r[i] ?? ''),
        );
        return below.type !== 'text' && below.type !== 'empty' && profile('', [cell]).type === 'text';
      }) || first.every((cell) => profile('', [cell]).type === 'text');
    const names = header ? first.map((n) => n.trim()) : first.map((_, i) => `column${i + 1}`);
    const dataRows = header ? body : rows;
    const taken = new Set<string>();
    const columns = names.map((name, i) => {
      const column = profile(
        name,
        dataRows.map((r) => r[i] ?? ''),
      );
      const field = guessField(name, taken);
      if (field) {
        taken.add(field);
        column.field = field;
      }
      return column;
    });
    return {
      file: filePath,
      encoding: intake.encoding,
      delimiter,
      header,
      rows: dataRows.length,
      columns,
      draft: draftYaml(path.basename(filePath), intake.encoding, delimiter, header, names, columns),
    };
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

const ident = (name: string) => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

function valueFor(column: ColumnProfile): FieldValue {
  if (column.type === 'date' || column.type === 'timestamp')
    return column.format ? { timestamp: ident(column.name), format: column.format } : { timestamp: ident(column.name) };
  return ident(column.name);
}

function draftYaml(
  fileName: string,
  encoding: string,
  delimiter: string,
  header: boolean,
  names: string[],
  columns: ColumnProfile[],
): string {
  const byField = new Map(columns.filter((c) => c.field).map((c) => [c.field!, c]));
  const records: SourceMapping['records'] = {};
  const orders: Record<string, FieldValue> = {};
  const items: Record<string, FieldValue> = {};
  for (const [field, { record }] of Object.entries(FIELD_NAMES)) {
    const column = byField.get(field);
    if (!column) continue;
    (record === 'orders' ? orders : items)[field] = valueFor(column);
  }
  if (orders['ordered_at'] && !orders['updated_at']) orders['updated_at'] = orders['ordered_at'];
  orders['status'] ??= { const: 'completed' };
  orders['currency'] ??= { const: 'CNY' };
  orders['discount_amount'] ??= { const: '0' };
  records.orders = { fields: orders };
  if (Object.keys(items).length > 0) {
    if (orders['order_id']) items['order_id'] = orders['order_id'];
    items['line_no'] ??= orders['order_id']
      ? `row_number() OVER (PARTITION BY ${orders['order_id'] as string} ORDER BY _line)`
      : { const: 1 };
    records.order_items = { fields: items };
  }
  const mapping = {
    name:
      path
        .parse(fileName)
        .name.replace(/[^A-Za-z0-9_-]+/g, '-')
        .toLowerCase() || 'my-shop',
    description: `draft inferred from ${fileName}: check every field before loading (crm sources check)`,
    match: [`${path.parse(fileName).name.replace(/\d+/g, '*')}${path.extname(fileName)}`],
    format: {
      type: 'delimited',
      delimiter,
      header,
      ...(header ? {} : { columns: names }),
      encoding,
      timezone: 'UTC',
      // The number notation of the file's decimal columns (the first that has one).
      ...(columns.find((c) => c.notation)?.notation ?? {}),
    },
    records,
  };
  const unmatched = columns
    .filter((c) => !c.field)
    .map((c) => `${c.name} (${c.type}${c.format ? ` ${c.format}` : ''}${c.examples[0] ? `, e.g. ${c.examples[0]}` : ''})`);
  const missing = ['order_id', 'customer_id', 'ordered_at'].filter((f) => !byField.has(f));
  const profileLines = columns.map(
    (c) =>
      `#   ${c.name}: ${c.type}${c.format ? ` ${c.format}` : ''}${c.notation ? ` (decimal "${c.notation.decimal}"${c.notation.thousands ? `, thousands "${c.notation.thousands}"` : ''})` : ''}${c.field ? ` -> ${c.field}` : ''}${c.examples.length ? ` (e.g. ${c.examples.join(' | ')})` : ''}`,
  );
  return [
    `# yaml-language-server: $schema=${MAPPING_SCHEMA_FILE}`,
    `# Draft mapping inferred by crm sources infer. Columns found:`,
    ...profileLines,
    ...(unmatched.length ? [`# Not mapped (add what they mean): ${unmatched.join('; ')}`] : []),
    ...(missing.length ? [`# Required and not found (write an expression for each): ${missing.join(', ')}`] : []),
    '# Guessed constants (status, currency, discount) are placeholders: state what the export means.',
    stringifyYaml(mapping, { lineWidth: 0, aliasDuplicateObjects: false }),
  ].join('\n');
}
