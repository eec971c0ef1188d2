// Loading Compose files (src/stacks/compose): YAML, interpolation, the Compose
// Specification schema, env_file and secret/config files, Swarm's ignored keys.
// Pure code: no lab, no engine.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadCompose, substitute } from '../../src/stacks/compose/index.ts';
import { ComposeError, type StackInput } from '../../src/stacks/types.ts';

/** The ComposeError loading `input` throws (fails the test if it loads). */
function loadError(input: StackInput | string): ComposeError {
  const given = typeof input === 'string' ? { compose: input } : input;
  try {
    loadCompose(given);
  } catch (err) {
    assert.ok(err instanceof ComposeError, `expected a ComposeError, got ${String(err)}`);
    return err;
  }
  assert.fail('the Compose file loaded');
}

type Service = Record<string, unknown>;
const service = (input: StackInput, name = 'web'): Service =>
  (loadCompose(input).project.services as Record<string, Service>)[name];

describe('YAML', () => {
  test('invalid YAML is a 400 with its line and column', () => {
    const err = loadError('services:\n  web:\n    image: nginx\n    ports: [80\n    command: x\n');
    assert.equal(err.statusCode, 400);
    assert.equal(err.message, 'line 5, column 5: Flow sequence in block collection must be sufficiently indented and end with a ]');
    assert.deepEqual([err.line, err.column], [5, 5]);
    assert.equal(loadError('services:\n  web:\n\timage: nginx\n').message, 'line 3, column 1: Tabs are not allowed as indentation');
    assert.equal(loadError('services:\n  web:\n    image: a\n    image: b\n').message, 'line 4, column 5: Map keys must be unique');
  });

  test('the top level must be a mapping', () => {
    assert.match(loadError('- web\n- db\n').message, /top level must be a mapping/);
    assert.match(loadError('').message, /top level must be a mapping/);
  });

  test('0440 is octal as in docker/cli (Go yaml), so secret modes mean what they say', () => {
    const web = service({ compose: 'services:\n  web:\n    image: nginx\n    secrets: [{source: s, mode: 0440}]\nsecrets:\n  s: {file: s.txt}\n', files: { 's.txt': 'x' } });
    assert.deepEqual(web.secrets, [{ source: 's', mode: 0o440 }]);
  });
});

describe('schema', () => {
  test('a wrong type names the path', () => {
    const err = loadError('services:\n  web:\n    image: nginx\n    deploy:\n      replicas: "3"\n');
    assert.equal(err.message, 'services.web.deploy.replicas: must be integer');
    assert.equal(err.field, 'services.web.deploy.replicas');
    assert.equal(err.path, 'services.web.deploy.replicas');
    assert.deepEqual([err.line, err.column], [5, 17]);
  });

  test('an unknown field names the mapping it is in', () => {
    const err = loadError('services:\n  web:\n    imagee: nginx\n');
    assert.equal(err.message, 'services.web: unknown field "imagee"');
    assert.equal(err.line, 3);
    assert.equal(loadError('servces:\n  web: {image: nginx}\n').message, 'unknown top-level field "servces"');
  });

  test('inside a oneOf the branch that matched the shape speaks, not "wrong type"', () => {
    const volume = loadError('services:\n  web:\n    image: nginx\n    volumes: [{type: bind, sourc: /x, target: /y}]\n');
    assert.equal(volume.message, 'services.web.volumes.0: unknown field "sourc"');
    const port = loadError('services:\n  web:\n    image: nginx\n    ports: [{target: http}]\n');
    assert.equal(port.message, 'services.web.ports.0.target: must be integer');
    const condition = loadError('services:\n  web:\n    image: nginx\n    depends_on: {db: {condition: up}}\n  db: {image: pg}\n');
    assert.match(condition.message, /^services\.web\.depends_on\.db\.condition: must be one of "service_started"/);
  });

  test('formats: durations and ports as docker/cli checks them', () => {
    const delay = loadError('services:\n  web:\n    image: nginx\n    deploy: {update_config: {delay: 10x}}\n');
    assert.match(delay.message, /^services\.web\.deploy\.update_config\.delay: "10x" is not a duration/);
    const port = loadError('services:\n  web:\n    image: nginx\n    ports: ["8080:http"]\n');
    assert.match(port.message, /^services\.web\.ports\.0: "8080:http" is not a port specification/);
    const range = loadError('services:\n  web:\n    image: nginx\n    ports: ["8000-8002:80-81"]\n');
    assert.match(range.message, /^services\.web\.ports\.0: /);
    const subnet = loadError('services:\n  web: {image: nginx}\nnetworks:\n  n: {ipam: {config: [{subnet: 10.0.0.0}]}}\n');
    assert.match(subnet.message, /^networks\.n\.ipam\.config\.0\.subnet: "10\.0\.0\.0" is not a subnet/);
  });

  test('YAML numbers stay numbers and quoted ones stay strings: nothing is coerced', () => {
    const err = loadError('services:\n  web:\n    image: nginx\n    ports: [{target: "80"}]\n');
    assert.equal(err.message, 'services.web.ports.0.target: must be integer');
    assert.equal(loadError('version: 3.8\nservices: {}\n').message, 'version: must be string');
  });
});

