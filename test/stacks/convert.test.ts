// The converter's rules one concern at a time, no engine: each expectation is what
// docker/cli 28's convert package produces for the same Compose input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { parseCpus } from '../../src/stacks/convert/deploy.ts';
import { effectiveCapabilities, extraHosts } from '../../src/stacks/convert/container-spec.ts';
import { convertStack, parseDuration, ramInBytes, splitShellWords } from '../../src/stacks/convert/index.ts';
import { parseShortPort } from '../../src/stacks/convert/ports.ts';
import { ComposeError, type StackPlan } from '../../src/stacks/types.ts';

type Json = Record<string, any>;

function plan(yaml: string, files: Record<string, string> = {}, warnings: string[] = []): StackPlan {
  return convertStack({ project: parse(yaml), warnings, files }, 'st');
}

/** The spec of the plan's only (or named) service, loosely typed for reading. */
function spec(yaml: string, name = 'web'): Json {
  return plan(yaml).services.find((s) => s.composeName === name)!.spec as Json;
}

function container(yaml: string): Json {
  return spec(yaml).TaskTemplate.ContainerSpec;
}

const svc = (body: string) => `services:\n  web:\n    image: nginx:1\n${body.replace(/^/gm, '    ')}\n`;

function throwsAt(fn: () => unknown, path: string, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof ComposeError && err.path === path && err.message.startsWith(`${path}: `) && message.test(err.message));
}

test('durations are read as Go time.ParseDuration reads them', () => {
  assert.equal(parseDuration('10s', 'x'), 10e9);
  assert.equal(parseDuration('1m30s', 'x'), 90e9);
  assert.equal(parseDuration('1.5h', 'x'), 5400e9);
  assert.equal(parseDuration('500ms', 'x'), 5e8);
  assert.equal(parseDuration('2us', 'x'), 2000);
  assert.equal(parseDuration('3µs', 'x'), 3000);
  assert.equal(parseDuration('7ns', 'x'), 7);
  assert.equal(parseDuration('.5s', 'x'), 5e8);
  assert.equal(parseDuration('1h2m3.004s', 'x'), 3723004000000);
  assert.equal(parseDuration('0', 'x'), 0);
  assert.equal(parseDuration('-1s', 'x'), -1e9);
  for (const bad of ['', '10', '1d', 's', '1.2.3s', ' 1s']) throwsAt(() => parseDuration(bad, 'a.b'), 'a.b', /duration/);
});

test('sizes are read as go-units RAMInBytes reads them (binary multiples)', () => {
  assert.equal(ramInBytes('512M', 'x'), 512 * 1024 ** 2);
  assert.equal(ramInBytes('512m', 'x'), 512 * 1024 ** 2);
  assert.equal(ramInBytes('1g', 'x'), 1024 ** 3);
  assert.equal(ramInBytes('1.5GiB', 'x'), 1.5 * 1024 ** 3);
  assert.equal(ramInBytes('64kb', 'x'), 65536);
  assert.equal(ramInBytes('100', 'x'), 100);
  assert.equal(ramInBytes('100b', 'x'), 100);
  assert.equal(ramInBytes('10 MB', 'x'), 10 * 1024 ** 2);
  assert.equal(ramInBytes('0.5k', 'x'), 512);
  for (const bad of ['', 'M', '-1M', '1x', '1MiBs', '1bb']) throwsAt(() => ramInBytes(bad, 'm'), 'm', /invalid size/);
});

test('a string command is split like shlex; a list is taken as is', () => {
  assert.deepEqual(splitShellWords(`sh -c "echo hi; sleep 1"`, 'x'), ['sh', '-c', 'echo hi; sleep 1']);
  assert.deepEqual(splitShellWords(`echo 'a "b" c' d\\ e "x\\"y" ""`, 'x'), ['echo', 'a "b" c', 'd e', 'x"y', '']);
  assert.deepEqual(splitShellWords('  a\tb\nc  ', 'x'), ['a', 'b', 'c']);
  assert.deepEqual(splitShellWords('run # a comment\nnext a#b', 'x'), ['run', 'next', 'a#b']);
  throwsAt(() => splitShellWords('echo "open', 'c'), 'c', /closing quote/);
  const c = container(svc('entrypoint: /bin/tini --\ncommand: ["echo", "$HOME", "a b"]'));
  assert.deepEqual(c.Command, ['/bin/tini', '--']);
  assert.deepEqual(c.Args, ['echo', '$HOME', 'a b']);
});

