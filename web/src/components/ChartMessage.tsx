export interface ChartMessageProps {
  kind: 'loading' | 'empty' | 'error';
  title: string;
  detail?: string;
  action?: { label: string; onClick: () => void };
  compact?: boolean;
}

/** The centred state shown over a chart that has nothing to draw yet. */
export function ChartMessage({ kind, title, detail, action, compact }: ChartMessageProps) {
  return (
    <div className={`chart-message ${kind}${compact ? ' compact' : ''}`} role={kind === 'error' ? 'alert' : 'status'}>
      {kind === 'loading' && <div className="spinner" aria-hidden="true" />}
      {kind === 'empty' && (
        <svg className="message-icon" viewBox="0 0 24 24" aria-hidden="true">
          <path d="M3 17l5-6 4 3 6-8" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      )}
      {kind === 'error' && (
        <svg className="message-icon" viewBox="0 0 24 24" aria-hidden="true">
          <circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" strokeWidth="1.6" />
          <path d="M12 7v6M12 16.5v.5" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
        </svg>
      )}
      <div className="message-title">{title}</div>
      {detail && <div className="message-detail">{detail}</div>}
      {action && (
        <button type="button" className="button" onClick={action.onClick}>
          {action.label}
        </button>
      )}
    </div>
  );
}