describe('interpolation', () => {
  const env = { SET: 'value', EMPTY: '' };
  const sub = (template: string): string => substitute(template, (n) => (Object.hasOwn(env, n) ? env[n as keyof typeof env] : undefined), () => {});

  test('every form of the Compose Specification', () => {
    assert.equal(sub('${SET} $SET/${SET}x $SET.x'), 'value value/valuex value.x');
    assert.equal(sub('${UNSET:-d} ${EMPTY:-d} ${SET:-d}'), 'd d value');
    assert.equal(sub('${UNSET-d} ${EMPTY-d} ${SET-d}'), 'd  value');
    assert.equal(sub('${UNSET:+r} ${EMPTY:+r} ${SET:+r}'), '  r');
    assert.equal(sub('${UNSET+r} ${EMPTY+r} ${SET+r}'), ' r r');
    assert.equal(sub('${EMPTY?e}|${SET:?e}'), '|value');
    assert.equal(sub('cost $$5 and $${SET} and $$$SET'), 'cost $5 and ${SET} and $value');
    assert.equal(sub('${UNSET:-${SET}} ${UNSET:-${ALSO:-deep}} ${UNSET:-a${SET}b}'), 'value deep avalueb');
    assert.equal(sub('${UNSET:-${SET:+x}}'), 'x');
  });

  test('a default is only evaluated when used', () => {
    assert.equal(sub('${SET:-${UNSET:?never}}'), 'value');
  });

  test('required variables: missing (and, with ":?", empty) are refused naming the variable and where it is used', () => {
    const compose = 'services:\n  web:\n    image: "nginx:${TAG:?set TAG to the release}"\n';
    const err = loadError({ compose, env: {} });
    assert.equal(err.message, 'services.web.image: required variable TAG is missing a value: set TAG to the release');
    assert.equal(err.field, 'services.web.image');
    assert.equal(err.line, 3);
    assert.match(loadError({ compose, env: { TAG: '' } }).message, /required variable TAG is missing a value/);
    assert.equal(service({ compose, env: { TAG: '1.27' } }).image, 'nginx:1.27');
    const plain = loadError({ compose: 'services:\n  web:\n    image: "nginx:${TAG?}"\n' });
    assert.equal(plain.message, 'services.web.image: required variable TAG is missing a value');
    assert.equal(service({ compose: 'services:\n  web:\n    image: "nginx${TAG?}"\n', env: { TAG: '' } }).image, 'nginx');
  });

  test('a lone $ or an unclosed ${ is refused with the hint to write $$', () => {
    assert.match(loadError('services:\n  web:\n    image: nginx\n    command: echo $ 5\n').message,
      /^services\.web\.command: invalid interpolation format: you may need to escape any \$ with another \$/);
    assert.match(loadError('services:\n  web:\n    image: "nginx:${TAG"\n').message, /^services\.web\.image: invalid interpolation format/);
    assert.match(loadError('services:\n  web:\n    image: "nginx:${TAG:x}"\n').message, /^services\.web\.image: invalid interpolation format/);
  });

  test('values come from input.env only, never from the server process; unset ones are blank with one warning', () => {
    process.env.FLOTILLA_TEST_LEAK = 'leaked';
    try {
      const loaded = loadCompose({ compose: 'services:\n  web:\n    image: "nginx$FLOTILLA_TEST_LEAK"\n    command: ["${FLOTILLA_TEST_LEAK}", "$FLOTILLA_TEST_LEAK"]\n' });
      const web = (loaded.project.services as Record<string, Service>).web;
      assert.equal(web.image, 'nginx');
      assert.deepEqual(web.command, ['', '']);
      assert.deepEqual(loaded.warnings, ['services.web.image: the "FLOTILLA_TEST_LEAK" variable is not set. Defaulting to a blank string.']);
    } finally {
      delete process.env.FLOTILLA_TEST_LEAK;
    }
  });

  test('values are interpolated, keys are not; x- fields too', () => {
    const loaded = loadCompose({
      compose: 'x-note: "$NOTE"\nservices:\n  web:\n    image: nginx\n    labels:\n      "${KEY}": "${VALUE}"\n',
      env: { NOTE: 'n', KEY: 'k', VALUE: 'v' },
    });
    assert.equal((loaded.project as Record<string, unknown>)['x-note'], 'n');
    assert.deepEqual((loaded.project.services as Record<string, Service>).web.labels, { '${KEY}': 'v' });
  });

  test('an interpolated number or boolean is cast where the schema wants one, as docker/cli does', () => {
    const compose = 'services:\n  web:\n    image: nginx\n    read_only: ${RO}\n    deploy:\n      replicas: ${REPLICAS:-2}\n    ports: [{target: 80, published: $PORT}]\n';
    const web = service({ compose, env: { PORT: '8080', RO: 'yes' } });
    assert.equal((web.deploy as Service).replicas, 2);
    assert.deepEqual(web.ports, [{ target: 80, published: 8080 }]);
    assert.equal(web.read_only, true);
    assert.equal(loadError({ compose, env: { REPLICAS: 'three', PORT: '1', RO: 'no' } }).message,
      'services.web.deploy.replicas: "three" is not an integer');
  });
});

