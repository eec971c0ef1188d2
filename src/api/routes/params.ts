// Path and query parameters shared by route groups.
import { z } from 'zod';

export const hostParam = z.object({ host: z.string().min(1).max(128) });
/** Docker object references: ids, id prefixes, names, image references. */
export const objectRef = z.string().min(1).max(512);
export const hostObjectParams = hostParam.extend({ id: objectRef });
export const dockerObject = z.record(z.string(), z.unknown());
export const dockerList = z.array(dockerObject);
/** Query-string booleans as Docker clients send them. */
export const boolish = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