test('environment is a sorted K=V list, a variable without value stays a bare name', () => {
  const c = container(svc('environment: { ZED: "1", ALPHA: "two words", EMPTY: "", BARE: null, NUM: 3 }'));
  assert.deepEqual(c.Env, ['ALPHA=two words', 'BARE', 'EMPTY=', 'NUM=3', 'ZED=1']);
  assert.deepEqual(container(svc('environment: ["B=2", "A=1=x"]')).Env, ['A=1=x', 'B=2']);
});

test('names are stack-scoped and every object carries the namespace label; the service the image label', () => {
  const p = plan(`
services:
  web:
    image: nginx:1
    labels: { role: front }
    deploy: { labels: { team: core } }
    secrets: [s]
    configs: [c]
    volumes: [data:/data]
volumes: { data: {} }
secrets: { s: { file: s.txt } }
configs: { c: { file: c.txt } }
`, { 's.txt': 'x', 'c.txt': 'y' });
  const web = p.services[0]!;
  assert.equal(web.name, 'st_web');
  assert.equal(web.composeName, 'web');
  const s = web.spec as Json;
  assert.deepEqual(s.Labels, { team: 'core', 'com.docker.stack.namespace': 'st', 'com.docker.stack.image': 'nginx:1' });
  assert.deepEqual(s.TaskTemplate.ContainerSpec.Labels, { role: 'front', 'com.docker.stack.namespace': 'st' });
  assert.deepEqual(p.networks.map((n) => [n.name, n.spec.Labels]), [['st_default', { 'com.docker.stack.namespace': 'st' }]]);
  assert.deepEqual(p.secrets[0]!.spec.Labels, { 'com.docker.stack.namespace': 'st' });
  assert.deepEqual(p.configs[0]!.spec.Labels, { 'com.docker.stack.namespace': 'st' });
  assert.equal(s.TaskTemplate.ContainerSpec.Mounts[0].VolumeOptions.Labels['com.docker.stack.namespace'], 'st');
});

