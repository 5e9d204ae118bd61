/**
 * The landing folder layout shared by the generator (writer) and the extractors (readers), and
 * the ground truth the generator records for tests.
 */
export const LANDING_FILES = {
  customers: 'profiles/customers.ndjson',
  orders: 'orders/orders.csv',
  orderItems: 'orders/order_items.csv',
  tickets: 'service/tickets.ndjson',
  posts: 'opinion/posts.ndjson',
  truth: '_truth/ground_truth.json',
} as const;

export interface GroundTruth {
  seed: number;
  periodStart: string;
  periodEnd: string;
  counts: { customers: number; orders: number; orderItems: number; tickets: number; posts: number };
  /** Natural keys written malformed on purpose: each must land in quarantine, not in raw. */
  malformed: {
    customers: string[];
    orders: string[];
    /** order_id#line_no */
    orderItems: string[];
    tickets: string[];
    posts: string[];
  };
}
