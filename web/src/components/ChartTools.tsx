import type { DrawingTool } from '../chart/drawing-layer.js';

export interface ChartToolsProps {
  tool: DrawingTool;
  onTool: (tool: DrawingTool) => void;
  /** A drawing is selected: it can be deleted. */
  selected: boolean;
  onDelete: () => void;
  onScreenshot: () => void;
  fullscreen: boolean;
  onFullscreen: () => void;
  /** The tick chart takes no drawings. */
  drawingDisabled?: boolean;
}

const TOOLS: { tool: DrawingTool; label: string; key: string; icon: string }[] = [
  { tool: 'cursor', label: 'Cursor: select, move, pan', key: 'Esc', icon: 'M4 2l8 6-3.5.8L10.5 13l-1.6.7-2-4.2L4 12z' },
  { tool: 'hline', label: 'Horizontal level', key: 'H', icon: 'M1.5 8h13M6 8a1.5 1.5 0 1 0 0 .01' },
  { tool: 'trend', label: 'Trend line', key: 'L', icon: 'M2.5 13.5l11-11M2.5 13.5a1.3 1.3 0 1 0 0 .01M13.5 2.5a1.3 1.3 0 1 0 0 .01' },
  { tool: 'alert', label: 'Price alert: click a price', key: 'A', icon: 'M8 2a4 4 0 0 0-4 4v3l-1.5 2.5h11L12 9V6a4 4 0 0 0-4-4zM6.5 13.5a1.5 1.5 0 0 0 3 0' },
];

/** The chart's own tools, on its edge: drawing tools, delete, screenshot, fullscreen. */
export function ChartTools({ tool, onTool, selected, onDelete, onScreenshot, fullscreen, onFullscreen, drawingDisabled }: ChartToolsProps) {
  return (
    <div className="chart-tools" role="toolbar" aria-label="Chart tools">
      {TOOLS.map((t) => (
        <button
          key={t.tool}
          type="button"
          className={`chart-tool${tool === t.tool ? ' active' : ''}`}
          aria-pressed={tool === t.tool}
          title={`${t.label} (${t.key})`}
          aria-label={t.label}
          data-tool={t.tool}
          disabled={drawingDisabled && t.tool !== 'cursor'}
          onClick={() => onTool(tool === t.tool && t.tool !== 'cursor' ? 'cursor' : t.tool)}
        >
          <svg viewBox="0 0 16 16" aria-hidden="true">
            <path d={t.icon} fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
        </button>
      ))}
      <span className="chart-tools-sep" />
      <button type="button" className="chart-tool" title="Delete the selected drawing (Del)" aria-label="Delete the selected drawing" data-tool="delete" disabled={!selected} onClick={onDelete}>
        <svg viewBox="0 0 16 16" aria-hidden="true">
          <path d="M3 4.5h10M6.5 4.5V3h3v1.5M4.5 4.5l.7 9h5.6l.7-9" fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      </button>
      <span className="chart-tools-sep" />
      <button type="button" className="chart-tool" title="Save a screenshot of the chart (S)" aria-label="Save a screenshot of the chart" data-tool="screenshot" onClick={onScreenshot}>
        <svg viewBox="0 0 16 16" aria-hidden="true">
          <path d="M2 5h2.5L6 3h4l1.5 2H14v8H2zM8 11.2a2.4 2.4 0 1 0 0-4.8 2.4 2.4 0 0 0 0 4.8z" fill="none" stroke="currentColor" strokeWidth="1.3" strokeLinejoin="round" />
        </svg>
      </button>
      <button
        type="button"
        className={`chart-tool${fullscreen ? ' active' : ''}`}
        title={fullscreen ? 'Leave fullscreen (F)' : 'Chart fullscreen (F)'}
        aria-label={fullscreen ? 'Leave fullscreen' : 'Chart fullscreen'}
        aria-pressed={fullscreen}
        data-tool="fullscreen"
        onClick={onFullscreen}
      >
        <svg viewBox="0 0 16 16" aria-hidden="true">
          <path
            d={fullscreen ? 'M6 2v4H2M10 2v4h4M6 14v-4H2M10 14v-4h4' : 'M2 6V2h4M14 6V2h-4M2 10v4h4M14 10v4h-4'}
            fill="none"
            stroke="currentColor"
            strokeWidth="1.4"
            strokeLinecap="round"
            strokeLinejoin="round"
          />
        </svg>
      </button>
    </div>
  );
}
