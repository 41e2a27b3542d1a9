// A run's artifacts: a folder tree opened on demand, each file downloadable
// (through fetch, so the token travels with it).
import { artifactUrl, downloadArtifact, listArtifacts, type ArtifactEntry, type Run } from './api';
import { code, errorBox, fmtBytes, h } from './dom';
import type { Lifetime } from './page';

export function artifactsSection(run: Run, life: Lifetime): HTMLElement {
  const host = h('div', { 'data-testid': 'artifacts' }, h('p', { class: 'muted' }, 'Listing artifacts…'));

  function fileRow(rootUri: string, entry: ArtifactEntry): HTMLElement {
    const url = artifactUrl(rootUri, entry.path);
    const name = entry.path.split('/').pop()!;
    const button = h('button', { type: 'button', class: 'link', disabled: !url, 'data-path': entry.path }, name);
    button.addEventListener('click', async () => {
      try {
        await downloadArtifact(url!, name);
      } catch (e) {
        button.after(errorBox(`Download failed: ${(e as Error).message}`));
      }
    });
    return h('li', { class: 'file' }, button, h('span', { class: 'muted' }, ` ${fmtBytes(entry.sizeBytes)}`));
  }

  async function folder(path: string): Promise<HTMLElement> {
    const listing = await listArtifacts(run.id, path);
    if (!listing) {
      return h('p', { class: 'muted' }, 'This server keeps no artifacts (it was started without an artifact folder).');
    }
    if (listing.entries.length === 0) {
      return path
        ? h('p', { class: 'muted' }, 'empty folder')
        : h(
            'p',
            { class: 'muted' },
            'No artifacts. ',
            listing.rootUri.startsWith('mlflow-artifacts:/')
              ? h('span', {}, 'Log some with ', code('mlflow.log_artifact("model.pt")'), ' against this server, or ', code('wattlab train --artifacts'))
              : h('span', {}, 'This run keeps its artifacts at ', code(listing.rootUri), ', outside this server.'),
          );
    }
    const list = h('ul', { class: 'tree' });
    for (const entry of listing.entries) {
      if (!entry.isDir) {
        list.append(fileRow(listing.rootUri, entry));
        continue;
      }
      const item = h('li', { class: 'dir' });
      const toggle = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false' }, `▸ ${entry.path.split('/').pop()}/`);
      let loaded: HTMLElement | null = null;
      toggle.addEventListener('click', async () => {
        const open = toggle.getAttribute('aria-expanded') !== 'true';
        toggle.setAttribute('aria-expanded', String(open));
        toggle.textContent = `${open ? '▾' : '▸'} ${entry.path.split('/').pop()}/`;
        if (open && !loaded) {
          loaded = await folder(entry.path);
          item.append(loaded);
        }
        if (loaded) loaded.hidden = !open;
      });
      item.append(toggle);
      list.append(item);
    }
    return list;
  }

  folder('').then(
    (tree) => !life.ended && host.replaceChildren(tree),
    (e) => !life.ended && host.replaceChildren(errorBox(`Cannot list artifacts: ${(e as Error).message}`)),
  );
  return host;
}