describe('env_file and environment', () => {
  test('env_file lines merge under environment, environment wins, list and map both become a map', () => {
    const envFile = [
      '# the web tier', '', '  LEVEL=info', 'export EXPORTED=1', 'QUOTED="a b\\n"', "SINGLE='$NOT_INTERPOLATED'",
      'RAW=keep "these" quotes  ', 'FROM_ENV', 'NOT_IN_ENV', 'OVERRIDDEN=file', 'LATER=first',
    ].join('\n');
    const web = service({
      compose: 'services:\n  web:\n    image: nginx\n    env_file: [./web.env, extra.env]\n    environment:\n      - OVERRIDDEN=yaml\n      - BARE\n      - EQ=a=b\n',
      env: { FROM_ENV: 'from-env', BARE: 'bare' },
      files: { 'web.env': envFile, 'extra.env': 'LATER=second\n' },
    });
    assert.deepEqual(web.environment, {
      LEVEL: 'info', EXPORTED: '1', QUOTED: 'a b\n', SINGLE: '$NOT_INTERPOLATED', RAW: 'keep "these" quotes  ',
      FROM_ENV: 'from-env', OVERRIDDEN: 'yaml', LATER: 'second', BARE: 'bare', EQ: 'a=b',
    });
    assert.equal(web.env_file, undefined, 'env_file is consumed so the converter reads one map');
  });

  test('a map environment keeps numbers and booleans as strings and null as unset', () => {
    const web = service({ compose: 'services:\n  web:\n    image: nginx\n    environment: {N: 1.5, B: true, Z: null, E: ""}\n' });
    assert.deepEqual(web.environment, { N: '1.5', B: 'true', Z: null, E: '' });
  });

  test('an env_file that was not given, or is malformed, is refused naming it', () => {
    const compose = 'services:\n  web:\n    image: nginx\n    env_file: ./web.env\n';
    const err = loadError({ compose, files: {} });
    assert.equal(err.message, 'services.web.env_file: file "./web.env" was not given');
    assert.equal(err.line, 4);
    assert.match(loadError({ compose, files: { './web.env': 'BAD KEY=1' } }).message,
      /^services\.web\.env_file: file "\.\/web\.env" line 1: variable "BAD KEY" contains whitespace/);
    const second = loadError({ compose: 'services:\n  web:\n    image: nginx\n    env_file: [a.env, b.env]\n', files: { 'a.env': '' } });
    assert.equal(second.message, 'services.web.env_file.1: file "b.env" was not given');
  });
});

