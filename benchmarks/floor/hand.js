/**
 * The least any page drawing the 365-day chart does, without Chart.js: read the manifest and the
 * year's file, build one date formatter in the meter's zone for the labels, and draw the bars on
 * a canvas by hand. Marks the drawn chart as the dashboard does (powerstats:ready:<level>).
 */
const manifest = await (await fetch('manifest.json')).json();
const meter = manifest.meters[0];
const year = await (await fetch(meter.files.yearly.path)).json();
const start = year.columns.indexOf('start');
const kwh = year.columns.indexOf('kwh');
const label = new Intl.DateTimeFormat(undefined, { timeZone: meter.timezone, day: 'numeric', month: 'short' });
const labels = year.rows.map((row) => label.format(new Date(row[start] * 1000)));
const canvas = document.getElementById('chart');
const { width, height } = canvas.getBoundingClientRect();
canvas.width = width * devicePixelRatio;
canvas.height = height * devicePixelRatio;
const ctx = canvas.getContext('2d');
ctx.scale(devicePixelRatio, devicePixelRatio);
const top = Math.max(...year.rows.map((row) => row[kwh] ?? 0)) || 1;
const step = (width - 40) / year.rows.length;
ctx.fillStyle = '#1565c0';
year.rows.forEach((row, i) => {
  const bar = ((row[kwh] ?? 0) / top) * (height - 30);
  ctx.fillRect(40 + i * step, height - 20 - bar, Math.max(1, step - 1), bar);
});
ctx.fillStyle = '#333';
ctx.font = '12px sans-serif';
for (let i = 0; i < labels.length; i += 30) ctx.fillText(labels[i], 40 + i * step, height - 4);
performance.mark('powerstats:ready:yearly');
