/** All of Herald's activities; workflows import this module only as a type. */
import { createDeadLetterActivities } from './dead-letter';
import { createDeliveryActivities } from './delivery';
import { createSettingsActivities } from './settings';

export { createDeadLetterActivities, createDeliveryActivities, createSettingsActivities };
export type { DeliverInput, DeliveryReceipt } from './delivery';

export type HeraldActivities = ReturnType<typeof createDeliveryActivities> &
  ReturnType<typeof createDeadLetterActivities> &
  ReturnType<typeof createSettingsActivities>;
