/** Chart.js loader: the vendored build holds only what the charts use (scripts/vendor-chartjs). */

export { Chart } from '../vendor/chart.min.js';
