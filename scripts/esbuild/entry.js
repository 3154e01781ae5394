/**
 * The part of Chart.js the dashboard uses (www/js/charts.js): bar and line charts on a category
 * and a linear axis, with the fill under the line, the legend and the tooltip. scripts/vendor-chartjs
 * bundles this with esbuild, which leaves out the controllers, elements, scales and plugins not
 * named here. A chart type or plugin added to charts.js must be registered here too.
 */
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip,
} from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip);

export { Chart };
