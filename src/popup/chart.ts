/**
 * The live chart of this session's confidence (what each statement told the bank), with uPlot:
 * small (≈ 50 kB), canvas-based, no dependencies.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ConfidenceChart {
  update(series: { at: number; conf: number }[]): void;
}

const clock = new Intl.DateTimeFormat([], {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

export function confidenceChart(root: HTMLElement, width: number): ConfidenceChart {
  const plot = new uPlot(
    {
      width,
      height: 120,
      legend: { show: false },
      // Room on the right for the last time label.
      padding: [8, 28, 0, 0],
      cursor: { show: false },
      scales: { x: { time: true }, y: { range: [0, 1] } },
      axes: [
        {
          stroke: '#5b6b6b',
          grid: { show: false },
          ticks: { size: 3 },
          size: 22,
          space: 70,
          font: '10px system-ui',
          values: (_u, splits) =>
            splits.map((v) => (v == null ? '' : clock.format(new Date(v * 1000)))),
        },
        {
          stroke: '#5b6b6b',
          size: 46,
          space: 24,
          incrs: [0.25, 0.5],
          font: '10px system-ui',
          values: (_u, splits) => splits.map((v) => (v == null ? '' : `${Math.round(v * 100)} %`)),
          grid: { stroke: '#e3eaea', width: 1 },
        },
      ],
      series: [
        {},
        {
          stroke: '#0d6e6e',
          width: 2,
          fill: 'rgba(13,110,110,0.12)',
          points: { show: true, size: 4 },
        },
      ],
    },
    [[], []],
    root,
  );
  return {
    update(series) {
      plot.setData([series.map((p) => p.at / 1000), series.map((p) => p.conf)]);
    },
  };
}
