/** The overview's activity chart: uPlot, drawn into a div the component owns. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Series {
  label: string;
  values: number[];
  stroke: string;
}

export function ActivityChart({ times, series }: { times: number[]; series: Series[] }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!host.current) return undefined;
    const width = Math.max(280, host.current.clientWidth);
    const plot = new uPlot(
      {
        width,
        height: 240,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2 }))],
        axes: [{}, { label: 'per minute' }],
      },
      [times, ...series.map((s) => s.values)],
      host.current,
    );
    return () => plot.destroy();
  }, [times, series]);
  return <div ref={host} class="chart" role="img" aria-label="messages per minute, last hour" />;
}
