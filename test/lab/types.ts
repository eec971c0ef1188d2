// The lab state file ($LAB_DIR/lab.json). Other test suites code against this
// shape: keep it stable.

export type LabNode = {
  /** node1, node2, ... or the name given to addNode() */
  name: string;
  /** hostname inside the node (= docker info Name = swarm node hostname): `${prefix}-${name}` */
  hostname: string;
  /** address on the lab network, reachable from the root netns */
  ip: string;
  /** network namespace name (/run/netns/<netns>) */
  netns: string;
  /** DOCKER_HOST for the unix socket, e.g. unix:///tmp/flotilla-lab/node1/docker.sock */
  unix: string;
  /** DOCKER_HOST over TCP (no TLS), e.g. tcp://10.231.0.11:2375 */
  tcp: string;
  /** GET /info ID; distinct per node and stable across engine restarts */
  engineId: string;
  pidfile: string;
};

export type LabState = {
  dir: string;
  prefix: string;
  net: string;
  registry: { lab: string; loopback: string | null };
  images: { busybox1: string; busybox2: string };
  swarm: { managers: string[]; workers: string[] } | null;
  nodes: LabNode[];
};