test('short ports expand like nat.ParsePortSpecs and sort by published port; long ports keep engine defaults', () => {
  const w: string[] = [];
  assert.deepEqual(parseShortPort('80', 'p', w), [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 0, PublishMode: 'ingress' }]);
  assert.deepEqual(parseShortPort('8080:80/UDP', 'p', w), [{ Protocol: 'udp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }]);
  assert.deepEqual(parseShortPort('9000-9001:90-91', 'p', w).map((x) => [x.PublishedPort, x.TargetPort]), [[9000, 90], [9001, 91]]);
  assert.deepEqual(parseShortPort('7000-7001:70', 'p', w).map((x) => [x.PublishedPort, x.TargetPort]), [[7000, 70], [7001, 70]]);
  assert.equal(w.length, 0);
  assert.equal(parseShortPort('127.0.0.1:53:53/udp', 'p', w)[0]!.PublishedPort, 53);
  assert.match(w[0]!, /^p: ignoring IP-address 127\.0\.0\.1/);
  throwsAt(() => parseShortPort('80-81:90-92', 'p', []), 'p', /invalid ranges/);
  throwsAt(() => parseShortPort('80/icmp', 'p', []), 'p', /invalid proto/);
  throwsAt(() => parseShortPort('70000', 'p', []), 'p', /invalid containerPort/);
  const ep = spec(svc('ports: ["9090:90", 80, { target: 81, published: 8081, mode: host }, { target: 82 }]\ndeploy: { endpoint_mode: DNSRR }')).EndpointSpec;
  assert.equal(ep.Mode, 'dnsrr');
  assert.deepEqual(ep.Ports, [
    { Protocol: 'tcp', TargetPort: 80, PublishedPort: 0, PublishMode: 'ingress' },
    { TargetPort: 82 },
    { TargetPort: 81, PublishedPort: 8081, PublishMode: 'host' },
    { Protocol: 'tcp', TargetPort: 90, PublishedPort: 9090, PublishMode: 'ingress' },
  ]);
});

test('volumes: named ones are scoped with driver, options and labels; external keep their name; bind and tmpfs', () => {
  const mounts = container(`
services:
  web:
    image: nginx:1
    volumes:
      - data:/data:ro,nocopy
      - shared:/shared
      - /var/log:/host-log:rslave
      - /cache
      - { type: tmpfs, target: /tmp, tmpfs: { size: 64m, mode: 0o1777 } }
      - { type: volume, source: named, target: /n, volume: { subpath: sub } }
volumes:
  data: { driver: local, driver_opts: { type: nfs, o: "addr=10.0.0.1" }, labels: { backup: daily } }
  shared: { external: true }
  named: { name: exact-name }
`).Mounts;
  assert.deepEqual(mounts, [
    { Type: 'volume', Target: '/data', Source: 'st_data', ReadOnly: true, VolumeOptions: { NoCopy: true, Labels: { backup: 'daily', 'com.docker.stack.namespace': 'st' }, DriverConfig: { Name: 'local', Options: { type: 'nfs', o: 'addr=10.0.0.1' } } } },
    { Type: 'volume', Target: '/shared', Source: 'shared', VolumeOptions: {} },
    { Type: 'bind', Target: '/host-log', Source: '/var/log', BindOptions: { Propagation: 'rslave' } },
    { Type: 'volume', Target: '/cache' },
    { Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 64 * 1024 ** 2, Mode: 0o1777 } },
    { Type: 'volume', Target: '/n', Source: 'exact-name', VolumeOptions: { Subpath: 'sub', Labels: { 'com.docker.stack.namespace': 'st' } } },
  ]);
  throwsAt(() => container(svc('volumes: [nope:/x]')), 'services.web.volumes[0]', /undefined volume "nope"/);
  throwsAt(() => container(svc('volumes: [./rel:/x]')), 'services.web.volumes[0]', /absolute path/);
  throwsAt(() => container(svc('volumes: [{ type: tmpfs, source: x, target: /t }]')), 'services.web.volumes[0]', /source must be empty/);
});

test('a service naming no network joins <stack>_default; external networks are named, never created', () => {
  const p = plan(`
services:
  web: { image: nginx:1, networks: { front: { aliases: [www] }, outside: {} } }
  job: { image: busybox }
networks:
  front: { driver_opts: { encrypted: "" }, attachable: true, internal: true, labels: [tier=edge], ipam: { config: [{ subnet: 10.9.0.0/24, gateway: 10.9.0.1 }] } }
  outside: { external: true, name: shared-net }
  unused: {}
`);
  assert.deepEqual(p.networks, [
    { name: 'shared-net', external: true, spec: { Name: 'shared-net' } },
    { name: 'st_default', external: false, spec: { Name: 'st_default', Driver: 'overlay', Labels: { 'com.docker.stack.namespace': 'st' } } },
    { name: 'st_front', external: false, spec: { Name: 'st_front', Driver: 'overlay', Labels: { tier: 'edge', 'com.docker.stack.namespace': 'st' }, Options: { encrypted: '' }, Internal: true, Attachable: true, IPAM: { Config: [{ Subnet: '10.9.0.0/24' }] } } },
  ]);
  const nets = (name: string) => (p.services.find((s) => s.composeName === name)!.spec as Json).TaskTemplate.Networks;
  assert.deepEqual(nets('web'), [{ Target: 'shared-net', Aliases: ['web'] }, { Target: 'st_front', Aliases: ['www', 'web'] }]);
  assert.deepEqual(nets('job'), [{ Target: 'st_default', Aliases: ['job'] }]);
  throwsAt(() => plan(svc('networks: [ghost]')), 'services.web.networks', /undefined network "ghost"/);
});

test('secrets and configs: scoped names unless name:, base64 content, references with the CLI defaults', () => {
  const p = plan(`
services:
  web:
    image: nginx:1
    secrets: [{ source: token, target: api-token, uid: "101", mode: 0o400 }, db]
    configs: [{ source: conf, target: /etc/app.conf }, ext]
secrets:
  token: { file: ./token.txt }
  db: { name: prod_db_password, file: ./db.txt, labels: { kind: db } }
configs:
  conf: { file: ./app.conf, template_driver: golang }
  ext: { external: true }
`, { './token.txt': 't0k3n', './db.txt': 'pw', './app.conf': 'a = 1\n' });
  assert.deepEqual(p.secrets.map((s) => [s.name, s.spec.Data, s.spec.Labels]), [
    ['prod_db_password', Buffer.from('pw').toString('base64'), { kind: 'db', 'com.docker.stack.namespace': 'st' }],
    ['st_token', Buffer.from('t0k3n').toString('base64'), { 'com.docker.stack.namespace': 'st' }],
  ]);
  assert.deepEqual(p.configs, [
    { name: 'ext', external: true, spec: { Name: 'ext' } },
    { name: 'st_conf', external: false, spec: { Name: 'st_conf', Labels: { 'com.docker.stack.namespace': 'st' }, Data: Buffer.from('a = 1\n').toString('base64'), Templating: { Name: 'golang' } } },
  ]);
  const c = (p.services[0]!.spec as Json).TaskTemplate.ContainerSpec;
  assert.deepEqual(c.Secrets, [
    { File: { Name: 'db', UID: '0', GID: '0', Mode: 0o444 }, SecretID: '', SecretName: 'prod_db_password' },
    { File: { Name: 'api-token', UID: '101', GID: '0', Mode: 0o400 }, SecretID: '', SecretName: 'st_token' },
  ]);
  assert.deepEqual(c.Configs, [
    { File: { Name: 'ext', UID: '0', GID: '0', Mode: 0o444 }, ConfigID: '', ConfigName: 'ext' },
    { File: { Name: '/etc/app.conf', UID: '0', GID: '0', Mode: 0o444 }, ConfigID: '', ConfigName: 'st_conf' },
  ]);
  throwsAt(() => plan('services: {}\nsecrets: { s: { file: ./missing } }'), 'secrets.s.file', /not provided/);
  throwsAt(() => plan(svc('secrets: [nope]')), 'services.web.secrets[0]', /undefined secret "nope"/);
  throwsAt(() => plan(svc('secrets: [a, { source: b, target: a }]') + 'secrets: { a: { external: true }, b: { external: true } }'), 'services.web.secrets[1]', /duplicate secret target/);
});

test('the deploy section: mode, replicas, resources, restart, update and rollback, placement', () => {
  const s = spec(svc(`deploy:
  replicas: 3
  resources: { limits: { cpus: "1.5", memory: 512M, pids: 100 }, reservations: { cpus: 0.25, memory: 128M, generic_resources: [{ discrete_resource_spec: { kind: gpu, value: 2 } }] } }
  restart_policy: { condition: on-failure, delay: 5s, max_attempts: 3, window: 2m }
  update_config: { delay: 10s, order: start-first, failure_action: rollback, monitor: 30s, max_failure_ratio: 0.2 }
  rollback_config: { parallelism: 0 }
  placement: { constraints: [node.role == worker, node.labels.zone == a], preferences: [{ spread: node.labels.zone }], max_replicas_per_node: 2 }`));
  assert.deepEqual(s.Mode, { Replicated: { Replicas: 3 } });
  assert.deepEqual(s.TaskTemplate.Resources, { Limits: { NanoCPUs: 1.5e9, MemoryBytes: 512 * 1024 ** 2, Pids: 100 }, Reservations: { NanoCPUs: 2.5e8, MemoryBytes: 128 * 1024 ** 2, GenericResources: [{ DiscreteResourceSpec: { Kind: 'gpu', Value: 2 } }] } });
  assert.deepEqual(s.TaskTemplate.RestartPolicy, { Condition: 'on-failure', Delay: 5e9, MaxAttempts: 3, Window: 120e9 });
  assert.deepEqual(s.UpdateConfig, { Parallelism: 1, MaxFailureRatio: 0.2, Delay: 10e9, FailureAction: 'rollback', Monitor: 30e9, Order: 'start-first' });
  assert.deepEqual(s.RollbackConfig, { Parallelism: 0, MaxFailureRatio: 0 });
  assert.deepEqual(s.TaskTemplate.Placement, { Constraints: ['node.role == worker', 'node.labels.zone == a'], Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }], MaxReplicas: 2 });
  // No deploy section: what the CLI always sends, nothing more.
  const bare = spec(svc(''));
  assert.deepEqual([bare.Mode, bare.TaskTemplate.Resources, bare.TaskTemplate.Placement, bare.EndpointSpec, bare.UpdateConfig, bare.TaskTemplate.RestartPolicy], [{ Replicated: {} }, {}, {}, {}, undefined, undefined]);
  assert.deepEqual(spec(svc('deploy: { mode: global }')).Mode, { Global: {} });
  assert.deepEqual(spec(svc('deploy: { mode: replicated-job, replicas: 4 }')).Mode, { ReplicatedJob: { MaxConcurrent: 4, TotalCompletions: 4 } });
  throwsAt(() => spec(svc('deploy: { mode: global, replicas: 2 }')), 'services.web.deploy.replicas', /replicated/);
  throwsAt(() => spec(svc('deploy: { mode: daemon }')), 'services.web.deploy.mode', /unknown mode/);
});

