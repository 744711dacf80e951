--
--

\restrict CmJ0xoig2OtL6tGO4um1VeeygEyzAEKqGURnreWysyXFWAS3JY9uJupUOqne7mF


SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: Mixed; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA "Mixed";


ALTER SCHEMA "Mixed" OWNER TO postgres;

--
-- Name: analytics; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA analytics;


ALTER SCHEMA analytics OWNER TO postgres;

--
-- Name: addr; Type: TYPE; Schema: public; Owner: postgres
--

CREATE TYPE public.addr AS (
	street text,
	city text
);


ALTER TYPE public.addr OWNER TO postgres;

--
-- Name: refresh(); Type: PROCEDURE; Schema: analytics; Owner: postgres
--

CREATE PROCEDURE analytics.refresh()
    LANGUAGE plpgsql
    AS $$
BEGIN
  NULL;
END $$;


ALTER PROCEDURE analytics.refresh() OWNER TO postgres;

--
-- Name: add_one(integer); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.add_one(x integer) RETURNS integer
    LANGUAGE sql
    AS $$ SELECT x + 1 $$;


ALTER FUNCTION public.add_one(x integer) OWNER TO postgres;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: Case; Type: TABLE; Schema: Mixed; Owner: postgres
--

CREATE TABLE "Mixed"."Case" (
    "X" integer
);


ALTER TABLE "Mixed"."Case" OWNER TO postgres;

--
-- Name: daily; Type: MATERIALIZED VIEW; Schema: analytics; Owner: postgres
--

CREATE MATERIALIZED VIEW analytics.daily AS
 SELECT 1 AS one,
    now() AS at
  WITH NO DATA;


ALTER TABLE analytics.daily OWNER TO postgres;

--
-- Name: customers; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.customers (
    id integer NOT NULL,
    email text,
    "Phone" text,
    ssn text
);


ALTER TABLE public.customers OWNER TO postgres;

--
-- Name: orders; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.orders (
    id integer,
    customer_id integer,
    total numeric
);


ALTER TABLE public.orders OWNER TO postgres;

--
-- Name: revenue; Type: VIEW; Schema: analytics; Owner: postgres
--

CREATE VIEW analytics.revenue AS
 SELECT c.email,
    sum(o.total) AS total,
    count(*) AS count
   FROM (public.orders o
     JOIN public.customers c ON ((c.id = o.customer_id)))
  GROUP BY c.email;


ALTER TABLE analytics.revenue OWNER TO postgres;

--
-- Name: child; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.child (
    extra integer
)
INHERITS (public.orders);


ALTER TABLE public.child OWNER TO postgres;

--
-- Name: customers_id_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

CREATE SEQUENCE public.customers_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.customers_id_seq OWNER TO postgres;

--
-- Name: customers_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: postgres
--

ALTER SEQUENCE public.customers_id_seq OWNED BY public.customers.id;


--
-- Name: events; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.events (
    id integer,
    at date
)
PARTITION BY RANGE (at);


ALTER TABLE public.events OWNER TO postgres;

--
-- Name: events_2026; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.events_2026 (
    id integer,
    at date
);


ALTER TABLE public.events_2026 OWNER TO postgres;

--
-- Name: ticket_seq; Type: SEQUENCE; Schema: public; Owner: postgres
--

CREATE SEQUENCE public.ticket_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


ALTER TABLE public.ticket_seq OWNER TO postgres;

--
-- Name: typed; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.typed OF public.addr;


ALTER TABLE public.typed OWNER TO postgres;

--
-- Name: events_2026; Type: TABLE ATTACH; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.events ATTACH PARTITION public.events_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');


--
-- Name: customers id; Type: DEFAULT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.customers ALTER COLUMN id SET DEFAULT nextval('public.customers_id_seq'::regclass);


--
-- Name: customers customers_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);


--
-- Name: orders orders_customer_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);


--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: pg_database_owner
--

REVOKE USAGE ON SCHEMA public FROM PUBLIC;
GRANT ALL ON SCHEMA public TO PUBLIC;


--
--

\unrestrict CmJ0xoig2OtL6tGO4um1VeeygEyzAEKqGURnreWysyXFWAS3JY9uJupUOqne7mF


