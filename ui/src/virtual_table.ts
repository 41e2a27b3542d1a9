// A table that draws only the rows in view (fixed row height), so 10,000
// rows or 1,000,000 scroll as smoothly as 50. Rows are appended as pages
// arrive; onNearEnd asks for the next page before the user reaches the end.
import { h } from './dom';

export interface Column<T> {
  id: string;
  label: string;
  width: number; // px
  title?: string; // header tooltip
  sortable: boolean;
  cell(row: T): Node | string;
}

export type SortDirection = 'ASC' | 'DESC';

export interface VirtualTableOptions<T> {
  rowHeight: number;
  onSort(column: Column<T>): void;
  onNearEnd(): void;
  rowClass?(row: T): string;
}

const OVERSCAN = 8; // rows drawn above and below the view

export class VirtualTable<T> {
  readonly el: HTMLElement;
  private readonly header: HTMLElement;
  private readonly body: HTMLElement;
  private columns: Column<T>[] = [];
  private rows: T[] = [];
  private sort: { id: string; dir: SortDirection } | null = null;
  private drawnFirst = -1;
  private drawnLast = -1;
  private frame = 0;

  constructor(private readonly options: VirtualTableOptions<T>) {
    this.header = h('div', { class: 'vt-header', role: 'row' });
    this.body = h('div', { class: 'vt-body', role: 'rowgroup' });
    this.el = h('div', { class: 'vt', role: 'table', tabindex: 0 }, this.header, this.body);
    this.el.addEventListener('scroll', () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(this.el);
  }

  setColumns(columns: Column<T>[]): void {
    this.columns = columns;
    this.drawHeader();
    this.redraw();
  }

  setSort(sort: { id: string; dir: SortDirection } | null): void {
    this.sort = sort;
    this.drawHeader();
  }

  setRows(rows: T[]): void {
    this.rows = rows;
    this.el.scrollTop = 0;
    this.redraw();
  }

  appendRows(rows: T[]): void {
    this.rows.push(...rows);
    this.redraw();
  }

  get rowCount(): number {
    return this.rows.length;
  }

  // Draws every visible row again (after a change to the rows' data).
  redraw(): void {
    this.drawnFirst = this.drawnLast = -1;
    this.schedule();
  }

  private gridTemplate(): string {
    return this.columns.map((c) => `${c.width}px`).join(' ');
  }

  private drawHeader(): void {
    const template = this.gridTemplate();
    const width = this.columns.reduce((s, c) => s + c.width, 0);
    this.header.style.gridTemplateColumns = template;
    this.header.style.width = `${width}px`;
    this.body.style.width = `${width}px`;
    this.header.replaceChildren(
      ...this.columns.map((c) => {
        const sorted = this.sort?.id === c.id ? this.sort.dir : null;
        const cell = h(
          'div',
          {
            class: `vt-th${c.sortable ? ' sortable' : ''}${sorted ? ' sorted' : ''}`,
            role: 'columnheader',
            title: c.title ?? c.label,
            'data-col': c.id,
            'aria-sort': sorted ? (sorted === 'ASC' ? 'ascending' : 'descending') : undefined,
          },
          c.label,
          sorted ? h('span', { class: 'sort-arrow' }, sorted === 'ASC' ? ' ▲' : ' ▼') : null,
        );
        if (c.sortable) cell.addEventListener('click', () => this.options.onSort(c));
        return cell;
      }),
    );
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    const rh = this.options.rowHeight;
    this.body.style.height = `${this.rows.length * rh}px`;
    const viewTop = Math.max(0, this.el.scrollTop - this.header.offsetHeight);
    const first = Math.max(0, Math.floor(viewTop / rh) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((viewTop + this.el.clientHeight) / rh) + OVERSCAN);
    if (first === this.drawnFirst && last === this.drawnLast) return;
    this.drawnFirst = first;
    this.drawnLast = last;
    const template = this.gridTemplate();
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; ++i) {
      const row = this.rows[i];
      const tr = h('div', {
        class: `vt-row${i % 2 ? ' odd' : ''}${this.options.rowClass ? ' ' + this.options.rowClass(row) : ''}`,
        role: 'row',
        'data-index': i,
      });
      tr.style.transform = `translateY(${i * rh}px)`;
      tr.style.gridTemplateColumns = template;
      for (const c of this.columns) {
        const td = h('div', { class: 'vt-td', role: 'cell', 'data-col': c.id });
        const content = c.cell(row);
        if (typeof content === 'string') {
          td.textContent = content;
          td.title = content;
        } else td.append(content);
        tr.append(td);
      }
      fragment.append(tr);
    }
    this.body.replaceChildren(fragment);
    // Ask for more while a screenful of rows is still left below.
    if (this.rows.length > 0 && last + Math.ceil(this.el.clientHeight / rh) * 2 >= this.rows.length) {
      this.options.onNearEnd();
    }
  }
}
