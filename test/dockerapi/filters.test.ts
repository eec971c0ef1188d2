// Docker's `filters` parameter: both encodings, and the host filters split from what hosts apply.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BadRequest } from '../../src/errors.ts';
import { InvalidFilter, encodeFilters, parseFilters, splitHostFilters } from '../../src/dockerapi/filters.ts';

const hosts = ['node2', 'node1', 'node3'];

describe('parseFilters', () => {
  test('reads the map of arrays and the map of booleans the Go client sends', () => {
    assert.deepEqual(parseFilters('{"label":["a=b","c"],"status":["running"]}'), { label: ['a=b', 'c'], status: ['running'] });
    assert.deepEqual(parseFilters('{"label":{"a=b":true,"c":true},"status":{"running":true}}'), { label: ['a=b', 'c'], status: ['running'] });
  });

  test('absent, empty and null mean no filters; repeated values count once', () => {
    for (const raw of [undefined, '', '  ', 'null', '{}']) assert.deepEqual(parseFilters(raw), {}, String(raw));
    assert.deepEqual(parseFilters('{"name":["a","a"],"id":null}'), { name: ['a'], id: [] });
  });

  test('bad JSON and wrong shapes are a 400 with a Docker-style message', () => {
    const cases: Array<[string, RegExp]> = [
      ['{"label":', /^invalid filter: not JSON: /],
      ['["label"]', /^invalid filter: expected a JSON object of filter names$/],
      ['"label"', /^invalid filter: expected a JSON object/],
      ['{"label":"a=b"}', /^invalid filter: "label" must be a list of values$/],
      ['{"label":[1]}', /^invalid filter: values of "label" must be strings$/],
      ['{"label":{"a":"yes"}}', /^invalid filter: values of "label" must map to true$/],
    ];
    for (const [raw, message] of cases) {
      assert.throws(() => parseFilters(raw), (error: unknown) => {
        assert.ok(error instanceof InvalidFilter && error instanceof BadRequest, raw);
        assert.equal(error.statusCode, 400);
        assert.match(error.message, message, raw);
        return true;
      });
    }
  });

  test('a __proto__ key stays an ordinary filter name', () => {
    const parsed = parseFilters('{"__proto__":["x"]}');
    assert.deepEqual(Object.keys(parsed), ['__proto__']);
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  });
});

describe('encodeFilters', () => {
  test('re-encodes as a map of arrays; nothing to send is undefined', () => {
    assert.equal(encodeFilters({ label: ['a=b'], status: ['running'] }), '{"label":["a=b"],"status":["running"]}');
    assert.equal(encodeFilters({}), undefined);
    assert.deepEqual(parseFilters(encodeFilters(parseFilters('{"label":{"x":true}}'))), { label: ['x'] });
  });
});

describe('splitHostFilters', () => {
  test('no host filter: every host, in name order, with every filter forwarded', () => {
    const split = splitHostFilters({ status: ['running'], label: ['app=web'] }, hosts);
    assert.deepEqual(split.hosts, ['node1', 'node2', 'node3']);
    assert.deepEqual(split.forward, { status: ['running'], label: ['app=web'] });
    assert.deepEqual(split.perHost.node2, split.forward);
  });

  test('label flotilla.host=<h> picks the host and is not forwarded; other labels are', () => {
    const split = splitHostFilters({ label: ['flotilla.host=node2', 'app=web'], status: ['exited'] }, hosts);
    assert.deepEqual(split.hosts, ['node2']);
    assert.deepEqual(split.forward, { label: ['app=web'], status: ['exited'] });
    assert.deepEqual(split.perHost, { node2: { label: ['app=web'], status: ['exited'] } });
  });

  test('label flotilla.host alone ("has the label") keeps every host and drops the label key', () => {
    const split = splitHostFilters({ label: ['flotilla.host'] }, hosts);
    assert.deepEqual(split.hosts, ['node1', 'node2', 'node3']);
    assert.deepEqual(split.forward, {});
  });

  test('label values combine with AND, as on the engine: two different hosts select none', () => {
    assert.deepEqual(splitHostFilters({ label: ['flotilla.host=node1', 'flotilla.host=node2'] }, hosts).hosts, []);
  });

  test('host=<h> values combine with OR and are never forwarded', () => {
    const split = splitHostFilters({ host: ['node3', 'node1'], dangling: ['true'] }, hosts);
    assert.deepEqual(split.hosts, ['node1', 'node3']);
    assert.deepEqual(split.forward, { dangling: ['true'] });
  });

  test('host filters of different kinds combine with AND', () => {
    assert.deepEqual(splitHostFilters({ host: ['node1', 'node2'], label: ['flotilla.host=node2'] }, hosts).hosts, ['node2']);
    assert.deepEqual(splitHostFilters({ host: ['node2'], name: ['node1/web1'] }, hosts).hosts, []);
  });

  test('an unknown host yields no hosts and no error', () => {
    assert.deepEqual(splitHostFilters({ host: ['node9'] }, hosts).hosts, []);
    assert.deepEqual(splitHostFilters({ label: ['flotilla.host=node9'] }, hosts).hosts, []);
    assert.deepEqual(splitHostFilters({ name: ['node9/web1'] }, hosts).hosts, []);
    assert.deepEqual(splitHostFilters({ status: ['running'] }, []).hosts, []);
  });

  test('name=node1/web1 asks node1 only, for name=web1; the leading slash form keeps its slash', () => {
    const split = splitHostFilters({ name: ['node1/web1'], status: ['running'] }, hosts);
    assert.deepEqual(split.hosts, ['node1']);
    assert.deepEqual(split.forward, { status: ['running'], name: ['web1'] });
    assert.deepEqual(split.perHost, { node1: { status: ['running'], name: ['web1'] } });
    assert.deepEqual(splitHostFilters({ name: ['/node1/web1'] }, hosts).forward, { name: ['/web1'] });
  });

  test('a plain name pattern goes to every host unchanged', () => {
    const split = splitHostFilters({ name: ['web'] }, hosts);
    assert.deepEqual(split.hosts, ['node1', 'node2', 'node3']);
    assert.deepEqual(split.perHost.node3, { name: ['web'] });
  });

  test('names for different hosts: each host gets its own names plus the fleet-wide patterns', () => {
    const split = splitHostFilters({ name: ['node1/web1', 'node2/db', 'cache'] }, hosts);
    assert.deepEqual(split.hosts, ['node1', 'node2', 'node3']);
    assert.deepEqual(split.perHost, { node1: { name: ['cache', 'web1'] }, node2: { name: ['cache', 'db'] }, node3: { name: ['cache'] } });
    const onlyPrefixed = splitHostFilters({ name: ['node1/web1', 'node2/db'] }, hosts);
    assert.deepEqual(onlyPrefixed.hosts, ['node1', 'node2']);
    assert.deepEqual(onlyPrefixed.perHost, { node1: { name: ['web1'] }, node2: { name: ['db'] } });
  });

  test('per-host filters are separate copies', () => {
    const split = splitHostFilters({ status: ['running'] }, hosts);
    split.perHost.node1.status.push('exited');
    assert.deepEqual(split.perHost.node2.status, ['running']);
    assert.deepEqual(split.forward.status, ['running']);
  });
});
