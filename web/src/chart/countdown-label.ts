import type { ISeriesApi, ISeriesPrimitive, ISeriesPrimitiveAxisView, SeriesAttachedParameter, SeriesType, Time } from 'lightweight-charts';

const NONE: readonly ISeriesPrimitiveAxisView[] = [];

/**
 * The time left in the current bar, as a label on the price scale just under the last price's
 * label (Lightweight Charts moves labels apart when they would overlap). A series primitive: it
 * follows the price series through changes of chart type.
 */
export class CountdownLabel implements ISeriesPrimitive<Time> {
  private text = '';
  private price: number | null = null;
  private color = '#2a3340';
  private series: ISeriesApi<SeriesType> | null = null;
  private requestUpdate: (() => void) | null = null;
  private readonly views: readonly ISeriesPrimitiveAxisView[] = [
    {
      coordinate: () => {
        const y = this.price === null ? null : (this.series?.priceToCoordinate(this.price) ?? null);
        // Just below the last price: the library stacks it under that label.
        return y === null ? -1000 : y + 1;
      },
      text: () => this.text,
      textColor: () => '#ffffff',
      backColor: () => this.color,
      visible: () => this.text !== '' && this.price !== null,
      tickVisible: () => false,
    },
  ];

  attached(param: SeriesAttachedParameter<Time>): void {
    this.series = param.series;
    this.requestUpdate = param.requestUpdate;
  }

  detached(): void {
    this.series = null;
    this.requestUpdate = null;
  }

  priceAxisViews(): readonly ISeriesPrimitiveAxisView[] {
    return this.text !== '' && this.price !== null ? this.views : NONE;
  }

  /** The text (empty: hidden), at the last price, in the last bar's colour. */
  set(text: string, price: number | null, color: string): void {
    if (text === this.text && price === this.price && color === this.color) return;
    this.text = text;
    this.price = price;
    this.color = color;
    this.requestUpdate?.();
  }

  get shown(): string {
    return this.text;
  }
}
