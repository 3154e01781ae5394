/**
 * Chart room: Chart.js configurations for the main chart and the averages chart, coloured from
 * the page's CSS, and their drawing. Chart.js is loaded when a chart first needs it: a chart of
 * bars waits for nothing, sketch.js draws it by hand at once and Chart.js draws over it when it
 * is in. Other charts wait for Chart.js; a page whose first view needs it starts loading it early
 * (loadChartJs) and runs it once while that view's file is on its way (warmUp).
 */

import { CHART_FONT, CHART_FONT_SIZE, sketch } from './sketch.js';
import {
  bucketNames, formatBucket, formatEnergy, formatPower, formatWeekday, localClock, localClocks,
} from './format.js';
import { NOMINAL_SECONDS } from './data.js';

// Pixels kept clear between two labels of the x axis.
const X_LABEL_PADDING = 12;

/** "rgb(r, g, b)" → "rgba(r, g, b, alpha)"; Chart.js and canvas want plain colours. */
function withAlpha(rgb, alpha) {
  const channels = rgb.match(/[\d.]+/g) ?? ['0', '0', '0'];
  return `rgba(${channels.slice(0, 3).join(', ')}, ${alpha})`;
}

/** The theme's colours as the CSS resolved them (HA's theme inside HA, the system's elsewhere). */
export function themeColors(element) {
  // A probe resolves var() chains and any CSS colour syntax to rgb() the canvas understands.
  const probe = document.createElement('span');
  probe.hidden = true;
  element.append(probe);
  const read = (name) => {
    probe.style.color = `var(${name})`;
    return getComputedStyle(probe).color;
  };
  const colors = {
    text: read('--ps-fg'),
    muted: read('--ps-muted'),
    grid: read('--ps-line'),
    accent: read('--ps-accent'),
    compare: read('--ps-compare'),
  };
  probe.remove();
  colors.accentFill = withAlpha(colors.accent, 0.18);
  // The other periods' bars: lighter than the current one's, still 3:1 against the card in both
  // schemes (WCAG's minimum for a graphic that carries data).
  colors.faint = withAlpha(colors.muted, 0.7);
  return colors;
}

function baseOptions(colors) {
  return {
    // No animation, pre-sorted data and a sample of labels to size ticks: a year of bars draws at once.
    animation: false,
    normalized: true,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: 'index', intersect: false },
    font: { family: CHART_FONT },
    plugins: {
      legend: {
        display: false,
        // The current period first, whatever order the datasets are drawn in.
        labels: { color: colors.text, font: { family: CHART_FONT }, boxHeight: 2, sort: (a, b) => a.datasetIndex - b.datasetIndex },
      },
      tooltip: { titleFont: { family: CHART_FONT }, bodyFont: { family: CHART_FONT } },
    },
  };
}

/** An axis in the page's colours; `grid` and `ticks` add to the common ones. */
function axis(colors, { grid, ticks, ...extra }) {
  return {
    grid: { color: colors.grid, ...grid },
    border: { color: colors.grid },
    ticks: { color: colors.muted, font: { family: CHART_FONT }, ...ticks },
    ...extra,
  };
}

/**
 * Point radii for a line with gaps: a value between two gaps has no line to draw, so it gets a
 * dot of its own instead of vanishing.
 */
export function isolatedPointRadii(data, radius = 2.5) {
  return data.map((value, i) => (value !== null && (data[i - 1] ?? null) === null
    && (data[i + 1] ?? null) === null ? radius : 0));
}

/**
 * Steps between the x axis's labels, finest first: each step's length in seconds, and the local
 * clocks it labels (every half hour, whole hours, the starts of days, odd dates, Mondays, the
 * first of every month or every few months).
 */
const TICK_STEPS = [
  ...[30, 60, 120, 180, 360, 720].map((minutes) => [minutes * 60, (c) => c.minute % minutes === 0]),
  [86400, (c) => c.dayStart],
  [2 * 86400, (c) => c.dayStart && c.date % 2 === 1],
  [7 * 86400, (c) => c.dayStart && c.weekday === 1],
  ...[1, 2, 3, 6, 12].map((months) => [
    months * 28 * 86400, (c) => c.dayStart && c.date === 1 && c.month % months === 0,
  ]),
];

/**
 * A local clock (format.js, localClock) with its date, month (0-11) and weekday (0 = Sunday), and
 * whether its bucket starts the local day: at midnight, or where the clocks skip midnight
 * (Santiago, Cairo) at the day's first minute. `before` is the clock of the bucket before.
 */
function calendarClock({ day, minute }, before) {
  const date = new Date(day * 86400000);
  return {
    day, minute, dayStart: before.day !== day,
    date: date.getUTCDate(), month: date.getUTCMonth(), weekday: date.getUTCDay(),
  };
}

/**
 * An x axis labelled on round local times (whole hours, midnights, Mondays, the first of the
 * month) at the finest step whose labels fit: Chart.js alone labels every n-th bucket wherever
 * that falls (01:50, 03:40, …). Rows that never start on a round time keep Chart.js's choice.
 */
