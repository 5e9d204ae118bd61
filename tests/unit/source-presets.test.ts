import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extractSource } from '../../pipelines/extract/run-extract.ts';
import { mappedSource } from '../../pipelines/extract/sources.ts';
import { queryWarehouse } from '../support/warehouse-query.ts';

/**
 * Each preset against a file the test writes in that platform's exact export shape (its published
 * column list, in order; its encoding; its habits: order columns on the first line only, offsets in
 * timestamps, Excel-guarding of long numbers), checked record by record in the raw tables.
 */

let dir: string;
let landing: string;
let warehousePath: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crm-preset-'));
  landing = path.join(dir, 'landing');
  warehousePath = path.join(dir, 'wh.duckdb');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const query = (sql: string) => queryWarehouse(warehousePath, sql);

const csvCell = (value: string) => (/[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/** Shopify's orders export columns, in the order Shopify's help centre lists them. */
const SHOPIFY_COLUMNS = [
  'Name',
  'Email',
  'Financial Status',
  'Paid at',
  'Fulfillment Status',
  'Fulfilled at',
  'Accepts Marketing',
  'Currency',
  'Subtotal',
  'Shipping',
  'Taxes',
  'Total',
  'Discount Code',
  'Discount Amount',
  'Shipping Method',
  'Created at',
  'Lineitem quantity',
  'Lineitem name',
  'Lineitem price',
  'Lineitem compare at price',
  'Lineitem sku',
  'Lineitem requires shipping',
  'Lineitem taxable',
  'Lineitem fulfillment status',
  'Billing Name',
  'Billing Street',
  'Billing Address1',
  'Billing Address2',
  'Billing Company',
  'Billing City',
  'Billing Zip',
  'Billing Province',
  'Billing Country',
  'Billing Phone',
  'Shipping Name',
  'Shipping Street',
  'Shipping Address1',
  'Shipping Address2',
  'Shipping Company',
  'Shipping City',
  'Shipping Zip',
  'Shipping Province',
  'Shipping Country',
  'Shipping Phone',
  'Notes',
  'Note Attributes',
  'Cancelled at',
  'Payment Method',
  'Payment Reference',
  'Refunded Amount',
  'Vendor',
  'Outstanding Balance',
  'Employee',
  'Location',
  'Device ID',
  'Id',
  'Tags',
  'Risk Level',
  'Source',
  'Lineitem discount',
  'Tax 1 Name',
  'Tax 1 Value',
  'Tax 2 Name',
  'Tax 2 Value',
  'Tax 3 Name',
  'Tax 3 Value',
  'Tax 4 Name',
  'Tax 4 Value',
  'Tax 5 Name',
  'Tax 5 Value',
  'Phone',
  'Receipt Number',
  'Duties',
  'Billing Province Name',
  'Shipping Province Name',
  'Payment ID',
  'Payment Terms Name',
  'Next Payment Due At',
  'Payment References',
];

function shopifyCsv(rows: Record<string, string>[]): string {
  const unknown = rows.flatMap((r) => Object.keys(r)).filter((k) => !SHOPIFY_COLUMNS.includes(k));
  if (unknown.length > 0) throw new Error(`not a Shopify column: ${unknown.join(', ')}`);
  return [SHOPIFY_COLUMNS.join(','), ...rows.map((r) => SHOPIFY_COLUMNS.map((c) => csvCell(r[c] ?? '')).join(','))].join('\n') + '\n';
}

describe('preset: shopify (orders export)', () => {
  it('orders from their first line, every line an item, refunds and cancellations as their own records, unpaid orders quarantined', async () => {
    const order = (name: string, extra: Record<string, string>) => ({
      Name: name,
      Email: 'Ann@Example.com',
      Currency: 'USD',
      'Created at': '2024-03-01 10:15:32 -0500',
      'Shipping Name': 'Ann Lee',
      'Shipping City': 'Portland',
      'Shipping Address1': '1 Main St',
      'Shipping Address2': 'Apt 2',
      'Shipping Phone': '+1 503 555 0100',
      ...extra,
    });
    const line = (name: string, qty: string, title: string, price: string, sku: string) => ({
      Name: name,
      Email: 'Ann@Example.com',
      'Created at': '2024-03-01 10:15:32 -0500',
      'Lineitem quantity': qty,
      'Lineitem name': title,
      'Lineitem price': price,
      'Lineitem sku': sku,
      Vendor: 'Acme',
    });
    fs.mkdirSync(path.join(landing, 'shopify'), { recursive: true });
    fs.writeFileSync(
      path.join(landing, 'shopify', 'orders_export_1.csv'),
      shopifyCsv([
        {
          ...order('#1001', {
            'Financial Status': 'paid',
            'Paid at': '2024-03-01 10:16:00 -0500',
            'Fulfillment Status': 'fulfilled',
            'Fulfilled at': '2024-03-02 09:00:00 -0500',
            'Discount Amount': '5.00',
            Subtotal: '45.00',
            Total: '52.00',
          }),
          ...line('#1001', '2', 'T-shirt, blue', '15.00', 'TS-B'),
        },
        line('#1001', '1', 'Cap', '20.00', ''),
        {
          ...order('#1002', {
            Currency: 'CAD',
            'Financial Status': 'partially_refunded',
            'Paid at': '2024-03-03 12:00:00 -0500',
            'Fulfillment Status': 'fulfilled',
            'Refunded Amount': '7.50',
          }),
          ...line('#1002', '1', 'Mug', '12.50', 'MUG'),
        },
        {
          ...order('#1003', {
            'Financial Status': 'refunded',
            'Cancelled at': '2024-03-04 08:00:00 -0500',
            'Refunded Amount': '30.00',
            Email: '',
          }),
          ...line('#1003', '3', 'Socks', '10.00', 'SOCK'),
          Email: '',
        },
        { ...order('#1004', { 'Financial Status': 'pending' }), ...line('#1004', '1', 'Mug', '12.50', 'MUG') },
      ]),
    );
    const summary = await extractSource(mappedSource('shopify', 'preset:shopify'), { warehousePath, landingDir: landing, batchId: 's1' });
    expect(summary.notes[0]).toBe('1 file(s) loaded through mapping shopify');
    expect(
      await query(
        `SELECT order_id, customer_id, status, currency, discount_amount::VARCHAR, strftime(ordered_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M'), ship_city, ship_address FROM raw.orders ORDER BY 1`,
      ),
    ).toEqual([
      ['#1001', 'ann@example.com', 'completed', 'USD', '5.00', '2024-03-01 15:15', 'Portland', '1 Main St Apt 2'],
      ['#1002', 'ann@example.com', 'completed', 'CAD', '0.00', '2024-03-01 15:15', 'Portland', '1 Main St Apt 2'],
      // A guest checkout (no e-mail): an order without a customer, counted in shop revenue but in no customer's value.
      ['#1003', null, 'cancelled', 'USD', '0.00', '2024-03-01 15:15', 'Portland', '1 Main St Apt 2'],
    ]);
    expect(
      await query(
        `SELECT order_id, line_no::INT, sku, product_name, quantity::INT, unit_price::DECIMAL(18, 2)::VARCHAR, brand FROM raw.order_items ORDER BY 1, 2`,
      ),
    ).toEqual([
      ['#1001', 1, 'TS-B', 'T-shirt, blue', 2, '15.00', 'Acme'],
      ['#1001', 2, 'Cap', 'Cap', 1, '20.00', 'Acme'],
      ['#1002', 1, 'MUG', 'Mug', 1, '12.50', 'Acme'],
      ['#1003', 1, 'SOCK', 'Socks', 3, '10.00', 'Acme'],
    ]);
    expect(
      await query(
        `SELECT refund_id, order_id, amount::VARCHAR, strftime(requested_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM raw.order_refunds ORDER BY 1`,
      ),
    ).toEqual([
      ['#1002-refund', '#1002', '7.50', '2024-03-03 17:00'],
      ['#1003-refund', '#1003', '30.00', '2024-03-04 13:00'],
    ]);
    expect(await query(`SELECT order_id, cancelled_by FROM raw.order_cancellations`)).toEqual([['#1003', 'merchant']]);
    // The unpaid order (#1004) is quarantined naming its status: not a sale yet; its valid line goes
    // with it (no line lands in raw without its order).
    const rejected = await query(`SELECT location, raw_table, reason FROM raw._quarantine ORDER BY 1, 2 DESC`);
    expect(rejected.map((r) => [r[0], r[1]])).toEqual([
      ['shopify/orders_export_1.csv:6', 'orders'],
      ['shopify/orders_export_1.csv:6', 'order_items'],
    ]);
    expect(String(rejected[0]![2])).toContain('pending');
    expect(rejected[1]![2]).toBe('order #1004 quarantined');
  });
});

/** Taobao's 订单报表 columns, in the seller centre's order. */
const TAOBAO_ORDER_COLUMNS =
  '订单编号,买家会员名,买家支付宝账号,买家应付货款,买家应付邮费,买家支付积分,总金额,返点积分,买家实际支付金额,买家实际支付积分,订单状态,买家留言,收货人姓名,收货地址,运送方式,联系电话,联系手机,订单创建时间,订单付款时间,宝贝标题,宝贝种类,物流单号,物流公司,订单备注,宝贝总数量,店铺Id,店铺名称,订单关闭原因,卖家服务费,买家服务费,发票抬头,是否手机订单,分阶段订单信息,特权订金订单id,是否上传合同照片,是否上传小票,是否代付,定金排名,修改后的sku,修改后的收货地址,异常信息,天猫卡券抵扣,集分宝抵扣,是否是O2O交易,退款金额,预约门店'.split(
    ',',
  );
/** Taobao's 宝贝报表 columns. */
const TAOBAO_ITEM_COLUMNS = '订单编号,标题,价格,购买数量,外部系统编号,商品属性,套餐信息,备注,订单状态,商家编码'.split(',');

/**
 * GB18030 bytes of the Chinese characters above (Node's TextDecoder reads GB18030 but nothing here
 * writes it): two bytes each, from the standard's table; the test checks the round trip.
 */
const GB_CHARS =
  '三上东买交人付代价会传保信修公关分创券功务包区单卖卡原发取号司合同名后否员品商因地址备外天头套姓定宝实家小尺属州已市布帆常应店建异式张待快态性总恤息成手扣报抬抵排支收改数文新方时易是服机权李杭杯标格梅棉款段江注流浙浦海消温湖点照片物特状猫王电留白的省码确票种积称等类系约纯统编联色芳表西言订认话贝账货购费路运返退送递邮部量金铺门闭间阶际集雷韩预题颜额餐，：';
const GB_BYTES =
  'c8fdc9cfb6abc2f2bdbbc8cbb8b6b4fabcdbbbe1b4abb1a3d0c5d0deb9abb9d8b7d6b4b4c8afb9a6cef1b0fcc7f8b5a5c2f4bfa8d4adb7a2c8a1bac5cbbebacfcdacc3fbbaf3b7f1d4b1c6b7c9ccd2f2b5d8d6b7b1b8cde2cceccdb7ccd7d0d5b6a8b1a6cab5bcd2d0a1b3dfcaf4d6ddd2d1cad0b2bcb7abb3a3d3a6b5eabda8d2eccabdd5c5b4fdbfecccacd0d4d7dcd0f4cfa2b3c9cad6bfdbb1a8cca7b5d6c5c5d6a7cad5b8c4cafdcec4d0c2b7bdcab1d2d7cac7b7febbfac8a8c0eebabcb1adb1eab8f1c3b7c3debfeeb6cebdadd7a2c1f7d5e3c6d6baa3cffbcec2bafeb5e3d5d5c6acceefccd8d7b4c3a8cdf5b5e7c1f4b0d7b5c4caa1c2ebc8b7c6b1d6d6bbfdb3c6b5c8c0e0cfb5d4bcb4bfcdb3b1e0c1aac9abb7bcb1edcef7d1d4b6a9c8cfbbb0b1b4d5cbbbf5b9bab7d1c2b7d4cbb7b5cdcbcbcdb5ddd3cab2bfc1bfbdf0c6ccc3c5b1d5bce4bdd7bccabcafc0d7baabd4a4cce2d1d5b6eeb2cda3aca3ba';
function gb18030(text: string): Buffer {
  const bytes: number[] = [];
  for (const c of text) {
    if (c.charCodeAt(0) < 0x80) bytes.push(c.charCodeAt(0));
    else {
      const i = GB_CHARS.indexOf(c);
      if (i === -1) throw new Error(`no GB18030 bytes for ${c}`);
      bytes.push(parseInt(GB_BYTES.slice(i * 4, i * 4 + 2), 16), parseInt(GB_BYTES.slice(i * 4 + 2, i * 4 + 4), 16));
    }
  }
  return Buffer.from(bytes);
}

function taobaoCsv(columns: string[], rows: Record<string, string>[]): string {
  const unknown = rows.flatMap((r) => Object.keys(r)).filter((k) => !columns.includes(k));
  if (unknown.length > 0) throw new Error(`not a Taobao column: ${unknown.join(', ')}`);
  return [columns.join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c] ?? '')).join(','))].join('\r\n') + '\r\n';
}

