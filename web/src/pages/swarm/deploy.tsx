// Deploying a stack: its name, the Compose file (pasted or uploaded), .env
// values, the files the Compose file names (env_file, secrets, configs; each
// uploaded under the path written in the Compose file), prune and image
// resolution, the strategy (rolling, blue-green, canary); then the deploy's live progress and its result.
// `?from=<deployment>` starts from a recorded deployment's file and values.
import { useEffect, useState } from 'preact/hooks';
import { api, path } from '../../api.ts';
import { can } from '../../session.ts';
import { queryParam } from '../../router.ts';
import { ErrorNote, Page } from '../../components/ui.tsx';
import { clusterHref } from './cluster.tsx';
import { DeployProgress, useDeployRun } from './deploy-progress.tsx';
import { INITIAL_STRATEGY, StrategyFields, strategyBody, type StrategyState } from './strategy-fields.tsx';
import { deployUrl, envText, filesNamedIn, parseEnv, stackHref, type DeployBody, type Deployment } from './stack-deploys.ts';

const STACK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const MAX_FILE = 1024 * 1024;

function readText(file: File): Promise<string> {
  if (file.size > MAX_FILE) return Promise.reject(new Error(`${file.name} is over 1 MiB`));
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result ?? ''));
    reader.onerror = () => reject(reader.error ?? new Error(`cannot read ${file.name}`));
    reader.readAsText(file);
  });
}

interface ExtraRow { key: number; path: string }

