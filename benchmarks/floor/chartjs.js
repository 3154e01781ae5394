/**
 * The 365 days drawn by the dashboard's Chart.js build (www/vendor/) with nothing of the
 * dashboard around it: the same reads and formatter as hand.js (repeated, not imported: a
 * module of their own would add a request to each floor), then one bar chart with the
 * dashboard's axis options. Marks the drawn chart as the dashboard does.
 */
import { Chart } from './vendor/chart.min.js';

const manifest = await (await fetch('manifest.json')).json();
const meter = manifest.meters[0];
const year = await (await fetch(meter.files.yearly.path)).json();
const start = year.columns.indexOf('start');
const kwh = year.columns.indexOf('kwh');
const label = new Intl.DateTimeFormat(undefined, { timeZone: meter.timezone, day: 'numeric', month: 'short' });
const energy = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
new Chart(document.getElementById('chart'), {
  type: 'bar',
  data: {
    labels: year.rows.map((row) => label.format(new Date(row[start] * 1000))),
    datasets: [{
      data: year.rows.map((row) => row[kwh]),
      backgroundColor: '#1565c0',
      borderWidth: 0,
      categoryPercentage: 1,
      barPercentage: 0.85,
    }],
  },
  options: {
    animation: false,
    maintainAspectRatio: false,
    plugins: { legend: { display: false } },
    scales: {
      x: { ticks: { autoSkip: true, maxRotation: 0, autoSkipPadding: 12, sampleSize: 32 } },
      y: { beginAtZero: true, ticks: { callback: (v) => `${energy.format(v)} kWh`, maxTicksLimit: 6 } },
    },
  },
});
performance.mark('powerstats:ready:yearly');
