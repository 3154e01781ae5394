export const MAX_SHOWN = 50;
function fold(text) {
return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}
export function matchMeters(meters, query, collator) {
const words = fold(query).split(/\s+/).filter(Boolean);
const phrase = words.join(' ');
const found = [];
for (const meter of meters) {
const name = fold(meter.name);
if (!words.every((word) => name.includes(word) || meter.id.includes(word))) continue;
const starts = name.split(/[^\p{L}\p{N}]+/u);
let rank = 2;
if (name.startsWith(phrase) || meter.id.startsWith(words.join('_'))) rank = 0;
else if (words.every((word) => starts.some((part) => part.startsWith(word)))) rank = 1;
found.push({ meter, rank });
}
found.sort((a, b) => a.rank - b.rank || collator.compare(a.meter.name, b.meter.name)
|| (a.meter.id < b.meter.id ? -1 : 1));
return found.map((f) => f.meter);
}
function node(tag, attrs, text) {
const element = document.createElement(tag);
for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, value);
if (text) element.textContent = text;
return element;
}
export class MeterPicker {
constructor({ locale, onChoose }) {
this.onChoose = onChoose;
this.collator = new Intl.Collator(locale, { numeric: true, sensitivity: 'base' });
this.meters = [];
this.signature = null;
this.chosen = null;
this.shown = []; // the meters listed now, in order
this.active = -1; // index in `shown` of the option the arrow keys are on
this.query = ''; // what the open list was filtered by
this.input = node('input', {
id: 'ps-meter', class: 'ps-select ps-picker-input', type: 'text', role: 'combobox',
'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': 'ps-meter-list',
autocomplete: 'off', spellcheck: 'false', placeholder: 'Search meters',
});
this.list = node('ul', { id: 'ps-meter-list', class: 'ps-picker-list', role: 'listbox', 'aria-label': 'Meters' });
this.status = node('p', { class: 'ps-picker-status', 'aria-live': 'polite' });
this.popup = node('div', { class: 'ps-picker-popup' });
this.popup.hidden = true;
this.popup.append(this.list, this.status);
const box = node('div', { class: 'ps-picker' });
box.append(this.input, this.popup);
this.element = node('div', { class: 'ps-meter' });
this.element.append(node('label', { for: 'ps-meter' }, 'Meter'), box);
this.input.addEventListener('focus', () => this.input.select());
this.input.addEventListener('click', () => this.isOpen || this.open(''));
this.input.addEventListener('input', () => this.open(this.input.value));
this.input.addEventListener('keydown', (event) => this.key(event));
this.input.addEventListener('blur', () => this.close());
this.list.addEventListener('mousedown', (event) => event.preventDefault());
this.list.addEventListener('click', (event) => {
const option = event.target.closest('[role="option"]');
if (option) this.choose(this.shown[Number(option.dataset.index)]);
});
}
get isOpen() {
return !this.popup.hidden;
}
setMeters(meters) {
const signature = JSON.stringify(meters.map((m) => [m.id, m.name]));
if (signature === this.signature) return;
this.signature = signature;
this.meters = meters.map(({ id, name }) => ({ id, name }));
if (this.isOpen) this.open(this.query);
}
setChosen(meter) {
this.chosen = meter;
if (!this.isOpen) this.input.value = meter?.name ?? '';
}
open(query) {
this.query = query;
if (query === '') this.input.select();
const matches = matchMeters(this.meters, query, this.collator);
this.shown = matches.slice(0, MAX_SHOWN);
const current = this.shown.findIndex((m) => m.id === this.chosen?.id);
this.active = query === '' ? current : (this.shown.length > 0 ? 0 : -1);
this.list.replaceChildren(...this.shown.map((meter, index) => {
const option = node('li', {
id: `ps-meter-option-${index}`, role: 'option', class: 'ps-picker-option', 'data-index': String(index),
'data-meter': meter.id, 'aria-selected': 'false',
});
if (meter.id === this.chosen?.id) option.dataset.current = 'true';
option.append(node('span', { class: 'ps-picker-name' }, meter.name), ' ',
node('span', { class: 'ps-picker-id' }, meter.id));
return option;
}));
this.status.textContent = this.describe(matches.length, query);
this.popup.hidden = false;
this.input.setAttribute('aria-expanded', 'true');
this.moveTo(this.active);
}
describe(total, query) {
if (total === 0) return `No meter matches “${query}”.`;
if (total > this.shown.length) {
return `${this.shown.length} of ${total} meters shown; type part of a name to narrow the list.`;
}
return total === 1 ? '1 meter' : `${total} meters`;
}
close() {
if (!this.isOpen) return;
this.popup.hidden = true;
this.input.setAttribute('aria-expanded', 'false');
this.input.removeAttribute('aria-activedescendant');
this.input.value = this.chosen?.name ?? '';
if (this.input.matches(':focus')) this.input.select();
}
moveTo(index) {
this.list.querySelector('[aria-selected="true"]')?.setAttribute('aria-selected', 'false');
this.active = index;
const option = index >= 0 ? this.list.children[index] : null;
if (!option) {
this.input.removeAttribute('aria-activedescendant');
return;
}
option.setAttribute('aria-selected', 'true');
this.input.setAttribute('aria-activedescendant', option.id);
option.scrollIntoView({ block: 'nearest' });
}
key(event) {
const count = this.shown.length;
if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
event.preventDefault();
if (!this.isOpen) {
this.open('');
return;
}
if (count === 0) return;
const step = event.key === 'ArrowDown' ? 1 : -1;
const from = this.active < 0 && step < 0 ? count : this.active;
this.moveTo((from + step + count) % count);
} else if (event.key === 'Enter' && this.isOpen) {
event.preventDefault();
if (this.active >= 0) this.choose(this.shown[this.active]);
} else if (event.key === 'Escape' && this.isOpen) {
event.preventDefault();
this.close();
}
}
choose(meter) {
if (!meter) return;
this.chosen = meter;
this.close();
this.onChoose(meter.id);
}
}
