-- alltypes.sql - a table with every type the postgresql source maps, with
-- NULLs, extreme values, NaN and infinities, time zones and non-ASCII text.
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN posint2 AS posint;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE alltypes (
  id bigint PRIMARY KEY, i2 smallint, i4 integer NOT NULL DEFAULT 0, i8 bigint, f4 real,
  f8 double precision, num numeric, num2 numeric(38,10), t text, vc varchar(20), ch char(5),
  b boolean, d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
  u uuid, j json, jb jsonb, by bytea, arr integer[], tarr text[], m mood, dom posint2);
INSERT INTO alltypes VALUES
 (1, -32768, -2147483648, -9223372036854775808, 'NaN', 'Infinity', 'NaN',
  '-1234567890123456789012345678.0123456789', E'tab\there\nnewline \\ back\r', 'héllo ☃ 𝄞', 'ab',
  true, '2024-02-29', '23:59:59.999999', '12:00+05:30', '1999-12-31 23:59:59.5',
  '2024-06-01 12:00:00+02', '1 year 2 mons 3 days 04:05:06',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}', '{"b": null}', E'\\x00ff10',
  '{1,NULL,3}', '{"a b","c\"d"}', 'happy', 7),
 (2, 32767, 2147483647, 9223372036854775807, '-Infinity', '1e-308', 'Infinity',
  '0.0000000001', '', '', '', false, '0001-01-01', '00:00', '00:00-12', '1900-01-01',
  '1970-01-01 00:00:00+00', '-1 day', '00000000-0000-0000-0000-000000000000', 'null', '[]',
  E'\\x', '{}', '{}', 'sad', 1),
 (3, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 0, 0, 0, 3.4028235e38, 0.1, '-Infinity',
  '99999999999999999999999999.9999999999', 'NULL', '\N', 'x', true, '9999-12-31', '24:00',
  '23:59:59+14', '4000-01-01 00:00:00', '2038-01-19 03:14:08.000001+00', '178000000 years',
  'ffffffff-ffff-ffff-ffff-ffffffffffff', '"s"', '1.50', E'\\xdeadbeef', '{{1,2},{3,4}}',
  '{NULL}', 'ok', 2147483647),
 (5, 1, 1, 1, 1.17549435e-38, 5e-324, '123456789012345678901234567890123456789012345678901234567890.5',
  '-0.0000000001', 'ünïcödé 中文 🎉', 'x', '  y', false, '1970-01-01', '12:34:56.789', '01:02:03.5-08',
  '294000-12-31 23:59:59.999999', '0001-01-01 00:00:00+00', '00:00:00.000001', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12',
  '{"k":"\u00e9","n":1e400}', '{"deep":{"deeper":[true,false,null]}}', E'\\x5c09', '{-1}', '{"\\\\","\t"}', 'sad', 3);
