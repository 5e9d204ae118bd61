/**
 * The landing folder layout shared by the generator (writer) and the extractors (readers), and
 * the ground truth the generator records for tests. Each top folder is one file-drop source.
 */
export const LANDING_FILES = {
  customers: 'profiles/customers.ndjson',
  orders: 'orders/orders.csv',
  orderItems: 'orders/order_items.csv',
  payments: 'orders/payments.csv',
  refunds: 'orders/refunds.csv',
  cancellations: 'orders/cancellations.csv',
  tickets: 'service/tickets.ndjson',
  ticketEvents: 'service/ticket_events.ndjson',
  contacts: 'service/contacts.ndjson',
  posts: 'opinion/posts.ndjson',
  truth: '_truth/ground_truth.json',
  /** One line per true person: which accounts, handles and contact points are theirs. */
  identities: '_truth/identities.ndjson',
  /** One line per order placed by someone other than the account holder. */
  accidentalOrders: '_truth/accidental_orders.ndjson',
} as const;

export interface GroundTruth {
  seed: number;
  periodStart: string;
  periodEnd: string;
  counts: {
    customers: number;
    /** Profile lines written: one per customer plus one per contact-detail change. */
    customerVersions: number;
    orders: number;
    orderItems: number;
    payments: number;
    refunds: number;
    cancellations: number;
    tickets: number;
    ticketEvents: number;
    contacts: number;
    posts: number;
  };
  /** Natural keys written malformed on purpose: each must land in quarantine, not in raw. */
  malformed: {
    customers: string[];
    orders: string[];
    /** order_id#line_no */
    orderItems: string[];
    tickets: string[];
    posts: string[];
  };
  /** Identity ground truth; the detail is in LANDING_FILES.identities and .accidentalOrders. */
  identity: {
    persons: number;
    /** Persons holding more than one customer account. */
    personsWithDuplicateAccounts: number;
    accidentalOrders: number;
  };
}

/** A line of LANDING_FILES.identities. Phones are national digits (no country code, no separators). */
export interface PersonTruth {
  person_id: string;
  customer_ids: string[];
  handles: string[];
  names: string[];
  phones: string[];
  emails: string[];
  wechat_ids: string[];
  qq_ids: string[];
}

/** A line of LANDING_FILES.accidentalOrders. */
export interface AccidentalOrderTruth {
  order_id: string;
  account_customer_id: string;
  account_person_id: string;
  actual_person_id: string;
  actual_customer_id: string;
}
