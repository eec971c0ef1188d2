// Client certificates for the Docker endpoint (SPEC S13): any signed-in user has
// a CSR signed for themselves and uses the certificate as a `docker context`;
// they list and revoke their own, admins anyone's. The private key never comes here.
import net from 'node:net';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { FlotillaError, Forbidden, NotFound } from '../../errors.ts';
import { roleAllows } from '../../auth/permissions.ts';
import { loadOrCreateCa, type ClusterCa } from '../../cluster/ca.ts';
import { normalizeSerial } from '../../cluster/pki/certs.ts';
import { signUserCsr } from '../../cluster/user-certs.ts';
import type { UserCertView } from '../../store/user-certs-repo.ts';
import type { User } from '../../store/users-repo.ts';
import type { AppContext } from '../context.ts';

/** FLOTILLA_DOCKER_ENDPOINT=false: a certificate for it would be of no use. */
class DockerEndpointDisabled extends FlotillaError {
  override readonly statusCode = 503;
  override readonly code = 'docker_endpoint_disabled';
  constructor() {
    super('the Docker endpoint is disabled (FLOTILLA_DOCKER_ENDPOINT=false): there is nothing to use a client certificate with');
  }
}

export const clientCertSchema = z.object({
  serial: z.string(), name: z.string(), userId: z.string(), username: z.string(),
  notAfter: z.string(), createdAt: z.string(), revokedAt: z.string().nullable(),
});
export type ClientCert = z.infer<typeof clientCertSchema>;

export const createdClientCertSchema = z.object({
  certPem: z.string(), caPem: z.string(), serial: z.string(), notAfter: z.string(),
  dockerEndpoint: z.object({ host: z.string(), port: z.number() }),
});
export type CreatedClientCert = z.infer<typeof createdClientCertSchema>;

const newClientCertSchema = z.object({
  csrPem: z.string().min(1).max(16_384),
  name: z.string().min(1).max(100).regex(/^[^\p{Cc}]+$/u, 'no control characters'),
});

const serialParam = z.object({ serial: z.string().regex(/^[0-9a-fA-F]{1,64}$/, 'a certificate serial in hex') });

/** Where the docker CLI should dial: the first advertised address, else the name this request came in on. */
export function dockerEndpointHost(advertise: string | undefined, requestHostname: string): string {
  const first = (advertise ?? '').split(',').map((e) => e.trim()).find((e) => e !== '');
  const host = (first ?? requestHostname) || 'localhost';
  const bare = host.replace(/^\[|\]$/g, '');
  return net.isIPv6(bare) ? bare : host;
}

function toClientCert(row: UserCertView): ClientCert {
  return {
    serial: row.serial, name: row.name, userId: row.user_id, username: row.username,
    notAfter: row.not_after, createdAt: row.created_at, revokedAt: row.revoked_at,
  };
}

const isAdmin = (user: User): boolean => roleAllows(user.role, 'users.manage');

export const clientCertRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  // The CA the Docker endpoint trusts: the cluster's, or the same files when the agent endpoint is off.
  let caPromise: Promise<ClusterCa> | undefined;
  const clusterCa = (): Promise<ClusterCa> => {
    if (ctx.cluster) return Promise.resolve(ctx.cluster.ca);
    // Loaded once; a failure (unreadable key file) is reported and retried on the next request.
    return (caPromise ??= loadOrCreateCa(ctx.config.cluster.dir).catch((err: unknown) => {
      caPromise = undefined;
      throw err;
    }));
  };

  app.post('/client-certs', {
    config: { access: 'authenticated', audit: 'client_cert.create' },
    schema: {
      tags: ['client-certs'], summary: 'Sign my CSR (ECDSA P-256): a client certificate for the Docker endpoint, valid one year',
      body: newClientCertSchema, response: { 201: createdClientCertSchema },
    },
  }, async (req, reply) => {
    if (ctx.dockerPort === undefined) throw new DockerEndpointDisabled();
    const user = req.user!;
    const ca = await clusterCa();
    const issued = await signUserCsr(ca, req.body.csrPem, user);
    await ctx.store.userCerts.add({ serial: issued.serial, user_id: user.id, name: req.body.name, not_after: issued.notAfter.toISOString() });
    req.auditDetail = `serial=${issued.serial} name=${req.body.name}`;
    return reply.status(201).send({
      certPem: issued.certPem, caPem: ca.certPem, serial: issued.serial, notAfter: issued.notAfter.toISOString(),
      dockerEndpoint: { host: dockerEndpointHost(ctx.config.cluster.advertise, req.hostname), port: ctx.dockerPort },
    });
  });

  app.get('/client-certs', {
    config: { access: 'authenticated' },
    schema: {
      tags: ['client-certs'], summary: 'List my client certificates (admins: everyone\'s with ?all=1)',
      querystring: z.object({ all: z.enum(['0', '1', 'true', 'false']).optional() }),
      response: { 200: z.array(clientCertSchema) },
    },
  }, async (req) => {
    const all = req.query.all === '1' || req.query.all === 'true';
    if (all && !isAdmin(req.user!)) throw new Forbidden('only an admin may list everyone\'s client certificates');
    return (await ctx.store.userCerts.list(all ? undefined : req.user!.id)).map(toClientCert);
  });

  app.delete('/client-certs/:serial', {
    config: { access: 'authenticated', audit: 'client_cert.revoke' },
    schema: {
      tags: ['client-certs'], summary: 'Revoke a client certificate (mine; admins: anyone\'s): the Docker endpoint refuses it from now on',
      params: serialParam, response: { 204: z.null() },
    },
  }, async (req, reply) => {
    const me = req.user!;
    const serial = normalizeSerial(req.params.serial);
    const row = await ctx.store.userCerts.find(serial);
    // Someone else's certificate is "not found" to a non-admin: serials are not a directory of users.
    if (!row || (row.user_id !== me.id && !isAdmin(me))) throw new NotFound(`client certificate ${serial} not found`);
    req.auditDetail = `serial=${serial} name=${row.name} user=${row.username}`;
    if (!row.revoked_at) {
      await ctx.store.revocations.add({ serial, host_id: null, host_name: null, reason: `client certificate "${row.name}" of ${row.username}, revoked by ${me.username}` });
    }
    return reply.status(204).send(null);
  });
};
