// Validation of what a user may say about a host (REST and CLI share it).
import { z } from 'zod';

export const hostNameSchema = z.string().min(1).max(63)
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'letters, digits and . _ - only, starting with a letter or digit');
export const environmentSchema = z.enum(['staging', 'production', 'development', 'custom']);
export const syncIntervalSchema = z.number().int().min(30, 'at least 30 seconds').max(3600, 'at most 3600 seconds');
const pem = (what: string) => z.string().max(64 * 1024).refine((s) => s.includes('-----BEGIN '), `${what} must be PEM text`);

export const tlsInputSchema = z.object({ ca: pem('tls.ca').optional(), cert: pem('tls.cert').optional(), key: pem('tls.key').optional() })
  .refine((t) => Boolean(t.cert) === Boolean(t.key), 'tls.cert and tls.key go together');

export const newHostSchema = z.object({
  name: hostNameSchema,
  endpoint: z.string().min(1).max(1024),
  tls: tlsInputSchema.optional(),
  environment: environmentSchema.default('production'),
  environmentLabel: z.string().min(1).max(64).optional(),
  syncIntervalSeconds: syncIntervalSchema.default(60),
}).refine((h) => h.environment !== 'custom' || h.environmentLabel, { message: 'environmentLabel is required when environment is "custom"', path: ['environmentLabel'] });

export type NewHost = z.infer<typeof newHostSchema>;

export const hostPatchSchema = z.object({
  environment: environmentSchema.optional(),
  environmentLabel: z.string().min(1).max(64).nullable().optional(),
  syncIntervalSeconds: syncIntervalSchema.optional(),
});
export type HostPatch = z.infer<typeof hostPatchSchema>;