describe('secrets and configs', () => {
  const compose = [
    'services:', '  web:', '    image: nginx', '    secrets: [db_password, {source: api_key, target: /run/key}]', '    configs: [{source: site, target: /etc/nginx/conf.d/site.conf}]',
    'secrets:', '  db_password: {file: ./secrets/db.txt}', '  api_key: {external: true}',
    'configs:', '  site: {file: site.conf}', '',
  ].join('\n');

  test('file contents come from input.files under the path written; external ones need none', () => {
    const loaded = loadCompose({ compose, files: { 'secrets/db.txt': 's3cret', 'site.conf': 'server {}' } });
    assert.equal(loaded.files['./secrets/db.txt'], 's3cret');
    assert.equal(loaded.files['site.conf'], 'server {}');
    assert.deepEqual((loaded.project.secrets as Record<string, unknown>).api_key, { external: true });
  });

  test('a missing file is refused naming the object and path', () => {
    const err = loadError({ compose, files: { 'site.conf': 'x' } });
    assert.equal(err.message, 'secrets.db_password.file: file "./secrets/db.txt" was not given');
    assert.equal(err.line, 7);
    assert.equal(loadError({ compose, files: { 'secrets/db.txt': 'x' } }).message, 'configs.site.file: file "site.conf" was not given');
  });

  test('a secret with neither file nor external, or external with a file, is refused', () => {
    const none = loadError('services:\n  web: {image: nginx}\nsecrets:\n  s: {name: x}\n');
    assert.match(none.message, /^secrets\.s: needs "file"/);
    const both = loadError({ compose: 'services:\n  web: {image: nginx}\nsecrets:\n  s: {external: true, file: s.txt}\n', files: { 's.txt': '' } });
    assert.match(both.message, /^secrets\.s: conflicting parameters "external" and "file"/);
  });

  test('external.name is moved to name with a deprecation warning', () => {
    const loaded = loadCompose({ compose: 'services:\n  web: {image: nginx}\nnetworks:\n  front: {external: {name: shared}}\n' });
    assert.deepEqual((loaded.project.networks as Record<string, unknown>).front, { external: true, name: 'shared' });
    assert.ok(loaded.warnings.includes('networks.front: "external.name" is deprecated in favor of "name"'));
  });

  test('references to undeclared networks, secrets, configs and volumes are refused', () => {
    assert.equal(loadError('services:\n  web:\n    image: nginx\n    networks: [back]\n').message,
      'services.web.networks.0: network "back" is not declared under the top-level "networks"');
    assert.equal(loadError('services:\n  web:\n    image: nginx\n    secrets: [s]\n').message,
      'services.web.secrets.0: secret "s" is not declared under the top-level "secrets"');
    assert.equal(loadError('services:\n  web:\n    image: nginx\n    configs: [{source: c}]\n').message,
      'services.web.configs.0: config "c" is not declared under the top-level "configs"');
    assert.equal(loadError('services:\n  web:\n    image: nginx\n    volumes: ["data:/var/lib/data"]\n').message,
      'services.web.volumes.0: volume "data" is not declared under the top-level "volumes"');
  });
});