test('cpus are exact decimals like opts.ParseCPUs; restart: is the fallback policy', () => {
  assert.equal(parseCpus('0.000000001', 'x'), 1);
  assert.equal(parseCpus('2', 'x'), 2e9);
  assert.equal(parseCpus(1.25, 'x'), 1.25e9);
  assert.equal(parseCpus('1/4', 'x'), 2.5e8);
  throwsAt(() => parseCpus('0.0000000001', 'c'), 'c', /too precise/);
  throwsAt(() => parseCpus('lots', 'c'), 'c', /rational/);
  assert.deepEqual(spec(svc('restart: always')).TaskTemplate.RestartPolicy, { Condition: 'any' });
  assert.deepEqual(spec(svc('restart: on-failure:4')).TaskTemplate.RestartPolicy, { Condition: 'on-failure', MaxAttempts: 4 });
  assert.equal(spec(svc('restart: "no"')).TaskTemplate.RestartPolicy, undefined);
  const p = plan(svc('restart: always\ndeploy: { restart_policy: { condition: none } }'));
  assert.deepEqual((p.services[0]!.spec as Json).TaskTemplate.RestartPolicy, { Condition: 'none' });
  assert.match(p.warnings.join('\n'), /services\.web\.restart: ignored, deploy\.restart_policy is set/);
});