export function DeployPage({ cluster }: { cluster: string }) {
  const manage = can('swarm.manage');
  const from = queryParam('from');
  const [name, setName] = useState(queryParam('stack') ?? '');
  const [compose, setCompose] = useState('');
  const [env, setEnv] = useState('');
  const [rows, setRows] = useState<ExtraRow[]>([]);
  const [contents, setContents] = useState<Record<string, { file: string; text: string }>>({});
  const [prune, setPrune] = useState(false);
  const [resolveImage, setResolveImage] = useState<DeployBody['resolveImage']>('always');
  const [strategy, setStrategy] = useState<StrategyState>(INITIAL_STRATEGY);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const run = useDeployRun();

  useEffect(() => {
    if (!from) return;
    api<Deployment>('GET', path`/swarm/clusters/${cluster}/deployments/${from}`).then((d) => {
      setName(d.stack);
      setCompose(d.compose ?? '');
      setEnv(envText(d.env));
      setPrune(d.options.prune);
      setResolveImage(d.options.resolveImage as DeployBody['resolveImage']);
      setNote(`Starting from deployment ${d.id.slice(0, 8)} of ${d.stack}: upload the files it names again (their contents are not kept).`);
    }, (err: Error) => setError(err.message));
  }, [cluster, from]);

  const detected = filesNamedIn(compose);
  const manual = rows.filter((r) => !detected.includes(r.path) || !r.path);
  const upload = async (filePath: string, file: File | undefined) => {
    if (!file) return;
    try {
      const text = await readText(file);
      setContents((c) => ({ ...c, [filePath]: { file: file.name, text } }));
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    let values: Record<string, string>;
    try {
      values = parseEnv(env);
    } catch (err) {
      return setError((err as Error).message);
    }
    if (!STACK_NAME.test(name)) return setError('A stack name is 1-63 letters, digits, _ . - starting with a letter or digit.');
    if (!compose.trim()) return setError('Paste or upload the Compose file.');
    const files: Record<string, string> = {};
    for (const p of [...detected, ...manual.map((r) => r.path.trim())]) {
      if (p && contents[p]) files[p] = contents[p].text;
    }
    const chosen = strategyBody(strategy);
    if ('error' in chosen) return setError(chosen.error);
    await run.start(deployUrl(cluster), { name, compose, env: values, files, prune, resolveImage, ...chosen });
  };

  if (!manage) {
    return (
      <Page title="Deploy a stack">
        <p class="crumbs"><a href="/swarm">All clusters</a> › <a href={clusterHref(cluster, 'stacks')}>{cluster} stacks</a></p>
        <p class="empty">Deploying needs the swarm.manage permission (an operator or admin).</p>
      </Page>
    );
  }

  const fileRow = (p: string, editable: ExtraRow | undefined) => {
    const id = editable ? `extra-${editable.key}` : `named-${p}`;
    return (
      <tr key={id} data-path={p}>
        <td>
          {editable
            ? <input aria-label={`path of extra file ${editable.key}`} value={editable.path} placeholder="./path/as/written" spellcheck={false}
                onInput={(ev) => { const v = (ev.target as HTMLInputElement).value; setRows((old) => old.map((r) => (r.key === editable.key ? { ...r, path: v } : r))); }} />
            : <span class="mono">{p}</span>}
        </td>
        <td><input type="file" aria-label={`upload ${p || 'extra file'}`} disabled={!p} onChange={(ev) => void upload(p, (ev.target as HTMLInputElement).files?.[0])} /></td>
        <td>{contents[p] ? <span class="good">{contents[p].file}, {contents[p].text.length} chars</span> : <span class="muted">none yet</span>}</td>
        <td>{editable && <button type="button" aria-label={`remove extra file ${editable.key}`} onClick={() => setRows((old) => old.filter((r) => r.key !== editable.key))}>remove</button>}</td>
      </tr>
    );
  };

  return (
    <Page title="Deploy a stack">
      <p class="crumbs"><a href="/swarm">All clusters</a> › <a href={clusterHref(cluster, 'stacks')}>{cluster} stacks</a></p>
      {note && <p class="swarm-note">{note}</p>}
      <form class="card deploy-form" aria-label="deploy a stack" onSubmit={submit}>
        <label>Stack name<input name="name" required value={name} maxLength={63} autocomplete="off" spellcheck={false}
          onInput={(e) => setName((e.target as HTMLInputElement).value)} /></label>
        <label>Compose file
          <textarea name="compose" rows={16} spellcheck={false} autocomplete="off" value={compose} placeholder={'services:\n  web:\n    image: nginx:1.27'}
            onInput={(e) => setCompose((e.target as HTMLTextAreaElement).value)} />
        </label>
        <label class="upload">or upload it <input type="file" accept=".yml,.yaml,text/yaml,application/yaml,text/plain" onChange={async (e) => {
          const f = (e.target as HTMLInputElement).files?.[0];
          if (f) await readText(f).then(setCompose, (err: Error) => setError(err.message));
        }} /></label>
        <label>Environment (.env): KEY=VALUE lines for ${'{VAR}'} in the file
          <textarea name="env" rows={4} spellcheck={false} autocomplete="off" value={env} placeholder="TAG=1.27" onInput={(e) => setEnv((e.target as HTMLTextAreaElement).value)} />
        </label>
        <label class="upload">or upload a .env file <input type="file" accept=".env,text/plain" onChange={async (e) => {
          const f = (e.target as HTMLInputElement).files?.[0];
          if (f) await readText(f).then(setEnv, (err: Error) => setError(err.message));
        }} /></label>
        <fieldset class="deploy-files">
          <legend>Files the Compose file names (env_file, secrets, configs)</legend>
          <p class="muted">Paths found in the file are listed; add any other by the path written in it.</p>
          <table class="grid" aria-label="files">
            <thead><tr><th>Path</th><th>Upload</th><th>Content</th><th><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {detected.map((p) => fileRow(p, undefined))}
              {manual.map((r) => fileRow(r.path.trim(), r))}
              {!detected.length && !manual.length && <tr><td colSpan={4} class="empty">No file named.</td></tr>}
            </tbody>
          </table>
          <button type="button" onClick={() => setRows((old) => [...old, { key: (old.at(-1)?.key ?? 0) + 1, path: '' }])}>Add a file</button>
        </fieldset>
        <div class="deploy-options">
          <label class="check"><input type="checkbox" name="prune" checked={prune} onChange={(e) => setPrune((e.target as HTMLInputElement).checked)} /> prune: remove the stack's services no longer in the file</label>
          <label class="inline">Resolve images
            <select name="resolveImage" value={resolveImage} onChange={(e) => setResolveImage((e.target as HTMLSelectElement).value as DeployBody['resolveImage'])}>
              <option value="always">always (pin the registry digest)</option>
              <option value="changed">changed (only for new or changed images)</option>
              <option value="never">never (use the tag as written)</option>
            </select>
          </label>
        </div>
        <StrategyFields value={strategy} onChange={setStrategy} />
        <ErrorNote message={error} />
        <button type="submit" class="primary" disabled={run.running}>{run.running ? 'Deploying…' : 'Deploy'}</button>
      </form>
      <DeployProgress run={run} label={`Deploy of ${name || 'the stack'}`} />
      {run.result && <p><a href={stackHref(cluster, run.result.stack)}>Open the stack {run.result.stack}</a></p>}
    </Page>
  );
}