describe('Swarm: warned and refused', () => {
  test('what Swarm ignores is a warning naming the key', () => {
    const loaded = loadCompose({
      compose: [
        'services:', '  web:', '    build: .', '    image: registry.example.com:5000/team/web:1.0', '    container_name: web', '    restart: always',
        '    depends_on: {db: {condition: service_healthy}}', '    links: [db]', '    network_mode: host', '    privileged: true', '    tmpfs: /run',
        '  db:', '    image: postgres:16', '    expose: ["5432"]', '    security_opt: [no-new-privileges]', '    devices: [/dev/fuse]', '',
      ].join('\n'),
    });
    const keys = loaded.warnings.map((w) => /^(services\.\w+\.\w+): ignored by Swarm/.exec(w)?.[1]);
    assert.deepEqual(keys.sort(), [
      'services.db.devices', 'services.db.expose', 'services.db.security_opt', 'services.web.build', 'services.web.container_name',
      'services.web.depends_on', 'services.web.links', 'services.web.network_mode', 'services.web.privileged', 'services.web.tmpfs', undefined,
    ]);
    assert.ok(loaded.warnings.includes('services.web.restart: applied as the Swarm restart policy; prefer deploy.restart_policy'));
  });

  test('what the CLI refuses is refused: resource keys outside deploy, extends, volumes_from, scale', () => {
    assert.match(loadError('services:\n  web:\n    image: nginx\n    mem_limit: 512m\n').message, /^services\.web\.mem_limit: not supported by Swarm: .*deploy\.resources/);
    assert.match(loadError('services:\n  web:\n    image: nginx\n    cpus: 0.5\n').message, /^services\.web\.cpus: not supported by Swarm/);
    assert.match(loadError('services:\n  web:\n    image: nginx\n    scale: 3\n').message, /^services\.web\.scale: .*deploy\.replicas/);
    assert.match(loadError('services:\n  web:\n    image: nginx\n    volumes_from: [db]\n  db: {image: pg}\n').message, /^services\.web\.volumes_from: /);
  });

  test('a service without an image, or with an invalid one, is refused', () => {
    assert.match(loadError('services:\n  web:\n    build: .\n').message, /^services\.web\.image: no image specified/);
    assert.equal(loadError({ compose: 'services:\n  web:\n    image: "nginx:${TAG}"\n' }).message, 'services.web.image: invalid image reference "nginx:"');
    assert.match(loadError('services:\n  web:\n    image: Nginx\n').message, /invalid image reference "Nginx"/);
  });

  test('version 3.x is accepted with the obsolete-key warning; 2.x is refused as stack deploy refuses it', () => {
    const loaded = loadCompose({ compose: 'version: "3.8"\nservices:\n  web: {image: nginx}\n' });
    assert.deepEqual(loaded.warnings, ['version: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion']);
    assert.match(loadError('version: "2.4"\nservices:\n  web: {image: nginx}\n').message, /^version: Compose file version 2\.4 cannot be deployed to Swarm/);
  });
});

describe('real files', () => {
  test('a version "3.8" file with x- fields, anchors and merge keys loads as written', () => {
    const compose = `
version: "3.8"
x-defaults: &defaults
  image: "registry.local/app:\${TAG:-latest}"
  environment: &env
    LOG_LEVEL: info
  deploy: {restart_policy: {condition: on-failure}}
x-labels: &labels {com.example.team: payments}
services:
  api:
    <<: *defaults
    labels: *labels
    environment:
      <<: *env
      ROLE: api
  worker:
    <<: *defaults
    image: registry.local/worker:2
`;
    const loaded = loadCompose({ compose, env: { TAG: '1.4' } });
    const services = loaded.project.services as Record<string, Service>;
    assert.equal(services.api.image, 'registry.local/app:1.4');
    assert.deepEqual(services.api.environment, { LOG_LEVEL: 'info', ROLE: 'api' });
    assert.deepEqual(services.api.labels, { 'com.example.team': 'payments' });
    assert.deepEqual(services.api.deploy, { restart_policy: { condition: 'on-failure' } });
    assert.equal(services.worker.image, 'registry.local/worker:2');
    assert.deepEqual(services.worker.environment, { LOG_LEVEL: 'info' });
    assert.equal((loaded.project as Record<string, unknown>)['x-labels'] !== undefined, true);
    assert.equal(services.api['<<'], undefined);
  });

  test('a big multi-service stack loads without errors or warnings beyond version', () => {
    const loaded = loadCompose({ compose: BIG_STACK, env: { DOMAIN: 'shop.example.com', DB_IMAGE: 'postgres:16.3' }, files: { 'nginx.conf': 'events {}', 'db_password.txt': 'pw', 'app.env': 'WORKERS=4\n' } });
    assert.deepEqual(loaded.warnings, ['version: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion']);
    const services = loaded.project.services as Record<string, Service>;
    assert.deepEqual(Object.keys(services), ['proxy', 'app', 'db', 'agent']);
    assert.deepEqual(services.app.environment, { WORKERS: '4', DATABASE_URL: 'postgres://db/shop', PUBLIC_URL: 'https://shop.example.com' });
    assert.equal(services.db.image, 'postgres:16.3');
    assert.deepEqual(services.proxy.ports, ['80:80', { target: 443, published: 443, protocol: 'tcp', mode: 'host' }]);
    assert.equal(loaded.files['nginx.conf'], 'events {}');
  });
});