function roundTimeTicks(rows, col, labels, { bucket, timeZone, locale, padding }) {
  const starts = rows.map((row) => row[col.start]);
  let clocks = null;
  let days = false;
  // Hours labelled only at midnights name the days, not "Mon 00:00" seven times.
  const label = (i) => (days && bucket === 'hour' ? formatWeekday(starts[i], timeZone, locale) : labels[i]);

  function afterBuildTicks(scale) {
    if (!clocks) {
      const local = localClocks(starts, timeZone);
      const before = starts.length > 0 ? [localClock(starts[0] - 1, timeZone), ...local] : [];
      clocks = local.map((clock, i) => calendarClock(clock, before[i]));
    }
    // As many labels as Chart.js's own thinning lets stand, so that it has none to remove.
    const room = (width) => Math.floor(scale.width / (width + padding) + (scale.options.offset ? 0 : 1));
    const { ctx } = scale;
    ctx.save();
    ctx.font = `${CHART_FONT_SIZE}px ${CHART_FONT}`;
    let chosen = null;
    for (const [seconds, labelled] of TICK_STEPS) {
      if (seconds < NOMINAL_SECONDS[bucket]) continue;
      const kept = [];
      for (const tick of scale.ticks) {
        if (!labelled(clocks[tick.value])) continue;
        // A label comes at least three quarters of a step after the one before it, by the clock
        // or in real time: the hour repeated when the clocks go back (the same clock time, an
        // hour later) is labelled only at steps of an hour or less, and 03:00 after a skipped
        // hour (three hours after 00:00 by the clock, two in real time) at three-hour steps.
        const previous = kept.at(-1);
        if (previous) {
          const clock = clocks[tick.value];
          const before = clocks[previous.value];
          const wall = ((clock.day - before.day) * 1440 + clock.minute - before.minute) * 60;
          if (Math.max(wall, starts[tick.value] - starts[previous.value]) < 0.75 * seconds) continue;
        }
        kept.push(tick);
      }
      if (kept.length === 0) continue;
      chosen = kept;
      days = seconds >= 86400;
      // On the axis labels stand at their buckets: a step putting two of them closer than three
      // quarters of it (03:00 two hours after 00:00 the day the clocks go forward) would crowd
      // them, and a coarser one serves.
      const size = NOMINAL_SECONDS[bucket];
      if (kept.some((tick, k) => k > 0 && (tick.value - kept[k - 1].value) * size < 0.75 * seconds)) continue;
      // Measuring labels is the slow part: no label is narrower than 12 px.
      if (kept.length > room(12)) continue;
      const widest = Math.max(...kept.map((tick) => ctx.measureText(label(tick.value)).width));
      if (kept.length <= room(widest)) break;
    }
    ctx.restore();
    if (chosen) scale.ticks = chosen;
    else days = false;
  }

  return { afterBuildTicks, callback: label };
}

/**
 * The main chart: power as a line for 10-minute and hourly buckets, energy per day as bars.
 * `names` may name the two series in the legend (e.g. Today and Yesterday).
 */
export function mainChartConfig(file, previous, { colors, timeZone, locale, names = {} }) {
  const { rows, col, bucket } = file;
  const daily = bucket === 'day';
  const metric = daily ? 'kwh' : 'mean_w';
  const show = daily ? (v) => formatEnergy(v, locale) : (v) => formatPower(v, locale);
  const labels = rows.map((row) => formatBucket(row[col.start], bucket, timeZone, locale));
  const values = rows.map((row) => row[col[metric]]);
  const current = {
    type: daily ? 'bar' : 'line',
    label: names.current ?? (daily ? 'Energy per day' : 'Mean power'),
    data: values,
    borderColor: colors.accent,
    backgroundColor: daily ? colors.accent : colors.accentFill,
    borderWidth: daily ? 0 : 1.5,
    pointRadius: daily ? 0 : isolatedPointRadii(values),
    pointBackgroundColor: colors.accent,
    fill: !daily,
    spanGaps: false,
    categoryPercentage: 1,
    barPercentage: 0.85,
    order: 2,
  };
  const datasets = [current];
  if (previous) {
    datasets.push({
      type: 'line',
      label: names.previous ?? 'Previous period',
      data: previous,
      borderColor: colors.compare,
      backgroundColor: colors.compare,
      borderDash: [6, 4],
      borderWidth: 1.5,
      pointRadius: isolatedPointRadii(previous),
      fill: false,
      spanGaps: false,
      order: 1,
    });
  }
  const options = baseOptions(colors);
  options.plugins.legend.display = Boolean(previous);
  let titles = null; // the buckets' full names, once a tooltip shows one
  options.plugins.tooltip.callbacks = {
    title: (items) => {
      titles ??= bucketNames(rows.map((row) => row[col.start]), bucket, timeZone, locale);
      return titles[items[0].dataIndex];
    },
    label: (item) => `${item.dataset.label}: ${item.raw === null ? 'no data' : show(item.raw)}`,
  };
  const { afterBuildTicks, callback } = roundTimeTicks(rows, col, labels, {
    bucket, timeZone, locale, padding: X_LABEL_PADDING,
  });
  options.scales = {
    x: axis(colors, {
      // Bars: a labelled day's line runs through its bar, not halfway to the next.
      grid: { offset: false },
      afterBuildTicks,
      ticks: {
        callback, autoSkip: true, maxRotation: 0, autoSkipPadding: X_LABEL_PADDING, sampleSize: 32,
      },
    }),
    y: axis(colors, { beginAtZero: true, ticks: { callback: show, maxTicksLimit: 6 } }),
  };
  return { type: daily ? 'bar' : 'line', data: { labels, datasets }, options };
}

