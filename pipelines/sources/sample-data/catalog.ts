/** A small apparel catalogue: the sample shop sells these, and opinion posts talk about them. */
export interface Product {
  sku: string;
  name: string;
  category: string;
  brand: string;
  priceCents: number;
}

export const BRANDS = ['Aurora', 'Lotus Lane', 'Yunshang', 'Northpeak'] as const;
const CATEGORIES: readonly (readonly [string, string, number])[] = [
  // [category, product noun, base price in cents]
  ['outerwear', 'Down Jacket', 89900],
  ['outerwear', 'Trench Coat', 69900],
  ['knitwear', 'Cashmere Sweater', 49900],
  ['knitwear', 'Cardigan', 29900],
  ['dresses', 'Silk Dress', 59900],
  ['dresses', 'Qipao', 79900],
  ['shoes', 'Leather Boots', 45900],
  ['shoes', 'Sneakers', 39900],
  ['accessories', 'Scarf', 12900],
  ['accessories', 'Handbag', 99900],
  ['kids', 'Kids Hoodie', 15900],
  ['basics', 'Cotton T-Shirt', 7900],
];

export const PRODUCTS: readonly Product[] = BRANDS.flatMap((brand, b) =>
  CATEGORIES.map(([category, noun, price], c) => ({
    sku: `SKU-${String(b + 1).padStart(2, '0')}${String(c + 1).padStart(3, '0')}`,
    name: `${brand} ${noun}`,
    category,
    brand,
    // Brands sit at different price points; keep cents exact.
    priceCents: Math.round((price * (0.8 + 0.15 * b)) / 100) * 100 - 1,
  })),
);

export const TICKET_CHANNELS = ['phone', 'email', 'web_chat', 'wechat', 'qq'] as const;
export const TICKET_CATEGORIES = ['pre_sale_inquiry', 'in_sale', 'after_sale', 'return', 'complaint', 'dispute', 'praise'] as const;
export const OPINION_PLATFORMS = ['weibo', 'xiaohongshu', 'douyin', 'twitter', 'trustpilot'] as const;

export const POSITIVE_TEXT = {
  zh: ['质量很好，非常满意', '物流很快，客服态度好', '面料舒服，会回购', '款式好看，推荐'],
  en: ['Great quality, very happy', 'Fast delivery and friendly support', 'Fits perfectly, will buy again', 'Love the style'],
} as const;
export const NEGATIVE_TEXT = {
  zh: ['质量太差了，很失望', '客服不回复，体验糟糕', '退货太麻烦了', '发货慢，包装破损'],
  en: [
    'Terrible quality, disappointed',
    'Support never replied, awful experience',
    'Returns are a nightmare',
    'Late delivery and damaged parcel',
  ],
} as const;