const BIG_STACK = `
version: "3.9"
services:
  proxy:
    image: nginx:1.27-alpine
    ports:
      - "80:80"
      - {target: 443, published: 443, protocol: tcp, mode: host}
    configs: [{source: nginx_conf, target: /etc/nginx/nginx.conf, mode: 0444}]
    networks: [front]
    deploy:
      mode: global
      placement: {constraints: [node.role == worker, node.labels.edge == true]}
      update_config: {parallelism: 1, delay: 10s, order: start-first, failure_action: rollback, monitor: 30s, max_failure_ratio: 0.1}
    healthcheck: {test: ["CMD", "wget", "-qO-", "http://localhost/healthz"], interval: 15s, timeout: 3s, retries: 3, start_period: 20s}
    logging: {driver: json-file, options: {max-size: 10m, max-file: "3"}}
  app:
    image: registry.example.com/shop/app:2.3.1
    command: ["gunicorn", "--bind", "0.0.0.0:8000", "shop.wsgi"]
    entrypoint: /docker-entrypoint.sh
    env_file: app.env
    environment: {DATABASE_URL: postgres://db/shop, PUBLIC_URL: "https://\${DOMAIN}"}
    networks: {front: {aliases: [shop]}, back: {}}
    secrets: [db_password]
    volumes:
      - uploads:/srv/uploads
      - {type: bind, source: /etc/localtime, target: /etc/localtime, read_only: true}
      - {type: tmpfs, target: /tmp, tmpfs: {size: 67108864}}
    user: "1000:1000"
    working_dir: /srv
    hostname: "{{.Service.Name}}-{{.Task.Slot}}"
    stop_grace_period: 1m30s
    stop_signal: SIGTERM
    init: true
    read_only: true
    cap_drop: [ALL]
    cap_add: [NET_BIND_SERVICE]
    ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}
    sysctls: {net.core.somaxconn: 1024}
    extra_hosts: ["metrics.internal:10.0.0.5"]
    dns: [10.0.0.2]
    dns_search: [internal]
    deploy:
      replicas: 3
      endpoint_mode: vip
      labels: {com.example.tier: app}
      resources: {limits: {cpus: "1.5", memory: 512M}, reservations: {cpus: "0.25", memory: 128M}}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 2m}
      update_config: {parallelism: 2, delay: 10s, order: start-first}
      rollback_config: {parallelism: 0, order: stop-first}
      placement: {preferences: [{spread: node.labels.zone}], max_replicas_per_node: 2}
  db:
    image: \${DB_IMAGE}
    environment: [POSTGRES_PASSWORD_FILE=/run/secrets/db_password]
    secrets: [{source: db_password, uid: "999", gid: "999", mode: 0400}]
    volumes: ["dbdata:/var/lib/postgresql/data"]
    networks: [back]
    deploy: {endpoint_mode: dnsrr, placement: {constraints: ["node.labels.db == true"]}}
    healthcheck: {test: pg_isready -U postgres, interval: 10s}
  agent:
    image: portainer/agent:2.21.0
    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]
    networks: [back]
    deploy: {mode: global, placement: {constraints: [node.platform.os == linux]}}
    labels: [com.example.role=agent]
networks:
  front: {driver: overlay, attachable: true}
  back: {driver: overlay, internal: true, driver_opts: {encrypted: "true"}, ipam: {config: [{subnet: 10.10.0.0/24}]}}
volumes:
  uploads: {}
  dbdata: {driver: local, labels: {com.example.backup: nightly}}
secrets: {db_password: {file: ./db_password.txt}}
configs: {nginx_conf: {file: ./nginx.conf}}
`;