/** The averages chart: energy per day in each published period, the current one highlighted. */
export function averagesChartConfig(averages, currentLevel, { colors, locale }) {
  const options = baseOptions(colors);
  options.indexAxis = 'y';
  options.interaction = { mode: 'nearest', intersect: true };
  options.plugins.tooltip.callbacks = { label: (item) => `${formatEnergy(item.raw, locale)} per day` };
  options.scales = {
    x: axis(colors, { beginAtZero: true, ticks: { callback: (v) => formatEnergy(v, locale), maxTicksLimit: 5 } }),
    y: axis(colors, { grid: { display: false } }),
  };
  return {
    type: 'bar',
    data: {
      labels: averages.map((a) => a.label),
      datasets: [{
        label: 'Energy per day',
        data: averages.map((a) => a.kwhPerDay),
        backgroundColor: averages.map((a) => (a.level === currentLevel ? colors.accent : colors.faint)),
        borderWidth: 0,
        barPercentage: 0.7,
      }],
    },
    options,
  };
}

// Chart.js's module on its way, Chart.js once it is in, and per canvas the configuration it is
// to draw there when it is in.
let library = null;
let Chart = null;
const wished = new WeakMap();

/** Chart.js, loading from the first call on. */
export function loadChartJs() {
  library ??= import('../vendor/chart.min.js').then((module) => {
    Chart = module.Chart;
    return Chart;
  }, (error) => {
    // The next draw tries again (a dropped connection).
    library = null;
    throw error;
  });
  return library;
}

/**
 * Draw `config` on `canvas`, replacing what was drawn there before. `shown` settles once a chart
 * is on screen (sketched or drawn), `live` once Chart.js has drawn it; both reject when Chart.js
 * could not be loaded (`shown` not once a sketch is up) and `live` when another draw replaced it.
 */
export function drawChart(canvas, config) {
  if (Chart) {
    // A takeover still pending for this canvas is overtaken by this draw.
    wished.delete(canvas);
    Chart.getChart(canvas)?.destroy();
    // A canvas as Chart.js expects to find it: sized by nothing but its box.
    if (canvas.dataset.drawn === 'sketch') clearCanvas(canvas);
    new Chart(canvas, config);
    canvas.dataset.drawn = 'chart';
    const done = Promise.resolve();
    return { shown: done, live: done };
  }
  wished.set(canvas, config);
  const sketched = sketch(canvas, config);
  if (sketched) canvas.dataset.drawn = 'sketch';
  else clearCanvas(canvas);
  const live = loadChartJs().then(() => {
    if (wished.get(canvas) !== config) throw new DrawReplaced();
    drawChart(canvas, config);
  });
  return { shown: sketched ? Promise.resolve() : live, live };
}

/** A draw that another draw on the same canvas overtook before Chart.js was in. */
export class DrawReplaced extends Error {}

function clearCanvas(canvas) {
  canvas.removeAttribute('width');
  canvas.removeAttribute('height');
  canvas.removeAttribute('style');
  delete canvas.dataset.drawn;
}

export function destroyChart(canvas) {
  wished.delete(canvas);
  Chart?.getChart(canvas)?.destroy();
  delete canvas.dataset.drawn;
}

/**
 * Run Chart.js once on a small chart of the kind `bucket` gets, drawn on a canvas no one sees:
 * most of a page's first chart's cost is Chart.js's code running for the first time (the
 * browser compiling each function it calls). Done while the data is still on its way, that
 * work is off the path to the real chart. Only with Chart.js in.
 */
export function warmUp(bucket, { colors, timeZone, locale }) {
  if (!Chart) return;
  const day = bucket === 'day';
  const rows = [0, 1, 2].map((i) => [i * 86400, day ? 1 + i : 0.1, 100 + i, 50, 200, 1]);
  const file = { rows, bucket, col: { start: 0, kwh: 1, mean_w: 2, min_w: 3, max_w: 4, coverage: 5 } };
  const canvas = document.createElement('canvas');
  canvas.width = 300;
  canvas.height = 150;
  new Chart(canvas, mainChartConfig(file, null, { colors, timeZone, locale })).destroy();
}