describe('preset: taobao (seller-centre order and item reports, GB18030)', () => {
  it('reads both reports in GB18030: orders, items, refunds and cancellations, Beijing times as UTC, unpaid orders quarantined', async () => {
    const order = (id: string, buyer: string, status: string, extra: Record<string, string> = {}) => ({
      订单编号: `="${id}"`,
      买家会员名: buyer,
      订单状态: status,
      收货人姓名: '王芳',
      收货地址: '浙江省 杭州市 西湖区 文三路100号',
      联系手机: "'13800001111",
      订单创建时间: '2024-03-01 10:15:32',
      订单付款时间: '2024-03-01 10:16:00',
      运送方式: '快递',
      是否手机订单: '是',
      ...extra,
    });
    const orders = taobaoCsv(TAOBAO_ORDER_COLUMNS, [
      order('3780000000000000001', '小王', '交易成功'),
      order('3780000000000000002', '小李', '卖家已发货，等待买家确认', {
        收货地址: '上海 上海市 浦东新区 张江路4471号',
        收货人姓名: '韩梅梅',
      }),
      order('3780000000000000003', '小王', '交易关闭', { 退款金额: '59.00' }),
      order('3780000000000000004', '李雷', '交易关闭', { 订单关闭原因: '买家取消' }),
      order('3780000000000000005', '李雷', '等待买家付款', { 订单付款时间: '' }),
    ]);
    const item = (id: string, title: string, price: string, qty: string, code: string) => ({
      订单编号: `${id}\t`,
      标题: title,
      价格: price,
      购买数量: qty,
      商品属性: '颜色分类：白色;尺码：L',
      商家编码: code,
      订单状态: '交易成功',
    });
    const items = taobaoCsv(TAOBAO_ITEM_COLUMNS, [
      item('3780000000000000001', '纯棉T恤 白色', '59.00', '2', 'TS-W'),
      item('3780000000000000001', '帆布包', '35.50', '1', ''),
      item('3780000000000000002', '保温杯', '88.00', '1', 'CUP'),
    ]);
    const folder = path.join(landing, 'taobao');
    fs.mkdirSync(folder, { recursive: true });
    const ordersBytes = gb18030(orders);
    expect(new TextDecoder('gb18030').decode(ordersBytes)).toBe(orders);
    fs.writeFileSync(path.join(folder, 'ExportOrderList202403.csv'), ordersBytes);
    fs.writeFileSync(path.join(folder, 'ExportOrderDetailList202403.csv'), gb18030(items));
    const summary = await extractSource(mappedSource('taobao', 'preset:taobao'), { warehousePath, landingDir: landing, batchId: 't1' });
    expect(summary.notes).toEqual([
      '2 file(s) loaded through mapping taobao',
      'taobao/ExportOrderDetailList202403.csv read as gb18030 (transcoded to UTF-8)',
      'taobao/ExportOrderList202403.csv read as gb18030 (transcoded to UTF-8)',
    ]);
    expect(
      await query(
        `SELECT order_id, customer_id, status, currency, strftime(ordered_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S'), ship_name, ship_phone, ship_city FROM raw.orders ORDER BY 1`,
      ),
    ).toEqual([
      ['3780000000000000001', '小王', 'completed', 'CNY', '2024-03-01 02:15:32', '王芳', '13800001111', '杭州市'],
      ['3780000000000000002', '小李', 'shipped', 'CNY', '2024-03-01 02:15:32', '韩梅梅', '13800001111', '上海市'],
      ['3780000000000000003', '小王', 'refunded', 'CNY', '2024-03-01 02:15:32', '王芳', '13800001111', '杭州市'],
      ['3780000000000000004', '李雷', 'cancelled', 'CNY', '2024-03-01 02:15:32', '王芳', '13800001111', '杭州市'],
    ]);
    expect(
      await query(
        `SELECT order_id, line_no::INT, sku, product_name, quantity::INT, unit_price::DECIMAL(18, 2)::VARCHAR FROM raw.order_items ORDER BY 1, 2`,
      ),
    ).toEqual([
      ['3780000000000000001', 1, 'TS-W', '纯棉T恤 白色', 2, '59.00'],
      ['3780000000000000001', 2, '帆布包', '帆布包', 1, '35.50'],
      ['3780000000000000002', 1, 'CUP', '保温杯', 1, '88.00'],
    ]);
    expect(await query(`SELECT refund_id, amount::VARCHAR FROM raw.order_refunds`)).toEqual([['3780000000000000003-refund', '59.00']]);
    expect(await query(`SELECT order_id, cancelled_by, reason FROM raw.order_cancellations`)).toEqual([
      ['3780000000000000004', 'customer', '买家取消'],
    ]);
    const rejected = await query(`SELECT location, reason FROM raw._quarantine ORDER BY 1`);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]![0]).toBe('taobao/ExportOrderList202403.csv:6');
    expect(String(rejected[0]![1])).toContain('等待买家付款');
  });
});

