-- The quickstart shop: customers with personal data, orders and their items.
CREATE TABLE customers (
  id    serial PRIMARY KEY,
  name  text NOT NULL,
  email text NOT NULL,
  phone text,
  ssn   text
);

CREATE TABLE orders (
  id          serial PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers(id),
  status      text NOT NULL DEFAULT 'new',
  total_cents integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_items (
  order_id   integer NOT NULL REFERENCES orders(id),
  sku        text NOT NULL,
  quantity   integer NOT NULL,
  price_cents integer NOT NULL
);

INSERT INTO customers (name, email, phone, ssn) VALUES
  ('Ada Lovelace',   'ada@example.com',    '+44 20 7946 0018', '078-05-1120'),
  ('Grace Hopper',   'grace@example.com',  '+1 202 555 0143',  '219-09-9999'),
  ('Alan Turing',    'alan@example.org',   '+44 161 496 0753', '457-55-5462'),
  ('Katherine Johnson', 'kj@example.net',  '+1 757 555 0199',  '123-45-6789');

INSERT INTO orders (customer_id, status, total_cents) VALUES
  (1, 'shipped', 4200), (1, 'new', 1999), (2, 'paid', 15000), (3, 'new', 750), (4, 'cancelled', 3300);

INSERT INTO order_items (order_id, sku, quantity, price_cents) VALUES
  (1, 'BOOK-001', 2, 2100), (2, 'PEN-010', 1, 1999), (3, 'LAPTOP-9', 1, 15000),
  (4, 'MUG-042', 3, 250), (5, 'LAMP-7', 1, 3300);
