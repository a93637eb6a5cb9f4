import type { Alert } from './types.js';

/**
 * How a firing reaches the trader besides the banner: a browser notification where the user
 * allowed them, and a short sound made with WebAudio (no audio file). Browsers only let a page ask
 * for notifications, or start audio, from a user gesture: `prime()` is called from one (the click
 * that makes an alert, any press in the page), and nothing is asked or started otherwise.
 */
export class AlertNotifier {
  private audio: AudioContext | null = null;

  /** From a user gesture: asks for notifications (once) and readies the sound. */
  prime(options: { askPermission?: boolean } = {}): void {
    try {
      if (!this.audio && typeof AudioContext !== 'undefined') this.audio = new AudioContext();
      if (this.audio?.state === 'suspended') void this.audio.resume().catch(() => undefined);
    } catch {
      this.audio = null;
    }
    if (options.askPermission && typeof Notification !== 'undefined' && Notification.permission === 'default') {
      void Notification.requestPermission().catch(() => undefined);
    }
  }

  get permission(): NotificationPermission | 'unsupported' {
    return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
  }

  /** A notification (where allowed) and the sound (where a gesture readied it). */
  notify(alert: Alert, text: string, detail: string): void {
    this.beep();
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    try {
      const n = new Notification(text, { body: detail, tag: `quflx-alert-${alert.id}` });
      n.onclick = () => {
        window.focus();
        n.close();
      };
    } catch {
      /* some browsers only notify from a service worker */
    }
  }

  /** Two short rising tones. */
  beep(): void {
    const ctx = this.audio;
    if (!ctx || ctx.state !== 'running') return;
    const start = ctx.currentTime + 0.01;
    for (const [i, freq] of [880, 1320].entries()) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      const t0 = start + i * 0.16;
      osc.type = 'sine';
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0, t0);
      gain.gain.linearRampToValueAtTime(0.18, t0 + 0.015);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.14);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0);
      osc.stop(t0 + 0.15);
    }
  }

  close(): void {
    void this.audio?.close().catch(() => undefined);
    this.audio = null;
  }
}
