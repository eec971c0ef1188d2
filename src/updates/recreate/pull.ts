// The pull step: progress as step events (one per layer status change, byte
// counts at most every 500 ms), then the pulled image's id and digest.
import type { DockerClient } from '../../docker/client.ts';
import { inspectImage, parseImageReference, pullImage } from '../../docker/images.ts';
import type { ImageInspect, ProgressMessage, RegistryAuth } from '../../docker/images.ts';
import type { StepRecorder } from './steps.ts';

const PROGRESS_EVERY_MS = 500;

export interface PulledImage {
  image: ImageInspect;
  digest: string | undefined;
}

/** The digest under which `image` came from the repository of `reference`. */
export function repoDigest(image: ImageInspect | undefined, reference: string): string | undefined {
  if (image === undefined) return undefined;
  const { repository } = parseImageReference(reference);
  const entry = (image.RepoDigests ?? []).find((d) => d.startsWith(`${repository}@`));
  return entry?.slice(entry.indexOf('@') + 1);
}

function progressOf(message: ProgressMessage): { current?: number; total?: number; status?: string } {
  const detail = message.progressDetail ?? {};
  return { status: message.status, ...(detail.current === undefined ? {} : { current: detail.current }), ...(detail.total === undefined ? {} : { total: detail.total }) };
}

async function drainPull(docker: DockerClient, reference: string, auth: RegistryAuth | undefined, steps: StepRecorder, signal?: AbortSignal): Promise<void> {
  const lastStatus = new Map<string, string>();
  let lastProgressAt = 0;
  for await (const message of pullImage(docker, reference, { auth, signal })) {
    const layer = message.id ?? '';
    const status = message.status ?? '';
    const changed = lastStatus.get(layer) !== status;
    if (!changed && Date.now() - lastProgressAt < PROGRESS_EVERY_MS) continue;
    lastStatus.set(layer, status);
    lastProgressAt = Date.now();
    await steps.emit('pull', layer === '' ? status : `${layer}: ${status}`, progressOf(message));
  }
}

export async function pullForUpdate(
  docker: DockerClient,
  reference: string,
  options: { auth?: RegistryAuth; skipPull?: boolean; signal?: AbortSignal },
  steps: StepRecorder,
): Promise<PulledImage> {
  await steps.emit('pull', options.skipPull === true ? `using the local ${reference} (no pull)` : `pulling ${reference}`);
  if (options.skipPull !== true) await drainPull(docker, reference, options.auth, steps, options.signal);
  const image = await inspectImage(docker, reference, { signal: options.signal });
  return { image, digest: repoDigest(image, reference) };
}
