// The application shell: navigation, the token prompt, and the router that
// swaps pages as the URL's hash changes.
import './style.css';
import { setTokenPrompt } from './api';
import { comparePage } from './compare_page';
import { h } from './dom';
import type { Page } from './page';
import { currentRoute, href } from './route';
import { runPage } from './run_page';
import { runsPage } from './runs_page';
import { onSelectionChange, selectedRuns } from './selection';
import { studiesPage } from './studies_page';

const app = document.getElementById('app')!;
const main = h('main', { id: 'main' });
const compareLink = h('a', { 'data-nav': 'compare' });
const nav = h(
  'header',
  { class: 'topbar' },
  h('a', { class: 'brand', href: '#/' }, h('img', { src: '/favicon.svg', alt: '', width: 22, height: 22 }), 'wattlab'),
  h('nav', {}, h('a', { href: '#/', 'data-nav': 'runs' }, 'Runs'), compareLink, h('a', { href: '#/studies', 'data-nav': 'studies' }, 'Studies')),
);
app.append(nav, main);

function updateCompareLink(): void {
  const runs = selectedRuns();
  compareLink.textContent = runs.length ? `Compare (${runs.length})` : 'Compare';
  compareLink.setAttribute('href', href(['compare'], { runs: runs.join(',') }));
}
onSelectionChange(updateCompareLink);
updateCompareLink();

// Asks for the server's token in a modal form; resolves with what was typed.
setTokenPrompt(
  (reason) =>
    new Promise((resolve) => {
      const input = h('input', { type: 'password', autocomplete: 'current-password', 'data-testid': 'token-input', required: true, 'aria-label': 'token' });
      const dialog = h(
        'div',
        { class: 'modal-backdrop' },
        h(
          'form',
          { class: 'modal', 'data-testid': 'token-dialog' },
          h('h2', {}, 'Token required'),
          h('p', {}, reason),
          h('p', { class: 'muted' }, 'It is the --token (or WATTLAB_TOKEN) the server was started with. It is kept for this browser tab only.'),
          input,
          h('button', { type: 'submit', class: 'primary' }, 'Use token'),
        ),
      );
      dialog.querySelector('form')!.addEventListener('submit', (e) => {
        e.preventDefault();
        dialog.remove();
        resolve(input.value);
      });
      document.body.append(dialog);
      input.focus();
    }),
);

let page: Page | null = null;

function route(): void {
  const { path, query } = currentRoute();
  page?.dispose();
  const [first, second] = path;
  if (first === 'runs' && second) page = runPage(second);
  else if (first === 'compare') page = comparePage(query);
  else if (first === 'studies') page = studiesPage(second);
  else page = runsPage(query);
  for (const a of nav.querySelectorAll<HTMLElement>('[data-nav]')) {
    const active = a.dataset.nav === (first === 'compare' || first === 'studies' ? first : 'runs');
    a.classList.toggle('active', active);
  }
  main.replaceChildren(page.el);
  window.scrollTo(0, 0);
}

window.addEventListener('hashchange', route);
route();