/** The UCI Online Retail columns, in the data set's order. */
const ORDER_LINES_COLUMNS = ['InvoiceNo', 'StockCode', 'Description', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'Country'];

describe('preset: order-lines (an Online Retail style export)', () => {
  it('one order per invoice, every line an item typed by stock code, C invoices as credit notes naming no order, guests, London wall time', async () => {
    const rows = [
      ['536365', '85123A', 'WHITE HANGING HEART T-LIGHT HOLDER', '6', '12/1/2010 8:26', '2.55', '17850.0', 'United Kingdom'],
      ['536365', '71053', 'WHITE METAL LANTERN', '6', '12/1/2010 8:26', '3.39', '17850.0', 'United Kingdom'],
      ['536365', 'POST', 'POSTAGE', '1', '12/1/2010 8:26', '18', '17850.0', 'United Kingdom'],
      ['536365', 'M', 'Manual', '1', '12/1/2010 8:26', '0.85', '17850.0', 'United Kingdom'],
      // A guest (no CustomerID) in British Summer Time: 08:28 in London is 07:28 UTC.
      ['536366', '22633', 'HAND WARMER UNION JACK', '6', '6/1/2011 8:28', '1.85', '', 'United Kingdom'],
      ['536367', 'PADS', 'PADS TO MATCH ALL CUSHIONS', '1', '12/1/2010 8:34', '0.001', '13047.0', 'United Kingdom'],
      // Cancellations: invoices of their own with negative quantities, naming no original invoice.
      ['C536379', 'D', 'Discount', '-1', '12/1/2010 9:41', '27.5', '14527.0', 'United Kingdom'],
      ['C536383', '35004C', 'SET OF 3 COLOURED  FLYING DUCKS', '-1', '12/1/2010 9:49', '4.65', '15311.0', 'United Kingdom'],
      ['C536383', '22556', 'PLASTERS IN TIN CIRCUS PARADE, SMALL', '-12', '12/1/2010 9:49', '1.65', '15311.0', 'United Kingdom'],
      // A stock write-off (negative quantity on an ordinary invoice) and a bad-debt adjustment
      // (negative price): quarantined, so these two invoices are orders without a valid line.
      ['536368', '22960', 'JAM MAKING SET WITH JARS', '-2', '12/1/2010 8:34', '4.25', '13047.0', 'United Kingdom'],
      ['A563185', 'B', 'Adjust bad debt', '1', '8/12/2011 14:50', '-11062.06', '', 'United Kingdom'],
    ];
    fs.mkdirSync(path.join(landing, 'retail'), { recursive: true });
    fs.writeFileSync(
      path.join(landing, 'retail', 'Online Retail.csv'),
      [ORDER_LINES_COLUMNS.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\r\n') + '\r\n',
    );
    const summary = await extractSource(mappedSource('retail', 'preset:order-lines'), {
      warehousePath,
      landingDir: landing,
      batchId: 'r1',
    });
    expect(summary.notes[0]).toBe('1 file(s) loaded through mapping order-lines');
    // One order per invoice (not one per line); ids 17850.0 read as 17850; guests have no customer.
    expect(
      await query(
        `SELECT order_id, customer_id, status, currency, strftime(ordered_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM raw.orders ORDER BY 1`,
      ),
    ).toEqual([
      ['536365', '17850', 'completed', 'GBP', '2010-12-01 08:26'],
      ['536366', null, 'completed', 'GBP', '2011-06-01 07:28'],
      ['536367', '13047', 'completed', 'GBP', '2010-12-01 08:34'],
      ['536368', '13047', 'completed', 'GBP', '2010-12-01 08:34'],
      ['A563185', null, 'completed', 'GBP', '2011-08-12 13:50'],
    ]);
    expect(summary.tables.find((t) => t.table === 'orders')).toMatchObject({ read: 5, inserted: 5, superseded: 0 });
    expect(
      await query(`SELECT order_id, line_no::INT, sku, quantity::INT, unit_price::VARCHAR, line_type FROM raw.order_items ORDER BY 1, 2`),
    ).toEqual([
      ['536365', 1, '85123A', 6, '2.5500', 'product'],
      ['536365', 2, '71053', 6, '3.3900', 'product'],
      ['536365', 3, 'POST', 1, '18.0000', 'shipping'],
      ['536365', 4, 'M', 1, '0.8500', 'adjustment'],
      ['536366', 1, '22633', 6, '1.8500', 'product'],
      ['536367', 1, 'PADS', 1, '0.0010', 'product'],
    ]);
    // Credit notes: no order, their own customer, GBP, dated at their invoice date, -(quantity x price).
    expect(
      await query(
        `SELECT refund_id, order_id, customer_id, sku, amount::VARCHAR, currency, reason, status, strftime(refunded_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') FROM raw.order_refunds ORDER BY 1`,
      ),
    ).toEqual([
      ['C536379-1', null, '14527', 'D', '27.50', 'GBP', 'other', 'paid', '2010-12-01 09:41'],
      ['C536383-1', null, '15311', '35004C', '4.65', 'GBP', 'return', 'paid', '2010-12-01 09:49'],
      ['C536383-2', null, '15311', '22556', '19.80', 'GBP', 'return', 'paid', '2010-12-01 09:49'],
    ]);
    const rejected = await query(`SELECT location, raw_table, reason FROM raw._quarantine ORDER BY 1`);
    expect(rejected).toEqual([
      ['retail/Online Retail.csv:11', 'order_items', 'quantity: Too small: expected number to be >=1 (got "-2")'],
      ['retail/Online Retail.csv:12', 'order_items', 'unit_price: must not be negative (got "-11062.06")'],
    ]);
  });
});
