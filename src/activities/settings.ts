/**
 * Hands the worker's delivery settings (config defaults and limits) to the workflow. Run as a local
 * activity: workflows cannot read config, and recording the answer in history keeps replays deterministic
 * even after an operator changes the config.
 */
import type { DeliverySettings } from '../retry/delivery-plan';

export function createSettingsActivities(settings: DeliverySettings) {
  return {
    /** The delivery settings this worker runs with. */
    async getDeliverySettings(): Promise<DeliverySettings> {
      return settings;
    },
  };
}
