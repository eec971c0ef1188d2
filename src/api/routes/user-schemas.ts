// Schemas shared by the user, session and token routes.
import { z } from 'zod';

export const usernameSchema = z.string().min(1).max(64).regex(/^[a-zA-Z0-9._@-]+$/, 'letters, digits and . _ @ - only');
export const passwordSchema = z.string().min(10, 'at least 10 characters').max(1024);
export const roleSchema = z.enum(['admin', 'operator', 'viewer']);

export const userSchema = z.object({
  id: z.string(), username: z.string(), role: roleSchema, created_at: z.string(), updated_at: z.string(),
});

export const tokenInfoSchema = z.object({
  id: z.string(), user_id: z.string(), name: z.string(), prefix: z.string(),
  created_at: z.string(), expires_at: z.string().nullable(), last_used_at: z.string().nullable(),
});