test('healthcheck: a string runs in a shell, durations in nanoseconds, disable is NONE', () => {
  assert.deepEqual(container(svc('healthcheck: { test: "curl -f http://localhost/", interval: 30s, timeout: 5s, retries: 3, start_period: 1m, start_interval: 2s }')).Healthcheck, {
    Test: ['CMD-SHELL', 'curl -f http://localhost/'], Interval: 30e9, Timeout: 5e9, StartPeriod: 60e9, StartInterval: 2e9, Retries: 3,
  });
  assert.deepEqual(container(svc('healthcheck: { test: [CMD, true] }')).Healthcheck, { Test: ['CMD', 'true'] });
  assert.deepEqual(container(svc('healthcheck: { disable: true }')).Healthcheck, { Test: ['NONE'] });
  throwsAt(() => container(svc('healthcheck: { disable: true, test: [CMD, x] }')), 'services.web.healthcheck', /can't be set/);
  throwsAt(() => container(svc('healthcheck: { interval: 30 }')), 'services.web.healthcheck.interval', /duration/);
});

test('the container settings docker stack deploy copies', () => {
  const c = container(svc(`user: "1000:1000"
working_dir: /app
hostname: web-host
stop_grace_period: 1m
stop_signal: SIGINT
init: false
read_only: true
tty: true
stdin_open: true
isolation: default
oom_score_adj: -100
ulimits: { nproc: 65535, nofile: { soft: 20000, hard: 40000 } }
sysctls: [net.core.somaxconn=1024, net.ipv4.tcp_syncookies=0]
cap_add: [net_admin, SYS_TIME, ALL]
cap_drop: [MKNOD]
extra_hosts: ["somehost:162.242.195.82", "v6host=[::1]"]
dns: [8.8.8.8, 1.1.1.1]
dns_search: example.com`));
  assert.deepEqual(
    { User: c.User, Dir: c.Dir, Hostname: c.Hostname, StopGracePeriod: c.StopGracePeriod, StopSignal: c.StopSignal, Init: c.Init, ReadOnly: c.ReadOnly, TTY: c.TTY, OpenStdin: c.OpenStdin, Isolation: c.Isolation, OomScoreAdj: c.OomScoreAdj },
    { User: '1000:1000', Dir: '/app', Hostname: 'web-host', StopGracePeriod: 60e9, StopSignal: 'SIGINT', Init: false, ReadOnly: true, TTY: true, OpenStdin: true, Isolation: 'default', OomScoreAdj: -100 },
  );
  assert.deepEqual(c.Ulimits, [{ Name: 'nofile', Soft: 20000, Hard: 40000 }, { Name: 'nproc', Soft: 65535, Hard: 65535 }]);
  assert.deepEqual(c.Sysctls, { 'net.core.somaxconn': '1024', 'net.ipv4.tcp_syncookies': '0' });
  assert.deepEqual([c.CapabilityAdd, c.CapabilityDrop], [['ALL'], ['CAP_MKNOD']]);
  assert.deepEqual(c.Hosts, ['162.242.195.82 somehost', '::1 v6host']);
  assert.deepEqual(c.DNSConfig, { Nameservers: ['8.8.8.8', '1.1.1.1'], Search: ['example.com'] });
  assert.deepEqual(c.Privileges, { CredentialSpec: null, SELinuxContext: null });
  assert.deepEqual(extraHosts({ b: '10.0.0.2', a: '10.0.0.1' }, 'x'), ['10.0.0.1 a', '10.0.0.2 b']);
  assert.deepEqual(effectiveCapabilities(['chown', 'CAP_KILL'], ['kill', 'net_raw', 'RESET']), { add: ['CAP_CHOWN', 'CAP_KILL'], drop: ['CAP_NET_RAW'] });
  assert.deepEqual(spec(svc('logging: { driver: syslog, options: { syslog-address: "udp://1.2.3.4:514", tag: 5 } }')).TaskTemplate.LogDriver, { Name: 'syslog', Options: { 'syslog-address': 'udp://1.2.3.4:514', tag: '5' } });
});

test('what Swarm cannot do is a warning (privileged, once even if the loader said it) or refused', () => {
  const p = plan(svc('privileged: true\nshm_size: 64m\nx-custom: 1'));
  assert.deepEqual(p.warnings, ['services.web.privileged: ignored, Swarm services cannot run privileged containers', 'services.web.shm_size: ignored, Swarm services have no such setting']);
  const fromLoader = 'services.web.privileged: ignored by Swarm: no privileged services';
  assert.deepEqual(plan(svc('privileged: true'), {}, [fromLoader]).warnings, [fromLoader]);
  throwsAt(() => plan(svc('mem_limit: 1g')), 'services.web.mem_limit', /deploy\.resources/);
  throwsAt(() => plan('services:\n  web: { command: x }'), 'services.web.image', /no image specified/);
  assert.equal((container(svc('dns_opt: [use-vc]')).DNSConfig), undefined);
});

test('the plan lists services in name order, each object once', () => {
  const p = plan('services:\n  zeta: { image: a }\n  alpha: { image: b }\n  mid: { image: c, networks: [default] }');
  assert.deepEqual(p.services.map((s) => s.name), ['st_alpha', 'st_mid', 'st_zeta']);
  assert.deepEqual(p.networks.map((n) => n.name), ['st_default']);
  assert.equal(p.stack, 'st');
  throwsAt(() => convertStack({ project: parse('services: {}'), warnings: [], files: {} }, 'bad name'), 'stack', /invalid stack name/);
});
