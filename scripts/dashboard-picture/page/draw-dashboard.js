// Runs in the browser page (plain script, after uPlot's): window.drawDashboard(model) lays the panels out on
// Grafana's grid (24 columns, 30 px a row unit), draws each timeseries panel with uPlot (stacked and filled
// as its fieldConfig says) and each stat panel as
// its last non-null value over a sparkline, and marks every panel with what it drew: data-series (series with
// at least one point) and data-points (points drawn), which the renderer reads back.
(function () {
  const ROW = 30;
  const GAP = 6;
  // Grafana's classic palette.
  const COLORS = [
    '#73BF69',
    '#F2CC0C',
    '#8AB8FF',
    '#FF780A',
    '#F2495C',
    '#5794F2',
    '#B877D9',
    '#705DA0',
    '#37872D',
    '#FADE2A',
    '#CA95E5',
    '#FFB357',
  ];

  function trim(number, digits) {
    return String(Number(number.toFixed(digits)));
  }

  /** A value in the panel's unit, as Grafana would print it (the units Herald's dashboard uses). */
  function formatUnit(unit, value) {
    if (value === null || value === undefined || !Number.isFinite(value)) return '–';
    const abs = Math.abs(value);
    switch (unit) {
      case 'reqps':
        return `${trim(value, abs < 1 ? 3 : abs < 10 ? 2 : 1)} req/s`;
      case 'percentunit':
        return `${trim(value * 100, 1)}%`;
      case 's':
        if (abs === 0) return '0 s';
        if (abs < 1e-3) return `${trim(value * 1e6, 0)} µs`;
        if (abs < 1) return `${trim(value * 1e3, abs < 0.01 ? 2 : 1)} ms`;
        if (abs < 60) return `${trim(value, 2)} s`;
        return `${trim(value / 60, 1)} min`;
      default:
        if (abs >= 1e6) return `${trim(value / 1e6, 2)} M`;
        if (abs >= 1e3) return `${trim(value / 1e3, 2)} K`;
        return trim(value, abs < 10 ? 2 : 1);
    }
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function pointsOf(values) {
    return values.filter((value) => value !== null).length;
  }

  function legend(series) {
    const list = element('div', 'legend');
    series.forEach((s, i) => {
      const item = element('span', 'legend-item');
      const swatch = element('span', 'swatch');
      swatch.style.background = COLORS[i % COLORS.length];
      item.append(swatch, element('span', '', s.name));
      list.append(item);
    });
    return list;
  }

  /** Two hex digits of alpha for a 0–100 opacity. */
  function alpha(opacity) {
    return Math.round((opacity / 100) * 255)
      .toString(16)
      .padStart(2, '0');
  }

  /**
   * Stacked values as Grafana's `normal` stacking draws them: each series on top of the ones before it, a
   * missing value counting as 0 below others but staying missing in its own line.
   */
  function stack(series) {
    const totals = [];
    return series.map((values) =>
      values.map((value, i) => {
        if (value === null) return null;
        totals[i] = (totals[i] ?? 0) + value;
        return totals[i];
      }),
    );
  }

  function drawTimeseries(body, data, x, width, height) {
    const panel = data.panel;
    const legendNode = legend(data.series);
    body.append(legendNode);
    const chartHeight = Math.max(60, height - legendNode.offsetHeight - 4);
    const values = data.series.map((s) => s.values);
    const shown = panel.stacked ? stack(values) : values;
    const fill = panel.fillOpacity > 0 ? alpha(panel.fillOpacity) : null;
    const opts = {
      width,
      height: chartHeight,
      legend: { show: false },
      cursor: { show: false },
      scales: {
        x: { time: true },
        y: { range: (_u, min, max) => [Math.min(0, min), max > min ? max * 1.1 : min + 1] },
      },
      axes: [
        {
          stroke: '#8e8e8e',
          grid: { stroke: '#2c3235', width: 1 },
          ticks: { stroke: '#2c3235' },
          font: '11px sans-serif',
        },
        {
          stroke: '#8e8e8e',
          grid: { stroke: '#2c3235', width: 1 },
          ticks: { stroke: '#2c3235' },
          font: '11px sans-serif',
          size: 70,
          values: (_u, splits) => splits.map((v) => formatUnit(panel.unit, v)),
        },
      ],
      // A stacked series fills down to the one below it (uPlot's bands), the first one to the axis.
      bands: panel.stacked && fill ? data.series.slice(1).map((_s, i) => ({ series: [i + 2, i + 1] })) : [],
      series: [
        {},
        ...data.series.map((s, i) => ({
          label: s.name,
          stroke: COLORS[i % COLORS.length],
          fill: fill ? `${COLORS[i % COLORS.length]}${fill}` : undefined,
          width: 1.5,
          spanGaps: false,
          points: { show: pointsOf(s.values) < 3 },
        })),
      ],
    };
    const chart = element('div', 'chart');
    body.prepend(chart);
    const plot = new uPlot(opts, [x, ...shown], chart);
    // What uPlot holds to draw, not what was passed in.
    const drawn = plot.data.slice(1).map(pointsOf);
    return { series: drawn.filter((n) => n > 0).length, points: drawn.reduce((a, b) => a + b, 0) };
  }

  function drawStat(body, data, x, width, height) {
    const first = data.series[0];
    if (!first) return { series: 0, points: 0 };
    const last = [...first.values].reverse().find((value) => value !== null);
    const value = element('div', 'stat-value', formatUnit(data.panel.unit, last ?? null));
    value.style.color = COLORS[0];
    body.append(value, element('div', 'stat-name', first.name));
    const spark = element('div', 'spark');
    body.append(spark);
    const plot = new uPlot(
      {
        width,
        height: Math.max(40, Math.floor(height * 0.35)),
        legend: { show: false },
        cursor: { show: false },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > min ? max : min + 1] } },
        series: [{}, { stroke: COLORS[0], fill: `${COLORS[0]}33`, width: 1.5 }],
      },
      [x, first.values],
      spark,
    );
    const points = pointsOf(plot.data[1]);
    return { series: last === undefined ? 0 : 1, points };
  }

  window.drawDashboard = function drawDashboard(model) {
    const root = document.getElementById('dashboard');
    const header = element('header');
    header.append(element('h1', '', model.title), element('p', '', model.subtitle));
    root.append(header);
    const grid = element('div', 'grid');
    root.append(grid);
    const column = (model.width - GAP) / 24;
    let rows = 0;
    for (const data of model.panels) {
      const { x, y, w, h } = data.panel.gridPos;
      rows = Math.max(rows, y + h);
      const node = element('section', `panel panel-${data.panel.type}`);
      Object.assign(node.style, {
        left: `${x * column + GAP}px`,
        top: `${y * ROW + GAP}px`,
        width: `${w * column - GAP}px`,
        height: `${h * ROW - GAP}px`,
      });
      node.dataset.panelId = String(data.panel.id);
      node.dataset.title = data.panel.title;
      node.append(element('h2', '', data.panel.title));
      const body = element('div', 'body');
      node.append(body);
      grid.append(node);
      const innerWidth = Math.floor(w * column - GAP - 16);
      const innerHeight = Math.floor(h * ROW - GAP - 40);
      const draw = data.panel.type === 'stat' ? drawStat : drawTimeseries;
      const drawn = draw(body, data, model.x, innerWidth, innerHeight);
      node.dataset.series = String(drawn.series);
      node.dataset.points = String(drawn.points);
      if (drawn.series === 0) body.append(element('div', 'no-data', 'No data'));
    }
    grid.style.height = `${rows * ROW + GAP}px`;
    return model.panels.length;
  };
})();
